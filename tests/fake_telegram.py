"""A fake Telegram Bot API server for end-to-end tests (real HTTP on 127.0.0.1).

The REAL python-telegram-bot ``Application`` talks to it over HTTP::

    async with FakeTelegram() as fake:
        app = (ApplicationBuilder().token(fake.token)
               .base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot").build())
        ...
        fake.user_sends_text(42, "/start")
        msgs = await fake.wait_messages(42, 1)

Everything lives in the test's event loop; the client API (``user_sends_*``, ``fail_next``,
``rate_limit``...) is plain synchronous code except the ``wait_*`` / webhook helpers.

Behaviour copied from the real API (see /work/shared/platforms.md, section B):
* envelope ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": N, "description": ...}``;
* getUpdates long poll with ``offset`` confirmation, ``limit`` (1..100), ``timeout``; 409 while a
  webhook is set, and 409 for the *older* request when two getUpdates overlap;
* text 1..4096 (counted in UTF-16 units after entity parsing), caption <= 1024,
  callback_data 1..64 bytes, HTML parse_mode validated (tags Telegram supports only),
  light MarkdownV2 validation (unescaped reserved characters), "message is not modified";
* method names are case-insensitive, parameters may come as JSON, form or multipart.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.fake_server import ApiError as _ApiError
from tests.fake_server import Call as BaseCall
from tests.fake_server import FakeBotServer, error_response, window_full

__all__ = ["Call", "FakeTelegram", "TelegramHTMLError", "check_telegram_html"]


# --------------------------------------------------------------------------- records


@dataclass
class Call(BaseCall):
    """One Bot API request the bot made (getUpdates polls are not recorded)."""

    filenames: dict = field(default_factory=dict)  # part name -> uploaded filename

    @property
    def reply_markup(self) -> dict | None:
        rm = self.params.get("reply_markup")
        return rm if isinstance(rm, dict) else None


class TelegramHTMLError(ValueError):
    """Raised by :func:`check_telegram_html`; the message mimics Telegram's description."""


# --------------------------------------------------------------------------- HTML validation

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}
_NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}


class _TgHTMLChecker(HTMLParser):
    def __init__(self, source: str):
        super().__init__(convert_charrefs=False)
        self.source = source
        self.stack: list[str] = []
        self.plain: list[str] = []
        self._line_starts = [0]
        for m in re.finditer("\n", source):
            self._line_starts.append(m.end())

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        idx = self._line_starts[line - 1] + col
        return len(self.source[:idx].encode("utf-8"))

    def _fail(self, msg: str) -> None:
        raise TelegramHTMLError(f"Bad Request: can't parse entities: {msg}")

    def handle_starttag(self, tag, attrs):
        if tag not in _ALLOWED_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        attrs_d = dict(attrs)
        if tag == "span" and (attrs_d.get("class") or "") != "tg-spoiler":
            self._fail(f'Unsupported start tag "span" at byte offset {self._byte_offset()}')
        if tag == "tg-emoji" and not attrs_d.get("emoji-id"):
            self._fail(f'Unsupported start tag "tg-emoji" at byte offset {self._byte_offset()}')
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        # "<br/>" and friends: Telegram has no void tags.
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag):
        if not self.stack:
            self._fail(f'Unexpected end tag at byte offset {self._byte_offset()}')
        expected = self.stack[-1]
        if tag != expected:
            self._fail(
                f'Unmatched end tag at byte offset {self._byte_offset()}, '
                f'expected "</{expected}>", found "</{tag}>"'
            )
        self.stack.pop()

    def handle_data(self, data):
        if "<" in data:
            self._fail(
                "Unsupported start tag at byte offset "
                f"{self._byte_offset() + len(data[: data.index('<')].encode())}"
            )
        self.plain.append(data)

    def handle_entityref(self, name):
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};" at byte offset {self._byte_offset()}')
        self.plain.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        self.plain.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data):
        self._fail(f"Unsupported start tag \"!--\" at byte offset {self._byte_offset()}")

    def handle_decl(self, decl):
        self._fail(f"Unsupported start tag \"!\" at byte offset {self._byte_offset()}")

    def handle_pi(self, data):
        self._fail(f"Unsupported start tag \"?\" at byte offset {self._byte_offset()}")

    def unknown_decl(self, data):
        self._fail(f"Unsupported start tag \"!\" at byte offset {self._byte_offset()}")


