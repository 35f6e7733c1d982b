"""Foundation tables: users, administrative units and per-user dialog state."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class Role(str, enum.Enum):
    """What a user may do; each role includes the ones before it."""

    citizen = "citizen"
    team = "team"  # a member of a village community digital technology team
    official = "official"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class UnitLevel(str, enum.Enum):
    """Administrative levels: province, (former) district, commune/ward, village."""

    tinh = "tinh"
    huyen = "huyen"
    xa = "xa"
    thon = "thon"


class AdminUnit(Base):
    __tablename__ = "admin_units"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)  # fold_key(name), for look-ups
    level: Mapped[UnitLevel] = mapped_column(Enum(UnitLevel, native_enum=False, length=8))
    kind: Mapped[str] = mapped_column(String(40), default="")  # "xã", "phường", "sở", "thôn"...
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id", name="uq_users_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), default=Role.citizen)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the user blocked the bot
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DialogState(Base):
    """Where a user is in a multi-step dialog, and the buttons they were last shown.

    Kept in the database, not in memory, so a restart or a second worker loses nothing.
    """

    __tablename__ = "dialog_states"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    dialog: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    options: Mapped[list] = mapped_column(JSON, default=list)  # button data of the last menu, in order
    shown: Mapped[list] = mapped_column(JSON, default=list)  # recently shown button data (bounded)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Platform update ids already handled, so a redelivered update is not acted on twice."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)  # "<platform>:<update id>"
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
