"""What every chat platform provides to the process: the one channel interface.

The web server (``bot/server.py``) and the outbox sender (``bot/outbox.py``) use channels only
through this interface, so a new platform is its own module plus one line in
:func:`bot.channels.build_channels`.
"""

from __future__ import annotations

from typing import Protocol

from handlers.i18n import _, use_locale
from handlers.messages import Reply


class Channel(Protocol):
    platform: str  # the User.platform value of this channel's users, e.g. "telegram"
    webhook_path: str  # where the web server takes its webhook calls, e.g. "/telegram"
    secret_header: str  # the HTTP header that carries WEBHOOK_SECRET on those calls

    @property
    def running(self) -> bool:
        """True while the channel receives updates (for /healthz)."""

    async def start(self, webhook_url: str = "", secret: str = "") -> None:
        """Start receiving: webhook calls for ``webhook_url`` (checked with ``secret``), or polling."""

    async def set_webhook(self, url: str, secret: str) -> None:
        """Tell the platform to post updates to ``url`` with ``secret`` (one process does it)."""

    async def stop(self) -> None:
        """Stop receiving and release connections; in-flight messages finish first."""

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send a proactive message; raise RecipientGone, RateLimited or DeliveryError."""

    async def on_webhook(self, body: object) -> int:
        """Handle one webhook call whose secret was checked; return the HTTP status to answer."""


class TokenRejected(Exception):
    """The platform refused the bot token (HTTP 401): nothing will work until it is fixed."""


class ChannelUnreachable(Exception):
    """The platform could not be reached to start the channel; worth trying again later."""


def apology(locale: str = "vi") -> str:
    """What a user reads when handling their message failed (the same on every channel)."""
    with use_locale(locale):
        return _("Sorry, something went wrong on our side. Please try again in a moment, "
                 "or send /menu.")
