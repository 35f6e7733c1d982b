"""Run the channels: Telegram by long polling, or one aiohttp web server for webhooks."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import signal
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text
from telegram import Update

from bot.channels.telegram import build_application, register_commands

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop


async def run_channels(app: "App", stop: asyncio.Event | None = None) -> None:
    """Start every configured channel and run until ``stop`` is set (or SIGINT/SIGTERM)."""
    stop = stop or _stop_event()
    settings = app.settings
    if settings.webhook_url:
        await _run_webhook(app, stop)
        return
    application = build_application(app)
    async with application:
        await register_commands(application)
        await application.start()
        await application.updater.start_polling(allowed_updates=["message", "callback_query"])
        log.info("Telegram bot @%s is polling", application.bot.username)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


def make_web_app(app: "App", application, secret: str) -> web.Application:
    """The aiohttp app: Telegram webhook, health check."""

    async def telegram_webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Telegram webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except ValueError:
            return web.Response(status=400)
        await application.update_queue.put(update)
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        try:
            async with app.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return web.json_response({"ok": False, "database": False}, status=503)
        return web.json_response({"ok": True, "database": True, "telegram": application.running})

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    web_app.router.add_post("/telegram", telegram_webhook)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def _run_webhook(app: "App", stop: asyncio.Event) -> None:
    settings = app.settings
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    application = build_application(app, updater=False)
    runner = web.AppRunner(make_web_app(app, application, secret), access_log=None)
    async with application:
        await register_commands(application)
        await application.bot.set_webhook(url=settings.webhook_url.rstrip("/") + "/telegram",
                                          secret_token=secret, allowed_updates=["message", "callback_query"])
        await application.start()
        await runner.setup()
        site = web.TCPSite(runner, "0.0.0.0", settings.port)
        await site.start()
        log.info("webhook server listening on port %d", settings.port)
        await stop.wait()
        await runner.cleanup()
        await application.stop()
