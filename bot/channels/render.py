"""Rendering shared by the text-only channels (terminal and Zalo): HTML to plain text, numbered options."""

from __future__ import annotations

import html
import re

from handlers.i18n import _, use_locale
from handlers.messages import Reply

_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(text: str) -> str:
    """Telegram HTML to plain text: links become "label (url)", other tags vanish."""

    def link(match: re.Match) -> str:
        url, label = match.group(1), _TAG.sub("", match.group(2))
        return url if label.strip() in (url, url.split("//", 1)[-1]) else f"{label} ({url})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))


def numbered_options(reply: Reply) -> str:
    """The buttons of ``reply`` as numbered lines, with a hint on how to answer."""
    buttons = reply.all_buttons()
    if not buttons:
        return ""
    lines = [f"{i}. {button.label}" for i, button in enumerate(buttons, 1)]
    numbers = ", ".join(str(i) for i in range(1, len(buttons) + 1))
    lines.append(_("(Reply with a number: {numbers})").format(numbers=numbers))
    return "\n".join(lines)


def reply_as_text(reply: Reply) -> str:
    parts = [html_to_text(reply.text)] if reply.text else []
    with use_locale(reply.locale or "vi"):
        options = numbered_options(reply)
    if options:
        parts.append(options)
    return "\n".join(parts)


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, on paragraph boundaries first."""
    chunks: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            if cut <= 0:
                cut = paragraph.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
            chunks.append(paragraph[:cut].rstrip())
            paragraph = paragraph[cut:].lstrip()
        current = paragraph
    if current:
        chunks.append(current)
    return chunks
