"""Engines and sessions; SQLite gets WAL, a busy timeout and foreign keys on every connection.

SQLite runs in the event loop
-----------------------------
``sqlite+aiosqlite`` URLs normally reach SQLite through aiosqlite, which gives every
connection a thread and hands each call (cursor, execute, fetch, close, commit …) to it and
back: one message took ~37 such hops. A statement on a local SQLite file takes microseconds;
a hop costs a loop iteration, and under load (hundreds of coroutines ready) that is
milliseconds — paid while the router holds ``App.write_lock``. So by default
:func:`create_engine` gives SQLAlchemy's aiosqlite dialect (through ``async_creator``) an
:class:`InlineConnection` instead: the part of the ``aiosqlite.Connection``/``Cursor`` API
that ``sqlalchemy/dialects/sqlite/aiosqlite.py`` and ``sqlalchemy/connectors/asyncio.py`` use,
implemented with awaitables that run the ``sqlite3`` call at once, in the loop's thread.
Everything SQL-side is unchanged: same ``sqlite3`` module, same legacy transaction control
(``BEGIN`` before the first write), same exceptions (``sqlite3.IntegrityError`` …), same
pragmas (WAL, foreign keys, ``synchronous=NORMAL``).

Waiting for another writer must not block the loop (a writer in this process may hold
SQLite's lock while it awaits something, and the loop must keep running for it to finish).
So SQLite's own busy handler is off (``busy_timeout=0``) and a statement or commit that
gets ``SQLITE_BUSY`` is retried after an ``asyncio.sleep`` (1 ms doubling to 50 ms) for up to
:data:`BUSY_TIMEOUT` seconds, then raises ``sqlite3.OperationalError: database is locked`` as
before; other processes (the CLI, a second bot) and other connections wait the same way.
Retrying is safe: a statement that gets ``SQLITE_BUSY`` has changed nothing, and a ``COMMIT``
that gets it leaves the transaction open. ``SQLITE_BUSY_SNAPSHOT`` (a read transaction that
can no longer become a write one) is raised at once, as SQLite itself does.

The cost: while a statement runs the loop waits for it. That is microseconds for this bot's
statements; a long query (a large export) or a WAL checkpoint now and then (a few ms) holds
the loop for its duration. ``create_engine(url, in_loop=False)`` restores plain aiosqlite.
PostgreSQL (asyncpg) is not affected.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

BUSY_TIMEOUT = 10.0  # seconds a statement waits for another writer before "database is locked"
# What SQLite's own busy handler would wait on: SQLITE_BUSY, SQLITE_BUSY_RECOVERY. Not
# SQLITE_BUSY_SNAPSHOT (517: waiting cannot help) nor SQLITE_LOCKED (a conflict inside one
# connection, or shared cache: not retried by SQLite either).
_BUSY_CODES = {5, 261}
_FIRST_PAUSE, _MAX_PAUSE = 0.001, 0.05


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return str(error) == "database is locked"
    return code in _BUSY_CODES


class _RunNow:
    """Stands in for aiosqlite's ``_tx`` queue: SQLAlchemy's isolation-level setter puts
    ``(future, function)`` on it and awaits the future; here the function runs at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(exc)
        else:
            future.set_result(result)


_CURSOR_READS = frozenset({"description", "rowcount", "lastrowid"})


class InlineCursor:
    """An ``aiosqlite.Cursor`` look-alike whose awaitables run the ``sqlite3`` call at once."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def __aiter__(self):
        return self._rows()

    async def _rows(self):
        while (row := self._cursor.fetchone()) is not None:
            yield row

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        await self._connection._retrying(self._cursor.execute, sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        # A busy error can only come before the first row is written (the write lock is
        # taken then and kept), so running the whole batch again is safe.
        parameters = list(parameters)
        await self._connection._retrying(self._cursor.executemany, sql, parameters)
        return self

    async def executescript(self, script: str) -> InlineCursor:
        self._cursor.executescript(script)
        return self

    async def fetchone(self):
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None):
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self):
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes) -> None:
        return None

    def __getattr__(self, name: str):
        """``description``, ``rowcount`` and ``lastrowid``: the sqlite3 cursor's, read as they are."""
        if name in _CURSOR_READS:
            return getattr(self._cursor, name)
        raise AttributeError(name)

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """An ``aiosqlite.Connection`` look-alike over a ``sqlite3`` connection used in the loop.

    Attributes SQLAlchemy's dialect reaches into: ``_connection`` (truthy while open; it skips
    commit/rollback on a closed connection), ``_conn`` and ``_tx`` (the isolation-level
    setter), ``stop()`` (forced close when a connection is terminated).
    """

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _RunNow()
        self.busy_timeout = busy_timeout

    async def _retrying(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)``; on SQLITE_BUSY sleep (letting the loop run) and retry."""
        try:
            return function(*args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        deadline = time.monotonic() + self.busy_timeout
        pause = _FIRST_PAUSE
        while True:
            await asyncio.sleep(pause)
            try:
                return function(*args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            pause = min(pause * 2, _MAX_PAUSE)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self._retrying(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes


async def connect_inline(*args: Any, busy_timeout: float = BUSY_TIMEOUT, **kwargs: Any) -> InlineConnection:
    """Open ``sqlite3.connect(*args, **kwargs)`` for use in the loop, with the project's pragmas."""
    kwargs.update(timeout=0, check_same_thread=False)  # waits are ours (async); see module doc
    connection = InlineConnection(sqlite3.connect(*args, **kwargs), busy_timeout)
    for pragma in ("PRAGMA busy_timeout=0", "PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON",
                   "PRAGMA synchronous=NORMAL"):
        cursor = await connection.execute(pragma)
        await cursor.fetchall()
        await cursor.close()
    return connection


def create_engine(url: str, *, in_loop: bool = True) -> AsyncEngine:
    """Create the async engine for ``url``; make the SQLite file's folder if needed.

    SQLite connections run in the event loop unless ``in_loop`` is false (see module doc).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if in_loop and parsed.get_driver_name() == "aiosqlite":
            engine: AsyncEngine | None = None

            async def creator() -> InlineConnection:
                # the dialect turns the URL into sqlite3.connect() arguments (path, uri=…)
                args, kwargs = engine.sync_engine.dialect.create_connect_args(engine.sync_engine.url)
                return await connect_inline(*args, **kwargs)

            engine = create_async_engine(url, async_creator=creator)
            return engine
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
