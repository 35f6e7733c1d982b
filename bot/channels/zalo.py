"""Zalo channel: Zalo Bot API events in, Bot API calls out. No decisions here.

The Zalo Bot API (bot.zaloplatforms.com) is shaped like Telegram's, with differences that
matter here: getUpdates returns one event per call and has no offset (so events are
de-duplicated by message id), an idle long poll ends with HTTP 408, ids are strings, there
are no buttons (options are numbered text, as in the terminal chat), text is at most 2,000
characters, and photos are sent by URL, so charts are served by our own web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, defaultdict
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from bot.channels.base import TokenRejected, apology
from bot.channels.options import remember_options
from bot.channels.render import reply_as_text, split_text
from bot.logs import redact, redact_secrets
from bot.media import MediaStore, image_type
from db.models import User
from handlers.i18n import _, use_locale
from handlers.messages import Attachment, DeliveryError, Incoming, RateLimited, RecipientGone, Reply
from handlers.notify import enqueue

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PLATFORM = "zalo"
TEXT_LIMIT = 2000  # sendMessage text and sendPhoto caption, in characters
MAX_DOWNLOAD = 10 * 1024 * 1024  # bytes; larger photos are refused
POLL_TIMEOUT = 30  # seconds a getUpdates long poll may wait for an event
# Zalo's 429 "Quota exceeded" gives no retry_after, and the free plan's quota is reportedly
# monthly. Longer than the outbox's inline wait (60 s), so the message goes back in the queue
# and the sender moves on instead of blocking every channel on Zalo.
QUOTA_BACKOFF = 600.0
SEEN_LIMIT = 5000  # message ids remembered in memory for de-duplication


TOKEN_REJECTED = ("Zalo refused ZALO_BOT_TOKEN (401): the token is wrong or was reset in Zalo Bot Creator. "
                  "Stopping; set the right token and start the bot again.")


class ZaloError(Exception):
    """The Bot API answered ``ok: false`` (``code`` is its error_code, or the HTTP status)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"Zalo Bot API error {code}: {description}")
        self.code = code
        self.description = description


class ZaloNetworkError(Exception):
    """The Bot API could not be reached (the message never contains the token)."""


class ZaloClient:
    """Calls ``{base_url}/bot{token}/{method}`` with a JSON body and unwraps ``{ok, result}``."""

    def __init__(self, token: str, base_url: str = "https://bot-api.zaloplatforms.com", *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._token = token
        self._base = f"{base_url.rstrip('/')}/bot{token}"
        redact_secrets(token)  # httpx logs every request URL
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, read=POLL_TIMEOUT + 15),
                                       transport=transport, follow_redirects=True)

    def redact(self, text: str) -> str:
        """``text`` with the token (and its secret half) replaced, for logs and exceptions."""
        return redact(text)

    async def call(self, method: str, **params: Any) -> Any:
        """Call ``method``; return its ``result`` or raise ZaloError / ZaloNetworkError."""
        try:
            response = await self._http.post(f"{self._base}/{method}", json=params)
        except httpx.HTTPError as exc:
            raise ZaloNetworkError(f"{method}: {type(exc).__name__}: {self.redact(str(exc))}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZaloError(response.status_code, f"{method}: unexpected answer (HTTP {response.status_code})")
        if not body.get("ok"):
            code = body.get("error_code") or response.status_code
            raise ZaloError(int(code), self.redact(str(body.get("description") or "")))
        return body.get("result")

    async def download(self, url: str, limit: int = MAX_DOWNLOAD) -> tuple[bytes, str]:
        """Fetch a file the user sent (a photo URL); refuse more than ``limit`` bytes."""
        try:
            async with self._http.stream("GET", url) as response:
                response.raise_for_status()
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise FileTooLarge(int(declared))
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > limit:
                        raise FileTooLarge(len(data))
                return bytes(data), response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.HTTPError as exc:
            raise ZaloNetworkError(f"download: {type(exc).__name__}: {self.redact(str(exc))}") from None

    async def aclose(self) -> None:
        await self._http.aclose()


class FileTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"file over the limit ({size} bytes)")
        self.size = size


