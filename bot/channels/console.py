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
from pathlib import Path
from typing import TextIO

from bot.channels.options import remember_options
from bot.channels.render import reply_as_text
from handlers.messages import Attachment, Incoming, Reply

PROMPT = "> "
PLATFORM = "console"


def _write_reply(stdout: TextIO, reply: Reply) -> None:
    stdout.write(reply_as_text(reply) + "\n")
    if reply.photo:
        stdout.write(f"[ảnh: {len(reply.photo)} byte]\n")
    if reply.document:
        stdout.write(f"[tệp: {reply.filename} ({len(reply.document)} byte)]\n")
    stdout.write("\n")


async def run_console(app, user_id: str = "1", display_name: str = "", stdin: TextIO | None = None,
                      stdout: TextIO | None = None, poll: float = 1.0) -> None:
    """Read one message per line and print the bot's replies (and queued messages) until end of input."""
    from bot.outbox import OutboxSender

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

    sender = OutboxSender(app, {PLATFORM: deliver}, rate=0, idle=poll, only_users={user_id})
    await sender.drain()  # what arrived while the terminal was closed
    stop = asyncio.Event()
    background = asyncio.create_task(sender.run(stop)) if interactive else None
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
            if background is None:
                await sender.drain()
    finally:
        stop.set()
        if background is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await background
    await sender.drain()


def _incoming(user_id: str, display_name: str, text: str) -> Incoming:
    if text.startswith(("/photo ", "/file ")):
        kind, _, path = text.partition(" ")
        file = Path(path.strip()).expanduser()
        if file.is_file():
            attachment = Attachment("photo" if kind == "/photo" else "document", file.read_bytes(), file.name)
            return Incoming(PLATFORM, user_id, user_id, display_name=display_name, attachments=[attachment])
    return Incoming.from_text(PLATFORM, user_id, user_id, text, display_name=display_name)
