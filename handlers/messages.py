"""Platform-neutral message types: what a channel hands the router and what it gets back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import escape

from content.text import clean_text


def esc(text: str | None) -> str:
    """``text`` safe inside a Telegram-HTML message (``<``, ``>``, ``&`` escaped)."""
    return escape(text or "", quote=False)


@dataclass(frozen=True)
class Attachment:
    """A file the user sent: a photo or a document, already downloaded by the channel."""

    kind: str  # "photo" or "document"
    data: bytes
    filename: str = ""
    mime_type: str = ""


@dataclass
class Incoming:
    """One thing a user did: a text, a command, a pressed button or a sent file."""

    platform: str  # "telegram", "zalo" or "console"
    user_id: str  # the platform's user id, as a string
    chat_id: str
    display_name: str = ""
    text: str = ""
    command: str | None = None  # "start" for "/start", without the slash
    args: str = ""  # what follows the command
    button: str | None = None  # the data of a pressed button
    attachments: list[Attachment] = field(default_factory=list)
    language_code: str | None = None  # the platform's hint for a new user
    update_id: str | None = None  # the platform's id of this event, for de-duplication
    prepared: dict = field(default_factory=dict)  # results of Registry.prepare, read by the handlers

    def __post_init__(self) -> None:
        # The boundary where text enters from a channel: no control character goes further.
        self.text, self.args = clean_text(self.text), clean_text(self.args)
        self.display_name = clean_text(self.display_name)
        if any(clean_text(a.filename) != a.filename for a in self.attachments):
            self.attachments = [replace(a, filename=clean_text(a.filename)) for a in self.attachments]

    @classmethod
    def from_text(cls, platform: str, user_id: str, chat_id: str, text: str, **kw) -> Incoming:
        """Build an Incoming from typed text, splitting off a leading /command."""
        text = text or ""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            name = head.split("@", 1)[0].lower()
            if name and all(ch.isalnum() or ch == "_" for ch in name):
                return cls(platform, user_id, chat_id, text=text, command=name, args=rest.strip(), **kw)
        return cls(platform, user_id, chat_id, text=text, **kw)


@dataclass(frozen=True)
class Button:
    """An option the user can choose; ``data`` is a short id (≤ 64 bytes), never free text."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"button data over 64 bytes: {self.data!r}")


@dataclass
class Reply:
    """One message back: text (Telegram HTML), optional buttons, photo or document."""

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    photo: bytes | None = None
    document: bytes | None = None
    filename: str = ""
    locale: str = ""  # the UI language it was written in; set by the router
    # Builds ``document`` after the transaction, in a thread (a large export must not hold the
    # loop or a lock); the router calls it before the reply leaves.
    build: Callable[[], bytes] | None = None

    def all_buttons(self) -> list[Button]:
        """The buttons in reading order, as numbered for text-only channels."""
        return [b for row in self.buttons for b in row]


async def build_documents(replies: list[Reply]) -> list[Reply]:
    """Build the deferred documents of ``replies``, each in a thread, off the event loop."""
    for reply in replies:
        if reply.build is not None:
            reply.document, reply.build = await asyncio.to_thread(reply.build), None
    return replies


class DeliveryError(Exception):
    """A channel could not deliver a message; the outbox decides what to do next."""


class RecipientGone(DeliveryError):
    """The user blocked the bot or the chat no longer exists: stop sending to them."""


class RateLimited(DeliveryError):
    """The platform asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after
