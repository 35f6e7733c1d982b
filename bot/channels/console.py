"""The terminal chat: the same router and handlers, buttons shown as numbered options."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.channels.render import reply_as_text
from handlers.messages import Attachment, Incoming

PROMPT = "> "


async def run_console(app, user_id: str = "1", display_name: str = "", stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """Read one message per line and print the bot's replies until end of input."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        stdout.write("Gõ tin nhắn rồi nhấn Enter (Ctrl+D để thoát). Thử /start\n"
                     "Gửi ảnh: /photo <đường dẫn tệp>\n")
    loop = asyncio.get_running_loop()
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
        incoming = _incoming(user_id, display_name, text)
        for reply in await app.router.handle(incoming):
            stdout.write(reply_as_text(reply) + "\n")
            if reply.photo:
                stdout.write(f"[ảnh: {len(reply.photo)} byte]\n")
            if reply.document:
                stdout.write(f"[tệp: {reply.filename} ({len(reply.document)} byte)]\n")
            stdout.write("\n")
        stdout.flush()


def _incoming(user_id: str, display_name: str, text: str) -> Incoming:
    if text.startswith(("/photo ", "/file ")):
        kind, _, path = text.partition(" ")
        file = Path(path.strip()).expanduser()
        if file.is_file():
            attachment = Attachment("photo" if kind == "/photo" else "document", file.read_bytes(), file.name)
            return Incoming("console", user_id, user_id, display_name=display_name, attachments=[attachment])
    return Incoming.from_text("console", user_id, user_id, text, display_name=display_name)
