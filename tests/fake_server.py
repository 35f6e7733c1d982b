"""What the fake Telegram and Zalo Bot API servers share: an aiohttp server on 127.0.0.1 that
records every call, injects faults and rate limits, delivers to a webhook, and the ``wait_*``
helpers the tests await."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Call:
    """One Bot API request the bot made (getUpdates polls are not recorded)."""

    method: str
    params: dict
    files: dict = field(default_factory=dict)  # part name -> bytes
    time: float = 0.0  # time.monotonic()
    ok: bool = True
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """``text`` (sendMessage/editMessageText) or ``caption`` (media sends)."""
        if "text" in self.params:
            return self.params["text"]
        return self.params.get("caption")


class ApiError(Exception):
    """A method's failure, answered as ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def error_response(code: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


def window_full(times: collections.deque, limit: int, now: float) -> bool:
    """Forget the sends older than a second; True when ``limit`` remain in that second."""
    while times and times[0] <= now - 1.0:
        times.popleft()
    return len(times) >= limit


class FakeBotServer:
    """Start/stop of a fake Bot API server, the record of calls and the wait helpers; subclasses
    add their routes and methods and wake their waiters."""

    MAX_BODY = 32 * 1024 * 1024
    MESSAGE_METHODS: frozenset[str] = frozenset()  # the calls messages_to() lists
    WEBHOOK_ATTEMPTS = 1  # deliveries of one update before it is dropped
    WEBHOOK_RETRY_PAUSE = 0.0  # seconds after a failed delivery
    DOWNLOAD_ROUTE = ""  # GET route of the files the fake serves (_handle_download)

    def __init__(self, token: str, *, host: str = "127.0.0.1", port: int = 0,
                 auto_deliver_webhook: bool = True) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.url = ""  # "http://127.0.0.1:<port>" after start()
        self.auto_deliver_webhook = auto_deliver_webhook
        self.sent: list[Call] = []
        self.webhook_deliveries: list[tuple[Any, int]] = []  # (update id, HTTP status)
        self._by_chat: dict[Any, list[tuple[int, Call]]] = {}  # messages_to index
        self._faults: list[dict] = []
        self._rate_per_second: int | None = None
        self._send_times: collections.deque = collections.deque()
        self._call_event: asyncio.Event | None = None  # set at every recorded call
        self._update_event: asyncio.Event | None = None  # set when long polls should look again
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_queue: asyncio.Queue | None = None
        self._webhook_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ what subclasses give

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    def _chat_key(self, chat_id: Any) -> Any:
        """How calls are indexed by chat in messages_to()."""
        return chat_id

    def _back_to_polling(self, update: dict) -> None:
        """An update queued for the webhook while the webhook was deleted: getUpdates hands it out."""
        raise NotImplementedError

    def _post_webhook(self, update: dict) -> Awaitable[int]:
        raise NotImplementedError

    def _delivery_id(self, update: dict) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle

    async def start(self):
        self._call_event = asyncio.Event()  # fresh events, made in the running loop
        self._update_event = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=self.MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", self.DOWNLOAD_ROUTE, self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"
        return self

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()  # release every long poll so that stop() is prompt
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

    def _wake_pollers(self) -> None:
        if self._update_event is not None:
            self._update_event.set()
            self._update_event = asyncio.Event()

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[dict, dict, dict]:
        """Query string plus JSON, multipart or form body: (params, files, file names)."""
        params: dict = dict(request.query)
        files: dict = {}
        filenames: dict = {}
        ctype = request.content_type
        if request.method == "POST" and request.can_read_body:
            if ctype == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if part.filename is not None:
                        files[part.name] = bytes(await part.read(decode=False))
                        filenames[part.name] = part.filename
                    else:
                        params[part.name] = await part.text()
            else:
                form = await request.post()
                for k, v in form.items():
                    if isinstance(v, web.FileField):
                        files[k] = v.file.read()
                        filenames[k] = v.filename
                    else:
                        params[k] = v
        return params, files, filenames

    async def _answer(self, call: Call, method: Callable[[], Any]) -> web.Response:
        """Run one recorded method call (faults first) and answer with the API's envelope."""
        try:
            self._apply_faults(call.method, call.params)
            result = method()
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as err:
            call.ok, call.error_code, call.description = False, err.code, err.description
            self._record(call)
            return error_response(err.code, err.description, err.parameters)
        except Exception as exc:  # a bug in the fake or a wildly malformed parameter
            call.ok, call.error_code, call.description = False, 400, f"Bad Request: {exc!r}"
            self._record(call)
            return error_response(400, call.description)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result}, dumps=dumps)

    def _record(self, call: Call) -> None:
        self.sent.append(call)
        if call.method in self.MESSAGE_METHODS:
            self._by_chat.setdefault(self._chat_key(call.params.get("chat_id")), []).append(
                (len(self.sent) - 1, call)
            )
        if self._call_event is not None:
            self._call_event.set()
            self._call_event = asyncio.Event()

    # ------------------------------------------------------------------ faults

    def _add_fault(self, method: str | None, chat_id: Any, error_code: int, description: str,
                   times: int, retry_after: int | None = None) -> None:
        self._faults.append(
            {
                "method": method,
                "chat_id": chat_id,
                "code": error_code,
                "description": description,
                "retry_after": retry_after,
                "times": times,
            }
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def _apply_faults(self, method: str, params: dict) -> None:
        """Raise the first planned fault that matches this call (see fail_next)."""
        chat_id = params.get("chat_id")
        for f in self._faults:
            if f["method"] not in (None, method):
                continue
            if f["chat_id"] is not None and f["chat_id"] != chat_id:
                continue
            f["times"] -= 1
            if f["times"] <= 0:
                self._faults.remove(f)
            extra = {"retry_after": f["retry_after"]} if f["retry_after"] is not None else None
            raise ApiError(f["code"], f["description"], extra)

    # ------------------------------------------------------------------ webhook delivery

    def _enqueue_webhook(self, update: dict) -> None:
        if self._webhook_queue is None:
            self._webhook_queue = asyncio.Queue()
        self._webhook_queue.put_nowait(update)
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())

    async def _webhook_worker(self) -> None:
        assert self._webhook_queue is not None
        while True:
            update = await self._webhook_queue.get()
            if not self.webhook["url"]:
                self._back_to_polling(update)
                continue
            for _attempt in range(self.WEBHOOK_ATTEMPTS):
                try:
                    status = await self._post_webhook(update)
                except Exception:
                    status = 0
                self.webhook_deliveries.append((self._delivery_id(update), status))
                if 200 <= status < 300:
                    break
                if self.WEBHOOK_RETRY_PAUSE:
                    await asyncio.sleep(self.WEBHOOK_RETRY_PAUSE)

    async def _post_json(self, url: str | None, data: str, secret_header: str,
                         secret: str | None) -> int:
        """POST ``data`` to ``url`` (default: the webhook set by setWebhook) with the secret
        header (default: the secret set by setWebhook). Returns the HTTP status."""
        target = url or self.webhook["url"]
        if not target:
            raise RuntimeError("no webhook set and no url given")
        headers = {"Content-Type": "application/json"}
        token = secret if secret is not None else self.webhook.get("secret_token")
        if token:
            headers[secret_header] = token
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        async with self._session.post(
            target, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            await resp.read()
            return resp.status

    # ------------------------------------------------------------------ test helpers

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list:
        """Recorded calls, optionally filtered by method and success."""
        return [
            c for c in self.sent
            if (method is None or c.method == method) and (ok is None or c.ok == ok)
        ]

    def mark(self) -> int:
        """Current position in ``sent``; pass as ``since=`` to wait only for newer calls."""
        return len(self.sent)

    def messages_to(self, chat_id: Any, *, include_failed: bool = False, since: int = 0) -> list:
        """Successful message sends (MESSAGE_METHODS) to ``chat_id``."""
        return [
            c for i, c in self._by_chat.get(self._chat_key(chat_id), ())
            if i >= since and (include_failed or c.ok)
        ]

    def last_message(self, chat_id: Any):
        msgs = self.messages_to(chat_id)
        return msgs[-1] if msgs else None

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5, *,
                       since: int = 0):
        """Wait until a recorded call (at index >= since) satisfies ``predicate``; return it."""
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
                raise AssertionError(
                    f"wait_for timed out after {timeout}s; last calls: {self._summary()}"
                )
            await self._wait_call(remaining)

    async def wait_messages(self, chat_id: Any, count: int, timeout: float = 5, *,
                            since: int = 0) -> list:
        """Wait until at least ``count`` messages (see messages_to) went to ``chat_id``."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages_to(chat_id, since=since)
            if len(msgs) >= count:
                return msgs
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} messages to {chat_id}, got {len(msgs)}: "
                    f"{[m.text for m in msgs]}; last calls: {self._summary()}"
                )
            await self._wait_call(remaining)

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 5) -> None:
        """Wait until no call has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = len(self.sent)
            await asyncio.sleep(quiet)
            if len(self.sent) == n:
                return
        raise AssertionError("bot never went idle")

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
            f"{'' if c.ok else ' -> ' + str(c.error_code)}"
            for c in self.sent[-n:]
        ) or "(none)"

    def reset(self) -> None:
        """Forget recorded calls (not state such as messages, files, webhook)."""
        self.sent.clear()
        self._by_chat.clear()
