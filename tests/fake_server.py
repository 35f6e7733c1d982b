"""What the fake Telegram and Zalo Bot API servers share: an aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from aiohttp import web


class FakeBotServer:
    """Start/stop of a fake Bot API server; subclasses add their routes and wake their waiters."""

    MAX_BODY = 32 * 1024 * 1024

    host: str
    port: int
    url: str
    _closing: bool
    _runner: web.AppRunner | None
    _session: aiohttp.ClientSession | None
    _webhook_task: asyncio.Task | None

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _reset_events(self) -> None:
        """Fresh asyncio events, made in the running loop."""

    def _wake_waiters(self) -> None:
        """Release every long poll and wait so that stop() is prompt."""

    async def start(self):
        self._reset_events()
        self._closing = False
        app = web.Application(client_max_size=self.MAX_BODY)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        self._closing = True
        self._wake_waiters()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()
