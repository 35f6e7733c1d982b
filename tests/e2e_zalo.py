"""Run the real bot (real HTTP, bot.server.run_channels) against the fake Zalo Bot API server."""

from __future__ import annotations

import asyncio
import random
import socket
from contextlib import asynccontextmanager

from bot.app import App
from bot.server import run_channels
from tests.conftest import make_settings
from tests.fake_zalo import FakeZalo

_PICKED: set[int] = set()


def free_port() -> int:
    """A port the bot under test can listen on (all addresses, as ``bot.server`` binds), below the
    ephemeral range (Linux: 32768-60999): a port the kernel handed out ("bind to 0") can be taken by
    an outgoing connection before the bot binds it (once: "address already in use"), one picked
    here cannot. Never the same port twice in one test run."""
    for _ in range(1000):
        port = random.randrange(20000, 32000)
        if port in _PICKED:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
        _PICKED.add(port)
        return port
    raise RuntimeError("no free port between 20000 and 32000")


@asynccontextmanager
async def running_zalo_bot(tmp_path, *, fake: FakeZalo | None = None, **settings):
    """Start the fake Zalo server and the bot (polling, or webhook when WEBHOOK_URL is given)."""
    own = fake is None
    fake = fake or FakeZalo(allow_http_webhook=True)
    if own:
        await fake.start()
    app = App(make_settings(tmp_path, zalo_bot_token=fake.token, zalo_base_url=fake.url, **settings))
    await app.prepare()
    stop = asyncio.Event()
    task = asyncio.create_task(run_channels(app, stop))
    try:
        ready = "setWebhook" if settings.get("webhook_url") else "deleteWebhook"
        await fake.wait_for(lambda call: call.method == ready and call.ok, timeout=10)
        if ready == "deleteWebhook":
            await asyncio.sleep(0.05)  # let the first getUpdates start
        yield fake, app
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        finally:
            await app.aclose()
            if own:
                await fake.stop()
