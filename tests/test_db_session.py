"""The SQLite engine: connections run in the event loop (db.session.InlineConnection).

What must hold as with aiosqlite: transactions, rollback, IntegrityError, JSON and DateTime
round trips, foreign keys, AUTOCOMMIT, streaming — and waiting for another writer without
blocking the loop, giving up after the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import db.session as db_session
from db.session import InlineConnection, connect_inline, create_engine, make_sessionmaker


class Base(DeclarativeBase):
    """A metadata of its own, so these tests' tables stay out of the project's."""


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Child(Base):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))


@pytest.fixture(params=[True, False], ids=["in_loop", "aiosqlite"])
async def engine(request, tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/sub/t.db", in_loop=request.param)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


def _now() -> datetime:
    return datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


async def _ticker(counter: list[int]) -> None:
    while True:
        counter[0] += 1
        await asyncio.sleep(0.002)


async def test_in_loop_is_the_default_and_pragmas_are_set(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)
            pragmas = {name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
        # the busy timeout is ours (async retries), so SQLite's own must be off
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 0, "synchronous": 1}
    finally:
        await engine.dispose()


async def test_aiosqlite_engine_keeps_its_pragmas(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db", in_loop=False)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert not isinstance(raw.driver_connection, InlineConnection)
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


async def test_round_trip_rollback_and_integrity_error(engine):
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        session.add(Parent(name="a", data={"k": [1, "hai", None], "ư": True}, created=_now()))
        await session.commit()
    async with sessions() as session:
        parent = await session.scalar(select(Parent).where(Parent.name == "a"))
        assert parent.data == {"k": [1, "hai", None], "ư": True}
        # SQLite stores no offset: the value comes back naive, as with plain aiosqlite
        assert parent.created == _now().replace(tzinfo=None)

        session.add(Parent(name="rolled back", created=_now()))
        await session.flush()
        await session.rollback()
        assert await session.scalar(select(Parent).where(Parent.name == "rolled back")) is None

        session.add(Parent(name="a", created=_now()))
        with pytest.raises(IntegrityError) as info:
            await session.flush()
        assert isinstance(info.value.orig, sqlite3.IntegrityError)
        await session.rollback()
        # the session is usable again, and nothing of the failed transaction remains
        session.add(Parent(name="b", created=_now()))
        await session.commit()
        assert sorted(await session.scalars(select(Parent.name))) == ["a", "b"]


async def test_foreign_keys_are_enforced(engine):
    async with make_sessionmaker(engine)() as session:
        session.add(Child(parent_id=12345))
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            await session.commit()


async def test_concurrent_sessions_all_commit(engine):
    sessions = make_sessionmaker(engine)

    async def writer(n: int) -> None:
        async with sessions() as session:
            session.add(Parent(name=f"p{n}", created=_now()))
            await asyncio.sleep(0)  # interleave: many write transactions want the lock at once
            await session.flush()
            await asyncio.sleep(0.001)
            session.add(Child(parent_id=(await session.scalar(select(Parent.id).where(Parent.name == f"p{n}")))))
            await session.commit()

    await asyncio.gather(*(writer(n) for n in range(20)))
    async with sessions() as session:
        assert len((await session.scalars(select(Parent))).all()) == 20
        assert len((await session.scalars(select(Child))).all()) == 20


async def test_a_waiting_writer_does_not_block_the_loop(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    sessions = make_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    # another process (the CLI, say) holds the write lock for 0.3 s
    other = sqlite3.connect(f"{tmp_path}/t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO parents (name, data, created) VALUES ('cli', '{}', '2025-01-01')")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    ticks = [0]
    ticker = asyncio.create_task(_ticker(ticks))
    try:
        async with sessions() as session:
            session.add(Parent(name="bot", created=_now()))
            await session.commit()  # waits for the CLI, while the loop keeps running
        assert ticks[0] >= 20
        async with sessions() as session:
            assert sorted(await session.scalars(select(Parent.name))) == ["bot", "cli"]
    finally:
        ticker.cancel()
        other.close()
        await engine.dispose()


async def test_busy_gives_up_after_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(db_session, "BUSY_TIMEOUT", 0.1)
    path = f"{tmp_path}/t.db"
    conn = await connect_inline(path, busy_timeout=0.1)
    await conn.execute("CREATE TABLE t (x)")
    await conn.commit()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = [0]
    ticker = asyncio.create_task(_ticker(ticks))
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await conn.execute("INSERT INTO t VALUES (1)")
        assert 0.1 <= asyncio.get_running_loop().time() - started < 2
        assert ticks[0] >= 5
        other.execute("COMMIT")
        await conn.execute("INSERT INTO t VALUES (2)")  # the same statement works once free
        await conn.commit()
        assert other.execute("SELECT x FROM t").fetchall() == [(2,)]
    finally:
        ticker.cancel()
        other.close()
        await conn.close()


async def test_a_stale_snapshot_fails_at_once(tmp_path):
    """SQLITE_BUSY_SNAPSHOT cannot succeed by waiting, so it is raised without retrying."""
    path = f"{tmp_path}/t.db"
    conn = await connect_inline(path)
    await conn.execute("CREATE TABLE t (x)")
    await conn.commit()
    conn.isolation_level = None
    await conn.execute("BEGIN")
    await (await conn.execute("SELECT count(*) FROM t")).fetchall()
    other = sqlite3.connect(path)
    other.execute("INSERT INTO t VALUES (1)")
    other.commit()
    started = asyncio.get_running_loop().time()
    with pytest.raises(sqlite3.OperationalError):
        await conn.execute("INSERT INTO t VALUES (2)")
    assert asyncio.get_running_loop().time() - started < 1
    await conn.rollback()
    other.close()
    await conn.close()


async def test_autocommit_streaming_and_memory_database(engine, tmp_path):
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("INSERT INTO parents (name, data, created) VALUES ('x', '{}', '2025-01-01')"))
    async with make_sessionmaker(engine)() as session:
        for n in range(5):
            session.add(Parent(name=f"s{n}", created=_now()))
        await session.commit()
        names = [name async for name in await session.stream_scalars(select(Parent.name).order_by(Parent.id))]
        assert names == ["x", "s0", "s1", "s2", "s3", "s4"]
    memory = create_engine("sqlite+aiosqlite://")
    try:
        async with memory.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with make_sessionmaker(memory)() as session:
            session.add(Parent(name="m", created=_now()))
            await session.commit()
            assert await session.scalar(select(Parent.name)) == "m"
    finally:
        await memory.dispose()
