"""The chat platforms: each module turns platform updates into ``Incoming`` and ``Reply`` back."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.media import MediaStore


def build_channels(app, media: MediaStore | None, public_url: str, *, webhook: bool) -> list[Channel]:
    """The channels whose token is set (a new platform: its own module and one line here)."""
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import ZaloChannel

    kinds = (TelegramChannel, ZaloChannel)
    return [channel for kind in kinds
            if (channel := kind.from_settings(app, media, public_url, webhook=webhook)) is not None]
