"""Run the channels (Telegram, Zalo) in one process: long polling, or one aiohttp web server for webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import text
from telegram import Update

from bot.channels.telegram import build_application, register_commands
from bot.channels.telegram import deliver as telegram_deliver
from bot.channels.zalo import ZaloChannel
from bot.media import MediaStore
from handlers.messages import Reply

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


async def run_channels(app: App, stop: asyncio.Event | None = None) -> None:
    """Start every channel whose token is set, in one process, until ``stop`` (or SIGINT/SIGTERM).

    With ``WEBHOOK_URL`` one aiohttp server takes the Telegram and Zalo webhooks and serves
    /healthz and the media links; without it, each channel long-polls (and the server runs only
    when ``PUBLIC_BASE_URL`` is set, to serve the media links Zalo needs for charts).
    """
    stop = stop or _stop_event()
    settings = app.settings
    webhook = settings.webhook_url.rstrip("/")
    public_url = webhook or settings.public_base_url.rstrip("/")
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    media = MediaStore()
    application = build_application(app, updater=not webhook) if settings.telegram_bot_token else None
    zalo = ZaloChannel.from_settings(app, media, public_url) if settings.zalo_bot_token else None
    # The outbox sender's channel map: platform -> deliver(chat_id, reply).
    channels: dict[str, Callable[[str, Reply], Awaitable[None]]] = {}
    if application is not None:
        channels["telegram"] = functools.partial(telegram_deliver, application.bot)
    if zalo is not None:
        channels["zalo"] = zalo.deliver
    async with contextlib.AsyncExitStack() as stack:
        if application is not None:
            await stack.enter_async_context(application)
        if webhook or public_url:
            # Up before the webhooks are set: the platforms may call right away.
            web_app = make_web_app(app, application, secret, zalo=zalo, media=media,
                                   webhooks=bool(webhook))
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            stack.push_async_callback(_cleanup_once, runner)
            await web.TCPSite(runner, "0.0.0.0", settings.port).start()
            log.info("web server listening on port %d", settings.port)
        if application is not None:
            await _start_telegram(application, webhook, secret)
            stack.push_async_callback(_stop_telegram, application)
        if zalo is not None:
            stack.push_async_callback(zalo.stop)
            await zalo.start(webhook_url=f"{webhook}/zalo" if webhook else "", secret=secret)
        # Proactive messages (report news, reminders, summaries) leave through the outbox only.
        from bot.outbox import OutboxSender
        from handlers.progress_daily import start_daily_job
        from handlers.reports import reminder_loop

        background = [asyncio.create_task(OutboxSender(app, channels).run(stop)),
                      asyncio.create_task(reminder_loop(app, stop)),
                      start_daily_job(app, stop)]  # the campaign summary at DAILY_SUMMARY_TIME
        await stop.wait()
        await asyncio.gather(*background, return_exceptions=True)
        if webhook or public_url:
            await _cleanup_once(runner)  # first, so no webhook call arrives while channels stop


async def _cleanup_once(runner: web.AppRunner) -> None:
    if runner.server is not None:
        await runner.cleanup()


async def _start_telegram(application, webhook: str, secret: str) -> None:
    await register_commands(application)
    if webhook:
        await application.bot.set_webhook(url=f"{webhook}/telegram", secret_token=secret,
                                          allowed_updates=["message", "callback_query"])
        await application.start()
        log.info("Telegram bot @%s receives updates by webhook", application.bot.username)
    else:
        await application.start()
        await application.updater.start_polling(allowed_updates=["message", "callback_query"])
        log.info("Telegram bot @%s is polling", application.bot.username)


async def _stop_telegram(application) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    await application.stop()


def make_web_app(app: App, application, secret: str, *, zalo: ZaloChannel | None = None,
                 media: MediaStore | None = None, webhooks: bool = True) -> web.Application:
    """The aiohttp app: health check and media, and with ``webhooks`` the Telegram and Zalo webhooks."""

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

    async def zalo_webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Zalo webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        # The official sample wraps the event in {ok, result}; other sources say it comes bare.
        event = body.get("result") if isinstance(body, dict) and "event_name" not in body else body
        if not isinstance(event, dict) or not isinstance(event.get("message"), dict):
            return web.Response(status=400)
        zalo.dispatch(event)  # handled in the background: answer Zalo at once
        return web.json_response({"ok": True})

    async def media_file(request: web.Request) -> web.Response:
        item = media.get(request.match_info["name"]) if media is not None else None
        if item is None:
            return web.Response(status=404)
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if item.filename and not item.content_type.startswith("image/"):
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(item.filename)}"
        return web.Response(body=item.data, content_type=item.content_type.split(";")[0], headers=headers)

    async def healthz(request: web.Request) -> web.Response:
        try:
            async with app.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            database = True
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            database = False
        status = {"database": database}
        if application is not None:
            status["telegram"] = bool(application.running)
        if zalo is not None:
            status["zalo"] = zalo.running
        ok = all(status.values())
        return web.json_response({"ok": ok, **status}, status=200 if ok else 503)

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    if webhooks and application is not None:
        web_app.router.add_post("/telegram", telegram_webhook)
    if webhooks and zalo is not None:
        web_app.router.add_post("/zalo", zalo_webhook)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/media/{name}", media_file)
    return web_app