@functools.lru_cache(maxsize=4096)
def check_telegram_html(text: str) -> str:
    """Validate ``text`` as Telegram HTML; return the plain text. Raises TelegramHTMLError.

    Memoised (a bot sends the same guide many times; errors are not cached): the real Bot API
    does this work on Telegram's servers, so in a benchmark it should cost the bot's process
    as little as possible.
    """
    p = _TgHTMLChecker(text)
    p.feed(text)
    p.close()
    # HTMLParser keeps an incomplete "<b" or "&amp" in rawdata after close() only in odd cases;
    # anything left unparsed means a broken tag.
    if p.rawdata:
        rest = p.rawdata
        if "<" in rest:
            raise TelegramHTMLError(
                "Bad Request: can't parse entities: Unclosed start tag at byte offset "
                f"{len(text.encode()) - len(rest.encode())}"
            )
        p.plain.append(rest)
    if p.stack:
        raise TelegramHTMLError(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{p.stack[-1]}"'
        )
    return "".join(p.plain)


_MDV2_ALWAYS_ESCAPE = set(".-=+#{}!")


def check_markdown_v2(text: str) -> str:
    """Light MarkdownV2 check: reserved characters that never start an entity must be escaped.

    Returns an approximation of the plain text (markup characters removed)."""
    out = []
    i, n = 0, len(text)
    in_code = False  # inside `...` or ```...```
    in_url = False  # inside the (...) of an inline link
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n:
                out.append(text[i + 1])
            i += 2
            continue
        if in_code:
            if text.startswith("```", i):
                in_code = False
                i += 3
                continue
            if ch == "`":
                in_code = False
            else:
                out.append(ch)
            i += 1
            continue
        if in_url:
            if ch == ")":
                in_url = False
            i += 1
            continue
        if ch == "`":
            in_code = True
            i += 3 if text.startswith("```", i) else 1
            continue
        if ch == "]" and i + 1 < n and text[i + 1] == "(":
            in_url = True
            i += 2
            continue
        if ch == "!" and i + 1 < n and text[i + 1] == "[":
            i += 1
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if ch in _MDV2_ALWAYS_ESCAPE or ch in "()>":
            b = len(text[:i].encode("utf-8"))
            raise TelegramHTMLError(
                f"Bad Request: can't parse entities: Character '{ch}' is reserved and must be "
                f"escaped with the preceding '\\' (byte offset {b})"
            )
        if ch in "*_~|[]":
            i += 1
            continue
        out.append(ch)
        i += 1
    if in_code:
        raise TelegramHTMLError(
            "Bad Request: can't parse entities: Can't find end of Pre entity at byte offset "
            f"{len(text.encode())}"
        )
    return "".join(out)


