"""Coordination between processes through the database they share.

* Per-user order: every transaction that reads and writes a user's dialog state takes that
  user's lock first (PostgreSQL: ``pg_advisory_xact_lock``, released at COMMIT/ROLLBACK). On
  SQLite one process writes at a time anyway and the bot's in-process lock (``App.write_lock``)
  keeps its messages in order, so these are no-ops there.
* One leader: a named lease (table ``leases``) that one process holds at a time and renews;
  on PostgreSQL the bot uses a session-level advisory lock instead (``bot/leader.py``).
* Start-up: migrations and seed data run under one lock (:func:`startup_lock`), so processes
  starting together do not run them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, utcnow

_XACT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def user_key(platform: str, platform_user_id: str) -> int:
    return lock_key(f"user:{platform}:{platform_user_id}")


def lock_user_sync(session: Session, platform: str, platform_user_id: str) -> None:
    """Take the user's lock for the rest of this transaction (PostgreSQL; no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_XACT_LOCK, {"key": user_key(platform, platform_user_id)})


async def lock_user(session: AsyncSession, platform: str, platform_user_id: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_XACT_LOCK, {"key": user_key(platform, platform_user_id)})


async def lock_name(session: AsyncSession, name: str) -> None:
    """Take the lock ``name`` for the rest of this transaction (PostgreSQL; no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_XACT_LOCK, {"key": lock_key(name)})


# ---------------------------------------------------------------- start-up


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold one lock per database while migrating and seeding (a second process waits).

    PostgreSQL: a session-level advisory lock on a connection of its own. SQLite: an exclusive
    ``flock`` on ``<database>.lock`` next to the file (in-memory databases need none).
    """
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key("startup")})
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key("startup")})
                await connection.commit()
        return
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    path = Path(database).with_name(Path(database).name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:

        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------- leases


class Lease(Base):
    """A named role one process holds at a time until ``expires`` (renewed while alive)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), default="")
    expires: Mapped[datetime] = mapped_column()


async def take_lease(session: AsyncSession, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while someone else holds it."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    result = await session.execute(
        update(Lease).where(Lease.name == name, (Lease.holder == holder) | (Lease.expires < now))
        .values(holder=holder, expires=until))
    if result.rowcount:
        await session.commit()
        return True
    if await session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
        await session.rollback()
        return False
    try:
        session.add(Lease(name=name, holder=holder, expires=until))
        await session.commit()
    except IntegrityError:  # another process created it first
        await session.rollback()
        return False
    return True


async def lease_holder(session: AsyncSession, name: str) -> str | None:
    """Who holds ``name`` now (None when nobody does, or the lease expired)."""
    return await session.scalar(select(Lease.holder).where(Lease.name == name, Lease.expires >= utcnow()))


async def drop_lease(session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                          .values(expires=utcnow() - timedelta(seconds=1)))
    await session.commit()
