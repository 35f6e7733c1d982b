"""Files served by our web server, for platforms that only send media by URL (Zalo).

Kept in the database (``db.media``) so that every bot process answers every link; a link
expires after :data:`DEFAULT_TTL`, and the housekeeping job deletes what expired.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media import MediaItem, get_media, put_media

DEFAULT_TTL = 24 * 3600  # seconds a link keeps working


class MediaStore:
    """Bytes under unguessable names (``<token>.<ext>``) that expire."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = DEFAULT_TTL) -> None:
        self.sessions = sessions
        self.ttl = ttl

    async def put(self, data: bytes, content_type: str, extension: str, filename: str = "") -> str:
        """Store ``data``; return its name, e.g. ``"Xk3…Q.png"`` (served at ``/media/<name>``)."""
        name = f"{secrets.token_urlsafe(24)}.{extension.lstrip('.')[:16]}"
        async with self.sessions() as session:
            await put_media(session, name, data, content_type, filename, self.ttl)
            await session.commit()
        return name

    async def get(self, name: str) -> MediaItem | None:
        """The item stored under ``name``, or None when unknown or expired."""
        if len(name) > 64:
            return None
        async with self.sessions() as session:
            return await get_media(session, name)


def image_type(data: bytes) -> tuple[str, str]:
    """(content type, extension) of an image from its first bytes; PNG unless it looks otherwise."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "image/png", "png"