class ZaloChannel:
    """One Zalo bot: long polling or webhook events to the router, replies back as text."""

    def __init__(self, app: App, client: ZaloClient, media: MediaStore | None = None,
                 public_url: str = "", *, poll_timeout: int = POLL_TIMEOUT) -> None:
        self.app = app
        self.client = client
        self.media = media
        self.public_url = public_url.rstrip("/")  # where our web server is reachable; "" = nowhere
        self.poll_timeout = poll_timeout
        self._started = False
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task] = set()
        self._poller: asyncio.Task | None = None

    platform = PLATFORM
    webhook_path = "/zalo"
    secret_header = "X-Bot-Api-Secret-Token"

    @classmethod
    def from_settings(cls, app: App, media: MediaStore | None, public_url: str, *,
                      webhook: bool = False) -> ZaloChannel | None:
        settings = app.settings
        if not settings.zalo_bot_token:
            return None
        return cls(app, ZaloClient(settings.zalo_bot_token, settings.zalo_base_url), media, public_url)

    async def on_webhook(self, body: object) -> int:
        """One webhook call, answered once the event was handled (its transaction committed), so
        Zalo delivers again what a crash interrupted; de-duplication keeps it once."""
        # The official sample wraps the event in {ok, result}; other sources say it comes bare.
        event = body.get("result") if isinstance(body, dict) and "event_name" not in body else body
        if not well_formed(event):
            log.warning("malformed Zalo webhook event refused")
            return 400
        if self._first_sight(event):
            await self._handle_in_turn(str((event["message"].get("from") or {}).get("id") or ""), event)
        return 200

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self, webhook_url: str = "", secret: str = "") -> None:
        """Take webhook calls (when ``webhook_url``; the leader sets it), else delete it and poll."""
        try:
            me = await self.client.call("getMe")
        except ZaloNetworkError as exc:  # polling retries on its own, with a growing pause
            log.warning("Zalo getMe failed: %s", exc)
            me = None
        except ZaloError as exc:
            if exc.code == 401:
                raise TokenRejected(TOKEN_REJECTED) from None
            log.warning("Zalo getMe failed: %s", exc)
            me = None
        name = me.get("account_name", "?") if isinstance(me, dict) else "?"
        if webhook_url:
            if not 8 <= len(secret) <= 256:
                raise ValueError("WEBHOOK_SECRET must be 8 to 256 characters for Zalo")
            log.info("Zalo bot %s receives updates by webhook", name)
        else:
            try:
                await self.client.call("deleteWebhook")  # getUpdates does not work while a webhook is set
            except (ZaloError, ZaloNetworkError) as exc:  # a bad moment: the poll loop keeps trying
                if isinstance(exc, ZaloError) and exc.code == 401:
                    raise TokenRejected(TOKEN_REJECTED) from None  # a wrong token will not get better
                log.warning("Zalo deleteWebhook failed: %s", exc)
            self._poller = asyncio.create_task(self.poll(), name="zalo-poll")
            log.info("Zalo bot %s is polling", name)
        self._started = True

    @property
    def running(self) -> bool:
        """Started, and (when polling) the poll loop is alive."""
        return self._started and (self._poller is None or not self._poller.done())

    async def set_webhook(self, url: str, secret: str) -> None:
        """Point Zalo at ``url`` with ``secret`` (the leader, or ``python -m bot webhook set``)."""
        if not 8 <= len(secret) <= 256:
            raise ValueError("WEBHOOK_SECRET must be 8 to 256 characters for Zalo")
        await self.client.call("setWebhook", url=url, secret_token=secret)

    async def stop(self) -> None:
        """Stop polling, let in-flight messages finish (briefly), close the HTTP client."""
        self._started = False
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass
            self._poller = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        await self.client.aclose()

    async def poll(self) -> None:
        """Long-poll getUpdates forever; 408 is an idle poll, network errors back off.

        One bad event never stops it: each is handled on its own (and a malformed one only
        logged); only a refused token (401) ends polling, and the process with it.
        """
        backoff = 1.0
        while True:
            try:
                event = await self.client.call("getUpdates", timeout=str(self.poll_timeout))
            except ZaloError as exc:
                if exc.code == 408:  # nothing arrived during the long poll
                    self.app.beat(PLATFORM)
                    backoff = 1.0
                    continue
                if exc.code == 401:
                    self.app.health.fatal(TOKEN_REJECTED)
                    return
                log.warning("Zalo getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                if "webhook" in exc.description.lower():  # a webhook is still set: remove it
                    with contextlib.suppress(ZaloError, ZaloNetworkError):
                        await self.client.call("deleteWebhook")
            except ZaloNetworkError as exc:
                log.warning("Zalo getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            except Exception as exc:  # noqa: BLE001 - whatever the answer was, polling goes on
                log.warning("Zalo getUpdates gave an unusable answer (%s: %s); retrying in %.0f s",
                            type(exc).__name__, exc, backoff)
            else:
                self.app.beat(PLATFORM)
                backoff = 1.0
                try:
                    self.dispatch(event)
                except Exception as exc:  # noqa: BLE001 - one malformed event is ignored, not fatal
                    log.warning("malformed Zalo event ignored (%s: %s)", type(exc).__name__, exc)
                continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 60.0)

    # --- incoming ---------------------------------------------------------------------------
    def dispatch(self, event: dict) -> bool:
        """Handle ``event`` in the background, one at a time per user; False for a duplicate."""
        if not well_formed(event):
            log.warning("malformed Zalo event ignored")
            return False
        if not self._first_sight(event):
            return False
        message = event.get("message") or {}
        user_id = str((message.get("from") or {}).get("id") or "")
        task = asyncio.create_task(self._handle_in_turn(user_id, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _first_sight(self, event: dict) -> bool:
        """False for an event whose message id this process saw recently (the database
        de-duplicates too, across processes and restarts)."""
        message_id = str((event.get("message") or {}).get("message_id") or "")
        if message_id:
            if message_id in self._seen:
                log.info("duplicate Zalo event %s ignored", message_id)
                return False
            self._seen[message_id] = None
            if len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)
        return True

    async def _handle_in_turn(self, user_id: str, event: dict) -> None:
        lock = self._locks[user_id]
        async with lock:
            try:
                await self.handle_event(event)
            except Exception:  # noqa: BLE001 - one bad event must not stop the channel
                log.exception("error while handling a Zalo %s event", event.get("event_name"))
                chat_id = str(((event.get("message") or {}).get("chat") or {}).get("id") or "")
                if chat_id:
                    await self._send_quietly(chat_id, apology())
        if not lock.locked() and not lock._waiters:  # forget idle users so memory stays flat
            self._locks.pop(user_id, None)

    async def handle_event(self, event: dict) -> None:
        """Translate one Zalo event, pass it to the router and send the replies."""
        name = event.get("event_name", "")
        message = event.get("message") or {}
        sender = message.get("from") or {}
        chat = message.get("chat") or {}
        user_id, chat_id = str(sender.get("id") or ""), str(chat.get("id") or "")
        if not user_id or not chat_id or sender.get("is_bot"):
            return
        if chat.get("chat_type", "PRIVATE") != "PRIVATE":
            return  # groups are unreliable on Zalo; the bot works in private chats only
        message_id = str(message.get("message_id") or "") or None
        common = dict(display_name=str(sender.get("display_name") or ""), update_id=message_id)
        if name == "message.text.received":
            incoming = Incoming.from_text(PLATFORM, user_id, chat_id, str(message.get("text") or ""), **common)
        elif name == "message.image.received":
            incoming = await self._image_incoming(message, user_id, chat_id, common)
            if incoming is None:
                return
        elif name in ("message.sticker.received", "message.unsupported.received"):
            await self._answer_unreadable(user_id, chat_id, sticker=name == "message.sticker.received")
            return
        else:
            log.debug("Zalo event %s ignored", name)
            return
        for reply in await self.app.router.handle(incoming):
            try:
                await self.send_reply(chat_id, reply)
            except (ZaloError, ZaloNetworkError) as exc:
                if isinstance(exc, ZaloError) and exc.code not in (429, 500, 502, 503, 504):
                    # Refused for good (403: blocked or not allowed; 400): one line, no traceback,
                    # and no apology, which Zalo would refuse the same way.
                    log.warning("Zalo refused a reply to chat %s: error %d: %s", chat_id, exc.code,
                                exc.description or "(no description)")
                    return
                await self._keep_for_later(user_id, reply, exc)

    async def _keep_for_later(self, user_id: str, reply: Reply, exc: Exception) -> None:
        """A reply that could not go out now (quota, network): hand it to the outbox to retry."""
        async with getattr(self.app, "write_lock", contextlib.nullcontext()), self.app.sessions() as session:
            internal_id = await session.scalar(select(User.id).where(
                User.platform == PLATFORM, User.platform_user_id == user_id))
            if internal_id is None:
                return
            await enqueue(session, internal_id, reply, kind="retry")
            await session.commit()
        log.warning("Zalo reply kept in the outbox for a retry: %s", exc)

    async def _image_incoming(self, message: dict, user_id: str, chat_id: str, common: dict) -> Incoming | None:
        url = message.get("photo_url") or message.get("photo") or message.get("url")
        locale = await self._user_locale(user_id)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            log.warning("Zalo image event without a usable URL")
            return None
        try:
            data, mime = await self.client.download(url)
        except FileTooLarge:
            with use_locale(locale):
                await self._send_quietly(chat_id, _("This file is too large (over 10 MB). "
                                                    "Please send a smaller one."))
            return None
        except ZaloNetworkError as exc:
            log.warning("could not download a Zalo photo: %s", exc)
            with use_locale(locale):
                await self._send_quietly(chat_id, _("Sorry, I could not receive your photo. "
                                                    "Please send it again."))
            return None
        if not mime.startswith("image/"):
            mime = image_type(data)[0]
        extension = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
                     "image/webp": "webp"}.get(mime, "jpg")
        name = f"{common.get('update_id') or 'zalo-photo'}.{extension}"
        incoming = Incoming.from_text(PLATFORM, user_id, chat_id, str(message.get("caption") or ""), **common)
        incoming.attachments = [Attachment("photo", data, name, mime)]
        return incoming

    async def _answer_unreadable(self, user_id: str, chat_id: str, *, sticker: bool) -> None:
        with use_locale(await self._user_locale(user_id)):
            if sticker:
                text = _("Thank you! 😊 I can only read text and photos. "
                         "Please type your question, or send /menu to see what I can do.")
            else:
                text = _("Sorry, I can't read this kind of message. "
                         "Please type your question in words, or send /menu.")
        await self._send_quietly(chat_id, text)

    async def _user_locale(self, user_id: str) -> str:
        async with self.app.sessions() as session:
            locale = await session.scalar(select(User.locale).where(
                User.platform == PLATFORM, User.platform_user_id == user_id))
        return locale or self.app.settings.default_locale or "vi"

    # --- outgoing ---------------------------------------------------------------------------
    async def send_reply(self, chat_id: str, reply: Reply) -> None:
        """Send one Reply as plain text with numbered options; a photo or file by link."""
        text = reply_as_text(reply)
        with use_locale(reply.locale or "vi"):
            if reply.photo is not None:
                url = await self._publish(reply.photo, *image_type(reply.photo))
                if url:
                    caption = text if len(text) <= TEXT_LIMIT else ""
                    params = {"caption": caption} if caption else {}
                    await self.client.call("sendPhoto", chat_id=chat_id, photo=url, **params)
                    if caption or not text:
                        return
                else:
                    text = _join(text, _("(This picture can only be viewed on Telegram.)"))
            if reply.document is not None:
                filename = reply.filename or "file"
                extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
                url = await self._publish(reply.document, _content_type(extension), extension, filename)
                if url:
                    text = _join(text, _("Download {filename} (the link works for 24 hours): {url}")
                                 .format(filename=filename, url=url))
                else:
                    text = _join(text, _("The file {filename} cannot be sent on Zalo. "
                                         "Please open the bot on Telegram to download it.")
                                 .format(filename=filename))
        if not text.strip():
            return
        for chunk in split_text(text, TEXT_LIMIT):
            await self.client.call("sendMessage", chat_id=chat_id, text=chunk)

    async def _publish(self, data: bytes, content_type: str, extension: str, filename: str = "") -> str:
        """Put ``data`` in the media store; its public URL, or "" when none is configured."""
        if self.media is None or not self.public_url:
            return ""
        name = await self.media.put(data, content_type, extension, filename)
        return f"{self.public_url}/media/{name}"

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send a proactive message, mapping Bot API errors to channel-neutral ones for the outbox."""
        try:
            await self.send_reply(chat_id, reply)
            if reply.buttons:
                await self._remember_options(chat_id, reply)
        except ZaloError as exc:
            if exc.code == 429:
                log.warning("Zalo quota exceeded (429); backing off %.0f s", QUOTA_BACKOFF)
                raise RateLimited(QUOTA_BACKOFF, str(exc)) from None
            if exc.code == 403 or _says_recipient_not_found(exc.description):
                raise RecipientGone(str(exc)) from None
            raise DeliveryError(str(exc)) from None
        except ZaloNetworkError as exc:
            raise DeliveryError(str(exc)) from None

    async def _remember_options(self, chat_id: str, reply: Reply) -> None:
        await remember_options(self.app, PLATFORM, chat_id, reply)

    async def _send_quietly(self, chat_id: str, text: str) -> None:
        try:
            await self.client.call("sendMessage", chat_id=chat_id, text=text[:TEXT_LIMIT])
        except (ZaloError, ZaloNetworkError) as exc:
            log.warning("could not send a Zalo message: %s", exc)


def well_formed(event: object) -> bool:
    """An event whose parts have the shapes handling relies on: ``message`` an object, and its
    ``from`` and ``chat`` objects when present (a fuzzer sends ``"from": "x"``)."""
    if not isinstance(event, dict):
        return False
    message = event.get("message")
    return (isinstance(message, dict) and isinstance(message.get("from") or {}, dict)
            and isinstance(message.get("chat") or {}, dict))


def _join(text: str, note: str) -> str:
    return f"{text}\n\n{note}" if text else note


def _says_recipient_not_found(description: str) -> bool:
    lowered = description.lower()
    return "not found" in lowered and any(word in lowered for word in ("user", "chat", "recipient"))


def _content_type(extension: str) -> str:
    return {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8",
        "pdf": "application/pdf",
        "png": "image/png",
        "jpg": "image/jpeg",
    }.get(extension.lower(), "application/octet-stream")
