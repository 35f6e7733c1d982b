"""Files served at ``/media/<name>`` (charts and exports for platforms that send media by URL).

Kept in the database, so every bot process answers every link; each expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class MediaItem(Base):
    __tablename__ = "media_items"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # "<unguessable token>.<ext>"
    content_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires: Mapped[datetime] = mapped_column(index=True)


async def put_media(session: AsyncSession, name: str, data: bytes, content_type: str, filename: str,
                    ttl: float) -> None:
    session.add(MediaItem(name=name, data=bytes(data), content_type=content_type, filename=filename,
                          expires=utcnow() + timedelta(seconds=ttl)))


async def get_media(session: AsyncSession, name: str) -> MediaItem | None:
    """The item stored under ``name``, or None when unknown or expired."""
    return await session.scalar(select(MediaItem).where(MediaItem.name == name, MediaItem.expires > utcnow()))


async def purge_media(session: AsyncSession) -> int:
    """Delete expired items; return how many."""
    result = await session.execute(delete(MediaItem).where(MediaItem.expires <= utcnow()))
    return result.rowcount or 0
