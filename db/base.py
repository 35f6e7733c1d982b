"""The declarative base and column helpers shared by every model module."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import DateTime, ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (stored as UTC; shown in Asia/Ho_Chi_Minh)."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Numbered:
    """A row people refer to by a prefixed number ("BC-000123") and whose ``status`` column holds
    the value of an enum: the model sets ``NUMBER_PREFIX`` and ``STATUS``."""

    NUMBER_PREFIX: ClassVar[str]
    STATUS: ClassVar[type[enum.Enum]]

    @property
    def number(self) -> str:
        return numbered(self.NUMBER_PREFIX, self.id)

    @property
    def status_enum(self):
        return self.STATUS(self.status)


class HistoryColumns:
    """Who (``actor_id``, kept as NULL once that user is deleted) did what (``action``) when, with
    a note: the columns of every history table; the model adds its id and the row it is about."""

    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")


def numbered(prefix: str, row_id: int) -> str:
    return f"{prefix}-{row_id:06d}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}
