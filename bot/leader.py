"""One leader for background work: the outbox sender, the daily summary, the reminders.

Several bot processes may serve one database; exactly one of them runs the background loops
(and sets the webhooks). PostgreSQL: the leader holds a session-level ``pg_try_advisory_lock``
on a connection of its own; when the process dies its connection drops, the server releases
the lock, and another process takes over at its next try (every few seconds). SQLite: a lease
row (``db.locks``) renewed while the process lives, taken over once it expired.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import TYPE_CHECKING

from sqlalchemy import text

from db.locks import drop_lease, lock_key, take_lease

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

NAME = "background"
LEASE_SECONDS = 15.0  # SQLite: a dead leader is replaced after at most this long
CHECK_EVERY = 5.0  # seconds between checks that the leadership is still held / tries to take it


_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)")


def process_id() -> str:
    """This process, as other processes see it in leases and outbox claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Leadership:
    """Take, keep and give back the leadership of ``app``'s database."""

    def __init__(self, app: App, name: str = NAME, holder: str | None = None) -> None:
        self.app = app
        self.name = name
        self.holder = holder or process_id()
        self.held = False
        self._connection = None  # PostgreSQL: the connection that holds the advisory lock
        self._postgres = app.engine.dialect.name == "postgresql"

    async def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads (now or already)."""
        if self.held:
            return await self.still_held()
        if self._postgres:
            connection = await self.app.engine.connect()
            try:
                got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                              {"key": lock_key(f"leader:{self.name}")})
                await connection.commit()
            except BaseException:
                await connection.close()
                raise
            if not got:
                await connection.close()
                return False
            self._connection = connection
        else:
            async with self.app.sessions() as session:
                if not await take_lease(session, self.name, self.holder, LEASE_SECONDS):
                    return False
        self.held = True
        return True

    async def still_held(self) -> bool:
        """Check (and on SQLite renew) the leadership; False once it is lost."""
        if not self.held:
            return False
        try:
            if self._postgres:
                # Not just "SELECT 1": a dropped connection may have been replaced by a new one
                # that does not hold the lock.
                key = lock_key(f"leader:{self.name}") & 0xFFFFFFFFFFFFFFFF
                holds = await self._connection.scalar(_HOLDS_LOCK, {"hi": key >> 32, "lo": key & 0xFFFFFFFF})
                await self._connection.commit()
                if not holds:
                    raise RuntimeError("the database connection holding the lock was lost")
            else:
                async with self.app.sessions() as session:
                    if not await take_lease(session, self.name, self.holder, LEASE_SECONDS):
                        raise RuntimeError("the lease was taken over")
        except Exception as exc:  # noqa: BLE001 - a lost connection or lease: no longer the leader
            log.warning("leadership lost: %s", exc)
            await self._forget()
            return False
        return True

    async def release(self) -> None:
        """Give the leadership back at once (a clean stop), so another process takes over."""
        if not self.held:
            return
        try:
            if self._postgres:
                await self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                               {"key": lock_key(f"leader:{self.name}")})
                await self._connection.commit()
            else:
                async with self.app.sessions() as session:
                    await drop_lease(session, self.name, self.holder)
        except Exception as exc:  # noqa: BLE001 - the lock goes with the connection anyway
            log.warning("could not release the leadership cleanly: %s", exc)
        await self._forget()

    async def _forget(self) -> None:
        self.held = False
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close()
            except Exception:  # noqa: BLE001 - already broken
                await connection.invalidate()
