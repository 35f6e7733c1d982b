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
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fake_server import FakeBotServer

__all__ = ["FakeZalo", "ZaloCall"]

_SEND_METHODS = {"sendMessage", "sendPhoto", "sendSticker"}
_METHODS = [
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
    "sendPhoto", "sendSticker", "sendChatAction",
]


@dataclass
class ZaloCall:
    """One Zalo Bot API request the bot made (getUpdates polls are not recorded)."""

    method: str
    params: dict
    files: dict = field(default_factory=dict)
    time: float = 0.0
    ok: bool = True
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        if "text" in self.params:
            return self.params["text"]
        return self.params.get("caption")


class _ApiError(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


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
        host: str = "127.0.0.1",
        port: int = 0,
        allow_http_webhook: bool = False,
        auto_deliver_webhook: bool = True,
        webhook_wrapped: bool = True,
    ):
        self.token = token
        self.host = host
        self.port = port
        self.url = ""  # "http://127.0.0.1:<port>" after start(); the API base URL
        self.allow_http_webhook = allow_http_webhook  # accept http:// in setWebhook (local tests)
        self.auto_deliver_webhook = auto_deliver_webhook
        self.webhook_wrapped = webhook_wrapped  # auto-delivery wraps events in {ok, result}
        self.bot_id = token.split(":", 1)[0]
        self.bot_info = {
            "id": self.bot_id,
            "account_name": "bot.hatinh_test",
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.sent: list[ZaloCall] = []
        self.events_log: list[dict] = []  # every event injected
        self.webhook: dict = {"url": "", "secret_token": None, "updated_at": 0}
        self.webhook_deliveries: list[tuple[str, int]] = []  # (message_id, HTTP status)
        self.static: dict[str, tuple[bytes, str]] = {}
        self.quota_remaining: int | None = None  # None = unlimited; see set_quota()

        self._by_chat: dict[str, list[tuple[int, ZaloCall]]] = {}
        self._queue: collections.deque = collections.deque()
        self._faults: list[dict] = []
        self._rate_per_second: int | None = None
        self._send_times: collections.deque = collections.deque()
        self._seq = itertools.count(1)
        self._event: asyncio.Event | None = None
        self._call_event: asyncio.Event | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_queue: asyncio.Queue | None = None
        self._webhook_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ lifecycle

    MAX_BODY = 32 * 1024 * 1024

    def _reset_events(self) -> None:
        self._event = asyncio.Event()
        self._call_event = asyncio.Event()

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/static/{name:.+}", self._handle_static)

    def _wake_waiters(self) -> None:
        self._wake()

    @property
    def api_url(self) -> str:
        """``{url}/bot{token}``: prefix of every method URL."""
        return f"{self.url}/bot{self.token}"

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )

    async def _read_params(self, request: web.Request) -> tuple[dict, dict]:
        params: dict = dict(request.query)
        files: dict = {}
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                for k, v in form.items():
                    if isinstance(v, web.FileField):
                        files[k] = v.file.read()
                    else:
                        params[k] = v
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]  # case-sensitive, as documented
        if method not in _METHODS:
            return self._error(404, "Not Found")
        try:
            params, files = await self._read_params(request)
        except Exception as exc:
            return self._error(400, f"Bad Request: {exc}")

        if method == "getUpdates":
            try:
                event = await self._get_updates(params)
            except _ApiError as err:
                return self._error(err.code, err.description)
            return web.json_response({"ok": True, "result": event}, dumps=_dumps)

        call = ZaloCall(method, params, files, time.monotonic())
        try:
            self._apply_faults(method, params)
            result = getattr(self, f"_m_{method}")(params)
        except _ApiError as err:
            call.ok, call.error_code, call.description = False, err.code, err.description
            self._record(call)
            return self._error(err.code, err.description)
        except Exception as exc:  # malformed parameter
            call.ok, call.error_code, call.description = False, 400, f"Bad Request: {exc!r}"
            self._record(call)
            return self._error(400, call.description)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _handle_static(self, request: web.Request) -> web.StreamResponse:
        item = self.static.get(request.match_info["name"])
        if item is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=item[0], content_type=item[1])

    def serve_file(self, name: str, data: bytes, content_type: str | None = None) -> str:
        """Serve ``data`` at ``{url}/static/{name}``; returns that URL."""
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.static[name] = (bytes(data), ctype)
        return f"{self.url}/static/{name}"

    def _record(self, call: ZaloCall) -> None:
        self.sent.append(call)
        if call.method in _SEND_METHODS:
            self._by_chat.setdefault(str(call.params.get("chat_id")), []).append(
                (len(self.sent) - 1, call))
        if self._call_event is not None:
            self._call_event.set()
            self._call_event = asyncio.Event()

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
        self._faults.append({"method": method, "chat_id": chat_id, "code": error_code,
                             "description": description, "times": times})

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_quota(self, remaining: int | None) -> None:
        """Only ``remaining`` more successful sends, then every send gets 429 "Quota exceeded"
        (the free plan's ~3,000 messages/month). None = unlimited."""
        self.quota_remaining = remaining

    def rate_limit(self, per_second: int | None) -> None:
        """Sends beyond ``per_second`` in a rolling second get 429 "Quota exceeded"."""
        self._rate_per_second = per_second
        self._send_times.clear()

    def _apply_faults(self, method: str, params: dict) -> None:
        for f in self._faults:
            if f["method"] not in (None, method):
                continue
            if f["chat_id"] is not None and f["chat_id"] != params.get("chat_id"):
                continue
            f["times"] -= 1
            if f["times"] <= 0:
                self._faults.remove(f)
            raise _ApiError(f["code"], f["description"])
        if method in _SEND_METHODS:
            if self._rate_per_second:
                now = time.monotonic()
                while self._send_times and self._send_times[0] <= now - 1.0:
                    self._send_times.popleft()
                if len(self._send_times) >= self._rate_per_second:
                    raise _ApiError(429, "Quota exceeded")
                self._send_times.append(now)
            if self.quota_remaining is not None and self.quota_remaining <= 0:
                raise _ApiError(429, "Quota exceeded")

    # ------------------------------------------------------------------ getUpdates

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

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
            ev = self._event
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
        self._wake()
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

    def _enqueue_webhook(self, event: dict) -> None:
        if self._webhook_queue is None:
            self._webhook_queue = asyncio.Queue()
        self._webhook_queue.put_nowait(event)
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())

    async def _webhook_worker(self) -> None:
        assert self._webhook_queue is not None
        while True:
            event = await self._webhook_queue.get()
            if not self.webhook["url"]:
                self._queue.append(event)
                self._wake()
                continue
            try:
                status = await self.post_to_webhook(event, wrapped=self.webhook_wrapped)
            except Exception:
                status = 0
            self.webhook_deliveries.append((event.get("message", {}).get("message_id"), status))

    async def post_to_webhook(self, event: dict, url: str | None = None,
                              secret: str | None = None, wrapped: bool = True) -> int:
        """POST ``event`` to ``url`` (default: the webhook set via setWebhook) with header
        ``X-Bot-Api-Secret-Token`` (default: the secret set via setWebhook). ``wrapped`` sends
        ``{"ok": true, "result": event}`` (official sample), else the bare event. Returns the
        HTTP status."""
        target = url or self.webhook["url"]
        if not target:
            raise RuntimeError("no webhook set and no url given")
        token = secret if secret is not None else self.webhook.get("secret_token")
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Bot-Api-Secret-Token"] = token
        body = {"ok": True, "result": event} if wrapped else event
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.post(target, data=_dumps(body), headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=10)) as resp:
            await resp.read()
            return resp.status

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
        self._wake()
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

    # ------------------------------------------------------------------ test helpers

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[ZaloCall]:
        return [c for c in self.sent
                if (method is None or c.method == method) and (ok is None or c.ok == ok)]

    def mark(self) -> int:
        return len(self.sent)

    def messages_to(self, chat_id: str, *, include_failed: bool = False,
                    since: int = 0) -> list[ZaloCall]:
        """Successful sendMessage/sendPhoto/sendSticker calls to ``chat_id``."""
        return [c for i, c in self._by_chat.get(str(chat_id), ())
                if i >= since and (include_failed or c.ok)]

    def last_message(self, chat_id: str) -> ZaloCall | None:
        msgs = self.messages_to(chat_id)
        return msgs[-1] if msgs else None

    async def wait_for(self, predicate: Callable[[ZaloCall], bool], timeout: float = 5, *,
                       since: int = 0) -> ZaloCall:
        deadline = time.monotonic() + timeout
        idx = since
        while True:
            while idx < len(self.sent):
                c = self.sent[idx]
                idx += 1
                if predicate(c):
                    return c
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"wait_for timed out after {timeout}s; last calls: {self._summary()}")
            await self._wait_call(remaining)

    async def wait_messages(self, chat_id: str, count: int, timeout: float = 5, *,
                            since: int = 0) -> list[ZaloCall]:
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages_to(chat_id, since=since)
            if len(msgs) >= count:
                return msgs
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} messages to {chat_id}, got {len(msgs)}: "
                    f"{[m.text for m in msgs]}; last calls: {self._summary()}")
            await self._wait_call(remaining)

    async def _wait_call(self, remaining: float) -> None:
        ev = self._call_event
        if ev is None:
            await asyncio.sleep(min(remaining, 0.05))
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ev.wait(), min(remaining, 1.0))

    def _summary(self, n: int = 8) -> str:
        return "; ".join(
            f"{c.method}({c.params.get('chat_id')!r}, {str(c.text)[:40]!r})"
            f"{'' if c.ok else ' -> ' + str(c.error_code)}" for c in self.sent[-n:]) or "(none)"

    def reset(self) -> None:
        self.sent.clear()
        self._by_chat.clear()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
