"""Run the real bot (real PTB Application, real HTTP) against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import App
from bot.server import run_channels
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


async def start_bot_process(tmp_path, telegram: FakeTelegram, **env: str) -> asyncio.subprocess.Process:
    """``python -m bot run`` in a process of its own polling the fake Telegram server (with the
    fake's token unless TELEGRAM_BOT_TOKEN is given), on a SQLite file in tmp_path; ``env`` adds
    or overrides variables. Its stdout and stderr are pipes."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": f"{telegram.url}/bot",
           "TELEGRAM_BASE_FILE_URL": f"{telegram.url}/file/bot", "ZALO_BOT_TOKEN": "", "WEBHOOK_URL": "",
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db", "PYTHONPATH": str(ROOT), **env}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


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
