"""The terminal chat: the same router and handlers, buttons shown as numbered options.

Messages queued for the terminal's user (notifications, answers to reports, help requests) are
printed as the outbox delivers them: at start, after each message, and every second while the
chat waits for input. Two terminals (``--user-id 1`` and ``--user-id 2``) on one database can
so play both sides of a conversation; each prints only its own user's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from bot.channels.options import remember_options
from bot.channels.render import reply_as_text
from handlers.messages import Attachment, Incoming, Reply

PROMPT = "> "
PLATFORM = "console"
Deliver = Callable[[str, Reply], Awaitable[None]]


def _write_reply(stdout: TextIO, reply: Reply) -> None:
    stdout.write(reply_as_text(reply) + "\n")
    if reply.photo:
        stdout.write(f"[ảnh: {len(reply.photo)} byte]\n")
    if reply.document:
        stdout.write(f"[tệp: {reply.filename} ({len(reply.document)} byte)]\n")
    stdout.write("\n")


async def run_console(app, user_id: str = "1", display_name: str = "", stdin: TextIO | None = None,
                      stdout: TextIO | None = None, outbox: Callable[[Deliver], Any] | None = None) -> None:
    """Read one message per line and print the bot's replies until end of input.

    ``outbox(deliver)`` makes the outbox sender of this terminal's user (``bot.outbox.OutboxSender``
    with ``only_users``); without it, queued messages are not printed.
    """
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        stdout.write("Gõ tin nhắn rồi nhấn Enter (Ctrl+D để thoát). Thử /start\n"
                     "Gửi ảnh: /photo <đường dẫn tệp>\n")

    async def deliver(chat_id: str, reply: Reply) -> None:
        stdout.write(("\n" if interactive else "") + "📨 Tin nhắn mới:\n")
        _write_reply(stdout, reply)
        if interactive:
            stdout.write(PROMPT)
        stdout.flush()
        await remember_options(app, PLATFORM, chat_id, reply)

    sender = outbox(deliver) if outbox is not None else None
    if sender is not None:
        await sender.drain()  # what arrived while the terminal was closed
    stop = asyncio.Event()
    background = asyncio.create_task(sender.run(stop)) if interactive and sender is not None else None
    loop = asyncio.get_running_loop()
    try:
        while True:
            if interactive:
                stdout.write(PROMPT)
                stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            text = line.rstrip("\n")
            if not text.strip():
                continue
            for reply in await app.router.handle(_incoming(user_id, display_name, text)):
                _write_reply(stdout, reply)
            stdout.flush()
            if sender is not None and background is None:
                await sender.drain()
    finally:
        stop.set()
        if background is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await background
    if sender is not None:
        await sender.drain()


def _incoming(user_id: str, display_name: str, text: str) -> Incoming:
    if text.startswith(("/photo ", "/file ")):
        kind, _, path = text.partition(" ")
        file = Path(path.strip()).expanduser()
        if file.is_file():
            attachment = Attachment("photo" if kind == "/photo" else "document", file.read_bytes(), file.name)
            return Incoming(PLATFORM, user_id, user_id, display_name=display_name, attachments=[attachment])
    return Incoming.from_text(PLATFORM, user_id, user_id, text, display_name=display_name)