def check_markdown_legacy(text: str) -> str:
    """Legacy "Markdown": every *, _, ` and [ that opens an entity must be closed."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            out.append(text[i + 1])
            i += 2
            continue
        if ch in "*_`[":
            closer = {"[": "]"}.get(ch, ch)
            if ch == "`" and text.startswith("```", i):
                end = text.find("```", i + 3)
                width = 3
            else:
                end = text.find(closer, i + 1)
                width = 1
            if end < 0:
                b = len(text[:i].encode("utf-8"))
                raise TelegramHTMLError(
                    "Bad Request: can't parse entities: Can't find end of the entity starting "
                    f"at byte offset {b}"
                )
            out.append(text[i + width:end])
            i = end + width
            if ch == "[" and i < n and text[i] == "(":
                close = text.find(")", i)
                i = close + 1 if close >= 0 else n
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- parameter parsing

# Parameters that are plain strings and must never be JSON-decoded from form fields.
_STRING_PARAMS = {
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "action",
    "language_code", "file_id", "inline_message_id", "description", "short_description",
    "name", "title", "query", "emoji", "ip_address", "business_connection_id",
    "message_effect_id", "photo", "document", "audio", "video", "voice", "animation",
    "sticker", "video_note", "thumbnail", "address", "first_name", "last_name",
    "phone_number", "vcard", "question", "explanation", "payload", "currency",
    "provider_token", "start_parameter", "custom_title", "invite_link",
}

_SEND_METHODS = {
    "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendAnimation",
    "sendVoice", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendVenue",
    "sendContact", "sendPoll", "sendDice", "sendSticker", "sendInvoice", "copyMessage",
    "forwardMessage", "copyMessages", "forwardMessages",
}
_MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "editMessageText"}

_KNOWN_METHODS = [
    "getMe", "getUpdates", "sendMessage", "editMessageText", "editMessageReplyMarkup",
    "editMessageCaption", "answerCallbackQuery", "sendPhoto", "sendDocument", "getFile",
    "sendChatAction", "setMyCommands", "getMyCommands", "deleteMyCommands", "setWebhook",
    "deleteWebhook", "getWebhookInfo", "close", "logOut", "deleteMessage",
] + sorted(_SEND_METHODS)
_CANONICAL = {m.lower(): m for m in _KNOWN_METHODS}


def _decode_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    s = value.strip()
    if not s:
        return value
    if s[0] in "{[" or s in ("true", "false", "null") or re.fullmatch(r"-?\d+(\.\d+)?", s):
        try:
            return json.loads(s)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- the fake


class FakeTelegram(FakeBotServer):
    """Fake Telegram Bot API server. See the module docstring."""

    BOT_USERNAME = "hatinh_test_bot"
    BOT_FIRST_NAME = "HaTinh Test Bot"

    def __init__(self, token: str = "123:TEST", **server: Any):
        super().__init__(token, **server)
        try:
            self.bot_id = int(token.split(":", 1)[0])
        except ValueError:
            self.bot_id = 123
        self.bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.BOT_FIRST_NAME,
            "username": self.BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

        self.updates_log: dict[int, dict] = {}  # every update ever injected, by update_id
        self.delivered_count = 0  # updates handed out by getUpdates (counting re-deliveries)
        self.webhook: dict = {"url": "", "secret_token": None}
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope json, lang) -> commands
        self.files: dict[str, dict] = {}  # file_id -> {data, file_path, file_unique_id, ...}
        self.messages: dict[tuple[Any, int], dict] = {}  # (chat_id, message_id) -> Message
        self.last_bot_message: dict[Any, dict] = {}  # chat_id -> last Message the bot sent
        self.callback_queries: dict[str, dict] = {}  # id -> {"answered": bool, ...}
        self.blocked: set = set()  # chat ids that blocked the bot: every send -> 403
        self.rate_limited_count = 0  # 429s produced by rate_limit()

        self._queue: list[list] = []  # [update_id, update, forced]
        self._next_update_id = 1
        self._msg_ids: dict[Any, itertools.count] = {}
        self._file_seq = itertools.count(1)
        self._cbq_seq = itertools.count(1)
        self._rate_per_chat: float | None = None
        self._chat_send_times: dict[Any, collections.deque] = {}
        self._poll_generation = 0

    # ------------------------------------------------------------------ lifecycle

    MAX_BODY = 64 * 1024 * 1024
    MESSAGE_METHODS = frozenset(_MESSAGE_METHODS)
    WEBHOOK_ATTEMPTS = 3
    WEBHOOK_RETRY_PAUSE = 0.2

    DOWNLOAD_ROUTE = "/file/bot{token}/{path:.+}"

    def app_builder(self):
        """``ApplicationBuilder`` preset with this fake's token, base_url and base_file_url."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder().token(self.token).base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    # ------------------------------------------------------------------ HTTP plumbing

    async def _read_params(self, request: web.Request) -> tuple[dict, dict, dict]:
        params, files, filenames = await self._read_body(request)
        # Empty form fields count as absent (as in the real API).
        params = {k: _decode_value(k, v) for k, v in params.items() if v != ""}
        # Resolve attach://name references to uploaded parts.
        for k, v in list(params.items()):
            if isinstance(v, str) and v.startswith("attach://"):
                name = v[len("attach://"):]
                if name in files:
                    files[k] = files.pop(name)
                    filenames[k] = filenames.pop(name, k)
                    params[k] = None
        for k in files:
            params.setdefault(k, None)
        return params, files, filenames

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return error_response(401, "Unauthorized")
        raw_method = request.match_info["method"]
        method = _CANONICAL.get(raw_method.lower(), raw_method)
        try:
            params, files, filenames = await self._read_params(request)
        except Exception as exc:  # malformed body
            return error_response(400, f"Bad Request: can't parse request: {exc}")

        if method == "getUpdates":
            try:
                result = await self._get_updates(params)
            except _ApiError as err:
                return error_response(err.code, err.description, err.parameters)
            return web.Response(
                text='{"ok":true,"result":' + json.dumps(result, ensure_ascii=False) + "}",
                content_type="application/json",
            )

        call = Call(method, params, files, time.monotonic(), filenames=filenames)
        handler = getattr(self, f"_m_{method}", None)
        return await self._answer(
            call, lambda: handler(params, files, filenames) if handler else True
        )

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for f in self.files.values():
            if f["file_path"] == path:
                return web.Response(body=f["data"], content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # ------------------------------------------------------------------ faults / rate limit

    def fail_next(
        self,
        method: str | None,
        *,
        chat_id: Any = None,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (None = any method; optionally only those
        with this chat_id) fail with ``error_code``. Default descriptions: 429 "Too Many Requests:
        retry after N" (+ parameters.retry_after), 403 "Forbidden: bot was blocked by the user",
        400 "Bad Request: chat not found"."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
                409: "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
                401: "Unauthorized",
                500: "Internal Server Error",
            }.get(error_code, "Error")
        canon = _CANONICAL.get(method.lower(), method) if method else None
        self._add_fault(canon, chat_id, error_code, description, times,
                        retry_after if error_code == 429 else None)

    def rate_limit(self, per_second: int | None, *, per_chat_per_second: float | None = None):
        """Global budget: sends beyond ``per_second`` in any rolling second get 429
        (retry_after=1). Optional per-chat budget likewise. ``None`` disables."""
        self._rate_per_second = per_second
        self._rate_per_chat = per_chat_per_second
        self._send_times.clear()
        self._chat_send_times.clear()

    def block(self, chat_id: Any) -> None:
        """From now on every send to ``chat_id`` gets 403 "bot was blocked by the user"."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: Any) -> None:
        self.blocked.discard(chat_id)

    def _apply_faults(self, method: str, params: dict) -> None:
        super()._apply_faults(method, params)
        chat_id = params.get("chat_id")
        if method in _SEND_METHODS and chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if method in _SEND_METHODS and (self._rate_per_second or self._rate_per_chat):
            now = time.monotonic()
            cdq = self._chat_send_times.setdefault(chat_id, collections.deque())
            if (self._rate_per_second and window_full(self._send_times, self._rate_per_second, now)) or (
                self._rate_per_chat and window_full(cdq, self._rate_per_chat, now)
            ):
                self.rate_limited_count += 1
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            if self._rate_per_chat:
                cdq.append(now)
            if self._rate_per_second:
                self._send_times.append(now)

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: dict) -> list:
        if self.webhook["url"]:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._apply_faults("getUpdates", params)
        try:
            offset = params.get("offset")
            offset = None if offset is None else int(offset)
            limit = max(1, min(100, int(params.get("limit") or 100)))
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: invalid getUpdates parameters") from None
        allowed = params.get("allowed_updates") or None

        self._poll_generation += 1
        my_generation = self._poll_generation
        self._wake_pollers()  # an older overlapping request gets its 409 now

        if offset is not None:
            if offset < 0:
                # Negative offset: keep only the last -offset updates, forget the rest.
                self._queue = self._queue[offset:] if -offset < len(self._queue) else self._queue
            else:
                self._queue = [q for q in self._queue if q[0] >= offset or q[2]]

        deadline = time.monotonic() + timeout
        while True:
            if my_generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            if self._queue and not self._closing:
                batch = []
                for q in self._queue:
                    if allowed and not any(k in q[1] for k in allowed):
                        continue
                    batch.append(q)
                    if len(batch) >= limit:
                        break
                if batch:
                    forced = [q for q in batch if q[2]]
                    if forced:  # re-deliveries are handed out once, then forgotten
                        ids = {id(q) for q in forced}
                        self._queue = [q for q in self._queue if id(q) not in ids]
                    batch.sort(key=lambda q: q[0])
                    self.delivered_count += len(batch)
                    return [q[1] for q in batch]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                return []
            event = self._update_event
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ------------------------------------------------------------------ injecting updates

    def inject_raw_update(self, update: dict, *, copies: int = 1) -> int:
        """Queue a raw update dict. Without ``update_id`` the next id is assigned. An update that
        already has an ``update_id`` (e.g. re-injected from ``updates_log``) is a *re-delivery*:
        it is handed out once even if that id was already confirmed. ``copies=2`` queues it twice
        (both copies are delivered, in one or two getUpdates batches) -> de-duplication tests."""
        update = dict(update)
        forced = "update_id" in update
        if not forced:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        else:
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        uid = update["update_id"]
        self.updates_log.setdefault(uid, update)
        cq = update.get("callback_query")
        if isinstance(cq, dict) and cq.get("id") and str(cq["id"]) not in self.callback_queries:
            self.callback_queries[str(cq["id"])] = {
                "answered": False, "user_id": cq.get("from", {}).get("id"), "answer": None}
        for i in range(copies):
            if self.webhook["url"] and self.auto_deliver_webhook:
                self._enqueue_webhook(update)
            else:
                self._queue.append([uid, update, forced or i > 0])
        self._wake_pollers()
        return uid

    def redeliver(self, update_id: int) -> int:
        """Deliver an already injected update again (same update_id)."""
        return self.inject_raw_update(self.updates_log[update_id])

    @property
    def pending_updates(self) -> int:
        return len(self._queue)

    def _next_message_id(self, chat_id: Any) -> int:
        ctr = self._msg_ids.get(chat_id)
        if ctr is None:
            ctr = self._msg_ids[chat_id] = itertools.count(1)
        return next(ctr)

    @staticmethod
    def _user(user_id: int, first_name: str, language_code: str | None, username=None) -> dict:
        u = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            u["username"] = username
        if language_code:
            u["language_code"] = language_code
        return u

    def _user_message(self, user_id, first_name, language_code, username=None, **content):
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        msg = {
            "message_id": self._next_message_id(user_id),
            "from": self._user(user_id, first_name, language_code, username),
            "chat": chat,
            "date": int(time.time()),
        }
        msg.update(content)
        self.messages[(user_id, msg["message_id"])] = msg
        return msg

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        language_code: str | None = "vi",
        username: str | None = None,
    ) -> int:
        """A private-chat text message from ``user_id`` (chat.id == user_id). A leading
        "/command" gets a ``bot_command`` entity. Returns the update_id."""
        content: dict = {"text": text}
        m = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(m.group(0))}
            ]
        msg = self._user_message(user_id, first_name, language_code, username, **content)
        return self.inject_raw_update({"message": msg})

    def user_presses(
        self,
        user_id: int,
        callback_data: str,
        *,
        message_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "vi",
    ) -> int:
        """A callback_query update for a button press. ``message`` is the bot's last message to
        that chat (or ``message_id``). Returns the update_id; the query id is in
        ``callback_queries``."""
        if message_id is not None:
            message = self.messages.get((user_id, message_id))
            if message is None:
                raise KeyError(f"no message {message_id} in chat {user_id}")
        else:
            message = self.last_bot_message.get(user_id)
        cq_id = f"{self.bot_id}{next(self._cbq_seq):010d}"
        cq: dict = {
            "id": cq_id,
            "from": self._user(user_id, first_name, language_code),
            "chat_instance": f"ci{user_id}",
            "data": callback_data,
        }
        if message is not None:
            cq["message"] = message
        self.callback_queries[cq_id] = {"answered": False, "user_id": user_id, "answer": None}
        return self.inject_raw_update({"callback_query": cq})

    def add_file(self, data: bytes, *, kind: str = "documents", filename: str = "file.bin",
                 mime_type: str | None = None) -> dict:
        """Store bytes as a Telegram file; returns the file record (file_id, file_unique_id,
        file_path, file_size)."""
        n = next(self._file_seq)
        ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        rec = {
            "file_id": f"FAKEFILE{n:06d}{'x' * 8}",
            "file_unique_id": f"U{n:06d}",
            "file_size": len(data),
            "file_path": f"{kind}/file_{n}.{ext}",
            "data": bytes(data),
            "filename": filename,
            "mime_type": mime_type,
        }
        self.files[rec["file_id"]] = rec
        return rec

    @staticmethod
    def _image_size(data: bytes) -> tuple[int, int]:
        try:
            import io

            from PIL import Image  # optional

            with Image.open(io.BytesIO(data)) as im:
                return im.size
        except Exception:
            return 800, 600

    def _photo_sizes(self, data: bytes, filename: str = "photo.jpg") -> list[dict]:
        rec = self.add_file(data, kind="photos", filename=filename, mime_type="image/jpeg")
        w, h = self._image_size(data)
        sizes = []
        # Thumbnails share the original bytes; the last (largest) one is the original.
        for scale in (90, 320):
            if max(w, h) > scale:
                f = max(w, h) / scale
                t = self.add_file(data, kind="photos", filename=filename, mime_type="image/jpeg")
                sizes.append(
                    {"file_id": t["file_id"], "file_unique_id": t["file_unique_id"],
                     "file_size": len(data), "width": int(w / f), "height": int(h / f)}
                )
        sizes.append(
            {"file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
             "file_size": len(data), "width": w, "height": h}
        )
        return sizes

    def user_sends_photo(self, user_id: int, data: bytes, caption: str = "", *,
                         first_name: str = "Test", language_code: str | None = "vi") -> int:
        content: dict = {"photo": self._photo_sizes(data)}
        if caption:
            content["caption"] = caption
        msg = self._user_message(user_id, first_name, language_code, **content)
        return self.inject_raw_update({"message": msg})

    def user_sends_document(self, user_id: int, data: bytes, filename: str,
                            mime_type: str = "application/octet-stream", caption: str = "", *,
                            first_name: str = "Test", language_code: str | None = "vi") -> int:
        rec = self.add_file(data, kind="documents", filename=filename, mime_type=mime_type)
        content: dict = {
            "document": {
                "file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
                "file_name": filename, "mime_type": mime_type, "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        msg = self._user_message(user_id, first_name, language_code, **content)
        return self.inject_raw_update({"message": msg})

    def user_blocks_bot(self, user_id: int, *, first_name: str = "Test") -> int:
        """User blocks the bot: a ``my_chat_member`` update (member -> kicked) and every
        later send to that chat gets 403."""
        self.block(user_id)
        return self.inject_raw_update(self._my_chat_member(user_id, first_name, "member", "kicked"))

    def user_unblocks_bot(self, user_id: int, *, first_name: str = "Test") -> int:
        self.unblock(user_id)
        return self.inject_raw_update(self._my_chat_member(user_id, first_name, "kicked", "member"))

    def _my_chat_member(self, user_id, first_name, old, new) -> dict:
        return {
            "my_chat_member": {
                "chat": {"id": user_id, "type": "private", "first_name": first_name},
                "from": self._user(user_id, first_name, None),
                "date": int(time.time()),
                "old_chat_member": {"user": self.bot_user, "status": old},
                "new_chat_member": {"user": self.bot_user, "status": new,
                                    **({"until_date": 0} if new == "kicked" else {})},
            }
        }

    # ------------------------------------------------------------------ webhook delivery

    def _back_to_polling(self, update: dict) -> None:
        self._queue.append([update["update_id"], update, True])
        self._wake_pollers()

    def _post_webhook(self, update: dict):
        return self.post_update_to_webhook(update)

    def _delivery_id(self, update: dict) -> int:
        return update["update_id"]

    async def post_update_to_webhook(
        self, update_dict: dict, url: str | None = None, secret: str | None = None
    ) -> int:
        """POST an update to the webhook URL (default: the one set by setWebhook) with header
        X-Telegram-Bot-Api-Secret-Token (default: the secret set by setWebhook; pass ``secret``
        to send a wrong one). Returns the HTTP status. Does not assign an update_id."""
        return await self._post_json(
            url, json.dumps(update_dict), "X-Telegram-Bot-Api-Secret-Token", secret
        )

    # ------------------------------------------------------------------ method handlers

    def _message(self, chat_id: Any, params: dict, **content) -> dict:
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        msg = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private"}
            if not (isinstance(chat_id, int) and chat_id < 0)
            else {"id": chat_id, "type": "supergroup", "title": "Group"},
            "date": int(time.time()),
        }
        msg.update(content)
        rm = params.get("reply_markup")
        if isinstance(rm, dict) and "inline_keyboard" in rm:
            msg["reply_markup"] = rm
        self.messages[(chat_id, msg["message_id"])] = msg
        self.last_bot_message[chat_id] = msg
        return msg

    @staticmethod
    def _validate_markup(params: dict) -> None:
        rm = params.get("reply_markup")
        if rm is None:
            return
        if not isinstance(rm, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in rm:
            rows = rm["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                     "InlineKeyboardButton must be an Object")
            for row in rows:
                for btn in row:
                    if not isinstance(btn, dict) or not btn.get("text"):
                        raise _ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                             "Text buttons are unallowed in the inline keyboard")
                    if "callback_data" in btn:
                        data = btn["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                            raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    elif "url" in btn:
                        if not re.match(r"(https?|tg)://\S+$", str(btn["url"])):
                            raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    elif not any(k in btn for k in (
                        "login_url", "switch_inline_query", "switch_inline_query_current_chat",
                        "switch_inline_query_chosen_chat", "callback_game", "pay", "web_app",
                        "copy_text",
                    )):
                        raise _ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                             "Text buttons are unallowed in the inline keyboard")

    @staticmethod
    def _parsed_text(text: str, parse_mode: str | None) -> str:
        mode = (parse_mode or "").lower()
        try:
            if mode == "html":
                return check_telegram_html(text)
            if mode == "markdownv2":
                return check_markdown_v2(text)
            if mode == "markdown":
                return check_markdown_legacy(text)
        except TelegramHTMLError as e:
            raise _ApiError(400, str(e)) from None
        return text

    def _check_text(self, params: dict) -> str:
        text = params.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain = self._parsed_text(text, params.get("parse_mode"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return text

    def _check_caption(self, params: dict) -> str | None:
        cap = params.get("caption")
        if cap in (None, ""):
            return None
        plain = self._parsed_text(str(cap), params.get("parse_mode"))
        if _utf16_len(plain) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return str(cap)

    def _m_getMe(self, params, files, filenames):
        return self.bot_user

    def _m_sendMessage(self, params, files, filenames):
        text = self._check_text(params)
        self._validate_markup(params)
        content: dict = {"text": text}
        if params.get("entities"):
            content["entities"] = params["entities"]
        return self._message(params.get("chat_id"), params, **content)

    def _find_message(self, params) -> dict | None:
        """The message an edit names (its new keyboard checked first); None for inline messages."""
        self._validate_markup(params)
        if params.get("inline_message_id"):
            return None
        key = (params.get("chat_id"), params.get("message_id"))
        msg = self.messages.get(key)
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return msg

    def _edit_with_markup(self, params, msg: dict, **fields) -> dict:
        """``msg`` with ``fields`` and the keyboard of ``params``, stored; "message is not
        modified" when neither changes."""
        new_markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else None
        if all(msg.get(k) == v for k, v in fields.items()) and msg.get("reply_markup") == new_markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        msg = dict(msg, **fields, edit_date=int(time.time()))
        msg.pop("reply_markup", None)
        if new_markup and "inline_keyboard" in new_markup:
            msg["reply_markup"] = new_markup
        self._store_edit(msg)
        return msg

    def _m_editMessageText(self, params, files, filenames):
        text = self._check_text(params)
        msg = self._find_message(params)
        return True if msg is None else self._edit_with_markup(params, msg, text=text)

    def _m_editMessageCaption(self, params, files, filenames):
        cap = self._check_caption(params)
        msg = self._find_message(params)
        if msg is None:
            return True
        msg = dict(msg, edit_date=int(time.time()))
        if cap:
            msg["caption"] = cap
        else:
            msg.pop("caption", None)
        self._store_edit(msg)
        return msg

    def _m_editMessageReplyMarkup(self, params, files, filenames):
        msg = self._find_message(params)
        return True if msg is None else self._edit_with_markup(params, msg)

    def _store_edit(self, msg: dict) -> None:
        chat_id = msg["chat"]["id"]
        self.messages[(chat_id, msg["message_id"])] = msg
        last = self.last_bot_message.get(chat_id)
        if last is not None and last["message_id"] == msg["message_id"]:
            self.last_bot_message[chat_id] = msg

    def _m_deleteMessage(self, params, files, filenames):
        key = (params.get("chat_id"), params.get("message_id"))
        if self.messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _m_answerCallbackQuery(self, params, files, filenames):
        cq = self.callback_queries.get(str(params.get("callback_query_id")))
        if cq is None or cq["answered"]:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text") or ""
        if len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        cq["answered"] = True
        cq["answer"] = params
        return True

    def _media_input(self, params, files, filenames, name: str) -> tuple[bytes | None, str]:
        if name in files:
            return files[name], filenames.get(name) or name
        value = params.get(name)
        if isinstance(value, str) and value in self.files:
            rec = self.files[value]
            return rec["data"], rec["filename"]
        if isinstance(value, str) and re.match(r"https?://", value):
            return None, value.rsplit("/", 1)[-1] or name
        if isinstance(value, str) and value:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise _ApiError(400, f"Bad Request: there is no {name} in the request")

    def _m_sendPhoto(self, params, files, filenames):
        data, filename = self._media_input(params, files, filenames, "photo")
        cap = self._check_caption(params)
        self._validate_markup(params)
        content: dict = {"photo": self._photo_sizes(data if data is not None else b"", filename)}
        if cap:
            content["caption"] = cap
        return self._message(params.get("chat_id"), params, **content)

    def _m_sendDocument(self, params, files, filenames):
        data, filename = self._media_input(params, files, filenames, "document")
        cap = self._check_caption(params)
        self._validate_markup(params)
        rec = self.add_file(data or b"", kind="documents", filename=filename)
        content: dict = {
            "document": {
                "file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
                "file_name": filename, "file_size": rec["file_size"],
                "mime_type": _guess_mime(filename),
            }
        }
        if cap:
            content["caption"] = cap
        return self._message(params.get("chat_id"), params, **content)

    def _m_getFile(self, params, files, filenames):
        rec = self.files.get(str(params.get("file_id")))
        if rec is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {k: rec[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    def _m_sendChatAction(self, params, files, filenames):
        if params.get("chat_id") in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if params.get("chat_id") in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if not params.get("action"):
            raise _ApiError(400, "Bad Request: action is empty")
        return True

    @staticmethod
    def _scope_key(params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _m_setMyCommands(self, params, files, filenames):
        cmds = params.get("commands")
        if not isinstance(cmds, list) or len(cmds) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for c in cmds:
            if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params)
        if cmds:
            self.commands[key] = cmds
        else:
            self.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, params, files, filenames):
        return self.commands.get(self._scope_key(params), [])

    def _m_deleteMyCommands(self, params, files, filenames):
        self.commands.pop(self._scope_key(params), None)
        return True

    def get_commands(self, language_code: str = "", scope: dict | None = None) -> list[dict]:
        """Commands stored by setMyCommands for a scope (default scope) and language code."""
        return self.commands.get(
            (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""), []
        )

    def _m_setWebhook(self, params, files, filenames):
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and not re.match(r"https?://", url):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.get("max_connections", 40),
            "allowed_updates": params.get("allowed_updates"),
        }
        if url:
            self._wake_pollers()
            # Updates waiting in the getUpdates queue now go to the webhook.
            if self.auto_deliver_webhook and self._queue:
                pending, self._queue = self._queue, []
                for q in pending:
                    self._enqueue_webhook(q[1])
        return True

    def _m_deleteWebhook(self, params, files, filenames):
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = {"url": "", "secret_token": None}
        return True

    def _m_getWebhookInfo(self, params, files, filenames):
        info = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook["url"]:
            info["max_connections"] = self.webhook.get("max_connections") or 40
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _m_close(self, params, files, filenames):
        return True

    def _m_logOut(self, params, files, filenames):
        return True

    # ------------------------------------------------------------------ test helpers

    @staticmethod
    def buttons(call: Call | dict | None) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard of a call (or a reply_markup / Message dict) as rows of
        (label, callback_data or url)."""
        if call is None:
            return []
        if isinstance(call, Call):
            rm = call.params.get("reply_markup")
        elif "reply_markup" in call:
            rm = call["reply_markup"]
        else:
            rm = call
        if not isinstance(rm, dict):
            return []
        return [
            [(b.get("text"), b.get("callback_data", b.get("url"))) for b in row]
            for row in rm.get("inline_keyboard", [])
        ]


def _guess_mime(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"

