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
from bot.channels.base import ChannelUnreachable, TokenRejected
from bot.jobs import lead_background_work
from bot.leader import Leadership
from bot.media import MediaStore
from bot.memory import trim_loop

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


POLL_QUIET_AT_MOST = 300.0  # seconds a polling channel may go without an answer before /healthz fails
START_RETRY_AT_MOST = 60.0  # seconds between attempts to reach a platform at start


async def run_channels(app: App, stop: asyncio.Event | None = None) -> int:
    """Start every channel whose token is set, in one process, until ``stop`` (or SIGINT/SIGTERM).

    Returns the exit status: 0, or 1 when a platform refused its token (at start or later), so
    that a supervisor restarts the process and the log says why. A platform that cannot be
    reached at start is tried again with a growing pause.

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
            if not await _start(app, channel, webhook, secret, stop):
                return 1 if app.health.fatal_reason else 0
        # The sender, the daily summary, the reminders: in the leading process only.
        background = asyncio.create_task(lead_background_work(app, channels, stop, leadership, set_webhooks))
        trimming = asyncio.create_task(trim_loop(stop))  # in every process, leader or not (bot/memory.py)
        fatal = asyncio.create_task(app.health.fatal_event.wait())
        await asyncio.wait([asyncio.create_task(stop.wait()), fatal], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        fatal.cancel()
        await background
        await trimming
        if runner is not None:
            await _cleanup_once(runner)  # first, so no webhook call arrives while channels stop
    return 1 if app.health.fatal_reason else 0


async def _start(app: App, channel: Channel, webhook: str, secret: str, stop: asyncio.Event) -> bool:
    """Start ``channel``, trying again while its platform cannot be reached; False when it
    cannot start (refused token: ``app.health`` says why) or ``stop`` came first."""
    pause = 1.0
    while not stop.is_set():
        try:
            await channel.start(webhook_url=f"{webhook}{channel.webhook_path}" if webhook else "",
                                secret=secret)
        except TokenRejected as exc:
            app.health.fatal(str(exc))
            return False
        except ChannelUnreachable as exc:
            log.warning("%s cannot be reached (%s); trying again in %.0f s",
                        channel.platform.capitalize(), exc, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            pause = min(pause * 2, START_RETRY_AT_MOST)
            continue
        app.health.expect(channel.platform, stale_after=None if webhook else POLL_QUIET_AT_MOST)
        return True
    return False


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
                log.warning("%s webhook call that is not JSON refused", channel.platform.capitalize())
                return web.Response(status=400)
            try:
                status = await channel.on_webhook(body)
            except Exception as exc:  # noqa: BLE001 - valid JSON that is no update: one line, no traceback
                log.warning("%s webhook call refused: %s: %s", channel.platform.capitalize(),
                            type(exc).__name__, str(exc)[:200])
                status = 400
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
        alive, parts = app.health.report()  # channels and background loops: last success, problem
        for channel in channels:
            status[channel.platform] = bool(channel.running) and parts.get(channel.platform, {}).get("ok", True)
        ok = all(status.values()) and alive
        return web.json_response({"ok": ok, **status, "parts": parts}, status=200 if ok else 503)

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    for channel in channels if webhooks else ():
        web_app.router.add_post(channel.webhook_path, webhook_route(channel))
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/media/{name}", media_file)
    return web_app
