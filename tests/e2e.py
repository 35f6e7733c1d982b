"""Run the real bot (real PTB Application, real HTTP) against the fake Bot API server."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from bot.app import App
from bot.server import run_channels
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram


@asynccontextmanager
async def running_bot(tmp_path, **settings):
    """Start the fake Telegram server and the bot polling it; yield (fake, app)."""
    async with FakeTelegram() as fake:
        app = App(make_settings(tmp_path, telegram_bot_token=fake.token,
                                telegram_base_url=f"{fake.url}/bot",
                                telegram_base_file_url=f"{fake.url}/file/bot", **settings))
        await app.prepare()
        stop = asyncio.Event()
        task = asyncio.create_task(run_channels(app, stop))
        try:
            await fake.wait_for(lambda call: call.method == "deleteWebhook", timeout=10)
            yield fake, app
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            await app.aclose()
