"""Run the channels (Telegram, Zalo …) in one process: long polling, or one aiohttp web server for webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import text

from bot.channels import build_channels
from bot.jobs import lead_background_work
from bot.leader import Leadership
from bot.media import MediaStore

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel

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

    With ``WEBHOOK_URL`` one aiohttp server takes every channel's webhook and serves /healthz and
    the media links; without it, each channel long-polls (and the server runs only when
    ``PUBLIC_BASE_URL`` is set, to serve the media links Zalo needs for charts).
    """
    stop = stop or _stop_event()
    settings = app.settings
    webhook = settings.webhook_url.rstrip("/")
    public_url = webhook or settings.public_base_url.rstrip("/")
    leadership = Leadership(app)
    leading = await leadership.try_acquire()
    if webhook and not settings.webhook_secret and not leading:
        # Another process leads and registered its own secret: ours would be refused (403).
        await leadership.release()
        raise SystemExit("WEBHOOK_SECRET must be set when several bot processes share WEBHOOK_URL "
                         "(another process is already running on this database).")
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    media = MediaStore(app.sessions)
    channels = build_channels(app, media, public_url, webhook=bool(webhook))

    async def set_webhooks() -> None:  # by the leader only (or `python -m bot webhook set`)
        for channel in channels if webhook else ():
            await channel.set_webhook(f"{webhook}{channel.webhook_path}", secret)

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(leadership.release)
        runner = None
        if webhook or public_url:
            # Up before the webhooks are set: the platforms may call right away.
            web_app = make_web_app(app, channels, secret, media=media, webhooks=bool(webhook))
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            stack.push_async_callback(_cleanup_once, runner)
            await web.TCPSite(runner, "0.0.0.0", settings.port).start()
            log.info("web server listening on port %d", settings.port)
        for channel in channels:
            stack.push_async_callback(channel.stop)
            await channel.start(webhook_url=f"{webhook}{channel.webhook_path}" if webhook else "",
                                secret=secret)
        # The sender, the daily summary, the reminders: in the leading process only.
        background = asyncio.create_task(lead_background_work(app, channels, stop, leadership, set_webhooks))
        await stop.wait()
        await background
        if runner is not None:
            await _cleanup_once(runner)  # first, so no webhook call arrives while channels stop


async def _cleanup_once(runner: web.AppRunner) -> None:
    if runner.server is not None:
        await runner.cleanup()


def make_web_app(app: App, channels: Sequence[Channel], secret: str, *,
                 media: MediaStore | None = None, webhooks: bool = True) -> web.Application:
    """The aiohttp app: health check and media, and with ``webhooks`` each channel's webhook."""

    def webhook_route(channel: Channel):
        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(channel.secret_header, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                log.warning("%s webhook call with a wrong secret from %s",
                            channel.platform.capitalize(), request.remote)
                return web.Response(status=403)
            try:
                body = await request.json()
            except ValueError:
                return web.Response(status=400)
            status = await channel.on_webhook(body)
            return web.json_response({"ok": True}) if status == 200 else web.Response(status=status)
        return receive

    async def media_file(request: web.Request) -> web.Response:
        item = await media.get(request.match_info["name"]) if media is not None else None
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
        for channel in channels:
            status[channel.platform] = bool(channel.running)
        ok = all(status.values())
        return web.json_response({"ok": ok, **status}, status=200 if ok else 503)

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    for channel in channels if webhooks else ():
        web_app.router.add_post(channel.webhook_path, webhook_route(channel))
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/media/{name}", media_file)
    return web_app
