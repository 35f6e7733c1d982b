"""A fake Zalo Bot API server (bot.zaloplatforms.com style) for end-to-end tests.

Real HTTP on 127.0.0.1, same style as tests/fake_telegram.py::

    async with FakeZalo() as fake:
        client = ZaloClient(base_url=fake.url, token=fake.token)   # our channel code
        fake.user_sends_text("e4ea2cd5189df1c3a88c", "Xin chào")
        msgs = await fake.wait_messages("e4ea2cd5189df1c3a88c", 1)

API shape (see /work/shared/platforms.md, A1):
* ``POST {url}/bot<TOKEN>/<method>`` with JSON (also query string / form / multipart);
  envelope ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}``
  with the same HTTP status as error_code;
* getUpdates returns ONE event per call (``result`` is the event object, not a list); an idle long
  poll ends with HTTP 408 ``{"ok":false,"error_code":408,"description":"Request timeout"}``;
  no offset/ack: every event is handed out once (duplicates only when injected twice);
* ids (user, chat, message) are hex strings, dates are epoch milliseconds;
* no keyboards, no editing, text/caption 1..2000 chars, photos are sent by URL only.

Choices where the real API is undocumented (documented here so tests don't over-fit):
* getUpdates while a webhook is set -> HTTP 400 "Bad Request: webhook is active, call deleteWebhook first";
* unknown method -> HTTP 404 "Not Found" (the docs say 400/404 for unknown methods);
* sendChatAction result is ``true``;
* getWebhookInfo on a bot that never had a webhook returns ``{"url": "", "updated_at": 0}`` (real: HTTP 404).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import mimetypes
import re
import secrets
import time
from typing import Any

from aiohttp import web

from tests.fake_server import ApiError as _ApiError
from tests.fake_server import Call, FakeBotServer, dumps, error_response, window_full

__all__ = ["FakeZalo", "ZaloCall"]

_SEND_METHODS = {"sendMessage", "sendPhoto", "sendSticker"}
_METHODS = [
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
    "sendPhoto", "sendSticker", "sendChatAction",
]


ZaloCall = Call  # one Zalo Bot API request the bot made (getUpdates polls are not recorded)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s/]+\S*$", value) is not None


class FakeZalo(FakeBotServer):
    """Fake Zalo Bot API server. See the module docstring."""

    def __init__(
        self,
        token: str = "1234567890123456789:ZALOTESTSECRET",
        *,
        allow_http_webhook: bool = False,
        webhook_wrapped: bool = True,
        **server: Any,
    ):
        super().__init__(token, **server)  # url: the API base URL
        self.allow_http_webhook = allow_http_webhook  # accept http:// in setWebhook (local tests)
        self.webhook_wrapped = webhook_wrapped  # auto-delivery wraps events in {ok, result}
        self.bot_id = token.split(":", 1)[0]
        self.bot_info = {
            "id": self.bot_id,
            "account_name": "bot.hatinh_test",
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.events_log: list[dict] = []  # every event injected
        self.webhook: dict = {"url": "", "secret_token": None, "updated_at": 0}
        self.static: dict[str, tuple[bytes, str]] = {}
        self.quota_remaining: int | None = None  # None = unlimited; see set_quota()

        self._queue: collections.deque = collections.deque()
        self._seq = itertools.count(1)

    # ------------------------------------------------------------------ lifecycle

    MESSAGE_METHODS = frozenset(_SEND_METHODS)

    DOWNLOAD_ROUTE = "/static/{name:.+}"

    def _chat_key(self, chat_id: Any) -> str:
        return str(chat_id)

    @property
    def api_url(self) -> str:
        """``{url}/bot{token}``: prefix of every method URL."""
        return f"{self.url}/bot{self.token}"

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return error_response(401, "Unauthorized")
        method = request.match_info["method"]  # case-sensitive, as documented
        if method not in _METHODS:
            return error_response(404, "Not Found")
        try:
            params, files, _names = await self._read_body(request)
        except Exception as exc:
            return error_response(400, f"Bad Request: {exc}")

        if method == "getUpdates":
            try:
                event = await self._get_updates(params)
            except _ApiError as err:
                return error_response(err.code, err.description)
            return web.json_response({"ok": True, "result": event}, dumps=dumps)

        call = ZaloCall(method, params, files, time.monotonic())
        return await self._answer(call, lambda: getattr(self, f"_m_{method}")(params))

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        item = self.static.get(request.match_info["name"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=item[0], content_type=item[1])

    def serve_file(self, name: str, data: bytes, content_type: str | None = None) -> str:
        """Serve ``data`` at ``{url}/static/{name}``; returns that URL."""
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.static[name] = (bytes(data), ctype)
        return f"{self.url}/static/{name}"

    # ------------------------------------------------------------------ faults

    def fail_next(self, method: str | None, *, error_code: int = 429,
                  description: str | None = None, chat_id: Any = None, times: int = 1) -> None:
        """Next ``times`` calls of ``method`` (None = any; optionally only for ``chat_id``) fail.
        Default description: 429 "Quota exceeded", 401 "Unauthorized", 403 "Internal server
        error" (sic, as documented), 400 "Bad Request", 408 "Request timeout"."""
        if description is None:
            description = {
                429: "Quota exceeded", 401: "Unauthorized", 403: "Internal server error",
                400: "Bad Request", 404: "Not Found", 408: "Request timeout",
            }.get(error_code, "Error")
        self._add_fault(method, chat_id, error_code, description, times)

    def set_quota(self, remaining: int | None) -> None:
        """Only ``remaining`` more successful sends, then every send gets 429 "Quota exceeded"
        (the free plan's ~3,000 messages/month). None = unlimited."""
        self.quota_remaining = remaining

    def rate_limit(self, per_second: int | None) -> None:
        """Sends beyond ``per_second`` in a rolling second get 429 "Quota exceeded"."""
        self._rate_per_second = per_second
        self._send_times.clear()

    def _apply_faults(self, method: str, params: dict) -> None:
        super()._apply_faults(method, params)
        if method in _SEND_METHODS:
            if self._rate_per_second:
                now = time.monotonic()
                if window_full(self._send_times, self._rate_per_second, now):
                    raise _ApiError(429, "Quota exceeded")
                self._send_times.append(now)
            if self.quota_remaining is not None and self.quota_remaining <= 0:
                raise _ApiError(429, "Quota exceeded")

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: dict) -> dict:
        if self.webhook["url"]:
            raise _ApiError(400, "Bad Request: webhook is active, call deleteWebhook first")
        self._apply_faults("getUpdates", params)
        try:
            timeout = float(params.get("timeout", 30))
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: timeout must be a number") from None
        deadline = time.monotonic() + timeout
        while True:
            if self._queue and not self._closing:
                return self._queue.popleft()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                raise _ApiError(408, "Request timeout")
            ev = self._update_event
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    @property
    def pending_events(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ events

    @staticmethod
    def new_id() -> str:
        """A Zalo-like opaque hex id (20 hex chars)."""
        return secrets.token_hex(10)

    def _base_event(self, event_name: str, user_id: str, display_name: str,
                    chat_id: str | None, message_id: str | None, chat_type: str, **content) -> dict:
        msg = {
            "from": {"id": str(user_id), "display_name": display_name, "is_bot": False},
            "chat": {"id": str(chat_id if chat_id is not None else user_id), "chat_type": chat_type},
            **content,
            "message_id": message_id or self.new_id(),
            "date": _now_ms(),
        }
        return {"event_name": event_name, "message": msg}

    def make_text_event(self, user_id: str, text: str, display_name: str = "Test", *,
                        chat_id: str | None = None, message_id: str | None = None,
                        chat_type: str = "PRIVATE") -> dict:
        """Build (but do not queue) a ``message.text.received`` event."""
        return self._base_event("message.text.received", user_id, display_name, chat_id,
                                message_id, chat_type, text=text)

    def inject_event(self, event: dict, *, copies: int = 1) -> dict:
        """Queue a raw event (delivered by getUpdates, or POSTed to the webhook when one is set
        and auto_deliver_webhook is on). ``copies=2`` delivers it twice."""
        for _ in range(copies):
            self.events_log.append(event)
            if self.webhook["url"] and self.auto_deliver_webhook:
                self._enqueue_webhook(event)
            else:
                self._queue.append(event)
        self._wake_pollers()
        return event

    def send_duplicate(self, event: dict) -> dict:
        """Deliver the same event (same message_id) once more."""
        return self.inject_event(event)

    def user_sends_text(self, user_id: str, text: str, display_name: str = "Test", *,
                        chat_id: str | None = None, message_id: str | None = None,
                        chat_type: str = "PRIVATE") -> dict:
        """Queue a text event from ``user_id`` (chat.id == user_id); returns the event."""
        return self.inject_event(self.make_text_event(
            user_id, text, display_name, chat_id=chat_id, message_id=message_id,
            chat_type=chat_type))

    def user_sends_image(self, user_id: str, photo_url: str, caption: str = "",
                         display_name: str = "Test", *, message_id: str | None = None) -> dict:
        """``message.image.received`` with ``photo_url`` and ``photo`` (same URL) and caption."""
        content: dict = {"photo_url": photo_url, "photo": photo_url}
        if caption:
            content["caption"] = caption
        return self.inject_event(self._base_event(
            "message.image.received", user_id, display_name, None, message_id, "PRIVATE",
            **content))

    def user_sends_sticker(self, user_id: str, sticker: str = "bfe458bf64fa8da4d4eb",
                           display_name: str = "Test") -> dict:
        return self.inject_event(self._base_event(
            "message.sticker.received", user_id, display_name, None, None, "PRIVATE",
            sticker=sticker, url=f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}"))

    def user_sends_unsupported(self, user_id: str, display_name: str = "Test") -> dict:
        """``message.unsupported.received`` (sender is a protected user; no content)."""
        return self.inject_event(self._base_event(
            "message.unsupported.received", user_id, display_name, None, None, "PRIVATE"))

    # ------------------------------------------------------------------ webhook

    def _back_to_polling(self, event: dict) -> None:
        self._queue.append(event)
        self._wake_pollers()

    def _post_webhook(self, event: dict):
        return self.post_to_webhook(event, wrapped=self.webhook_wrapped)

    def _delivery_id(self, event: dict) -> str | None:
        return event.get("message", {}).get("message_id")

    async def post_to_webhook(self, event: dict, url: str | None = None,
                              secret: str | None = None, wrapped: bool = True) -> int:
        """POST ``event`` to ``url`` (default: the webhook set via setWebhook) with header
        ``X-Bot-Api-Secret-Token`` (default: the secret set via setWebhook). ``wrapped`` sends
        ``{"ok": true, "result": event}`` (official sample), else the bare event. Returns the
        HTTP status."""
        body = {"ok": True, "result": event} if wrapped else event
        return await self._post_json(url, dumps(body), "X-Bot-Api-Secret-Token", secret)

    # ------------------------------------------------------------------ methods

    def _m_getMe(self, params):
        return self.bot_info

    def _m_setWebhook(self, params):
        url = params.get("url")
        secret = params.get("secret_token")
        if not url:
            raise _ApiError(400, "Bad Request: url is required")
        if not (str(url).startswith("https://") or
                (self.allow_http_webhook and str(url).startswith("http://"))):
            raise _ApiError(400, "Bad Request: url must be HTTPS")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        self._wake_pollers()
        if self.auto_deliver_webhook and self._queue:
            pending = list(self._queue)
            self._queue.clear()
            for ev in pending:
                self._enqueue_webhook(ev)
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    def _m_deleteWebhook(self, params):
        self.webhook = {"url": "", "secret_token": None, "updated_at": _now_ms()}
        return {"url": "", "updated_at": self.webhook["updated_at"]}

    def _m_getWebhookInfo(self, params):
        return {"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]}

    @staticmethod
    def _chat_id(params) -> str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is required")
        return str(chat_id)

    def _sent_result(self) -> dict:
        if self.quota_remaining is not None:
            self.quota_remaining -= 1
        return {"message_id": self.new_id(), "date": _now_ms()}

    def _m_sendMessage(self, params):
        self._chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            raise _ApiError(400, "Bad Request: text must be 1-2000 characters")
        return self._sent_result()

    def _m_sendPhoto(self, params):
        self._chat_id(params)
        if not _is_http_url(params.get("photo")):
            raise _ApiError(400, "Bad Request: photo must be an http(s) URL")
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > 2000):
            raise _ApiError(400, "Bad Request: caption must be at most 2000 characters")
        return self._sent_result()

    def _m_sendSticker(self, params):
        self._chat_id(params)
        if not params.get("sticker"):
            raise _ApiError(400, "Bad Request: sticker is required")
        return self._sent_result()

    def _m_sendChatAction(self, params):
        self._chat_id(params)
        if params.get("action") != "typing":
            raise _ApiError(400, "Bad Request: action must be 'typing'")
        return True
