"""Two bot processes on one PostgreSQL database, as far as the database can tell: two App objects,
each with its own engine and connection pool (the full two-process run is in test_two_processes.py).

`make test` starts a throw-away server with scripts/postgres.sh and sets TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import func, select

from bot.app import App
from db.models import DialogState, User
from handlers.messages import Incoming
from tests.conftest import make_settings

URL = os.environ.get("TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL and not os.environ.get("CI"),
                                reason="TEST_POSTGRES_URL not set (make test starts PostgreSQL)")

QUESTIONS = ["/menu", "lam sao nop phi online", "/help", "cap lai mat khau vneid", "/language",
             "dang ky khai sinh online"]


async def fresh_database() -> tuple[str, object]:
    import asyncpg

    if not URL:
        pytest.fail("CI must run the PostgreSQL tests: TEST_POSTGRES_URL is not set")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(URL.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    return URL.rsplit("/", 1)[0] + f"/{name}", admin


@pytest.fixture
async def two_apps(tmp_path):
    """Two prepared Apps on one fresh database, prepared at the same time (both migrate at once)."""
    url, admin = await fresh_database()
    apps = [App(make_settings(tmp_path, database_url=url)) for _ in range(2)]
    try:
        await asyncio.gather(*(app.prepare() for app in apps))
        yield apps
    finally:
        for app in apps:
            await app.aclose()
        await admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()


def _text(user: str, text: str, update: str) -> Incoming:
    return Incoming.from_text("telegram", user, user, text, display_name="Lan", update_id=update)


async def test_two_processes_starting_together_both_migrate_and_seed(two_apps):
    async with two_apps[0].sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_one_users_messages_on_both_processes_at_once_keep_every_button(two_apps):
    users = [str(1000 + n) for n in range(10)]
    await asyncio.gather(*(two_apps[0].router.handle(_text(u, "/start", f"{u}-0")) for u in users))
    shown_to: dict[str, set[str]] = {u: set() for u in users}

    async def send(user: str, index: int, text: str) -> None:
        app = two_apps[index % 2]  # alternate processes, all at once
        replies = await app.router.handle(_text(user, text, f"{user}-{index + 1}"))
        assert replies and "trục trặc" not in replies[0].text
        shown_to[user].update(b.data for r in replies for b in r.all_buttons())

    await asyncio.gather(*(send(u, i, q) for u in users for i, q in enumerate(QUESTIONS)))
    async with two_apps[1].sessions() as session:
        for user in users:
            state = await session.scalar(select(DialogState).join(User, User.id == DialogState.user_id)
                                         .where(User.platform_user_id == user))
            lost = shown_to[user] - set(state.shown)
            assert shown_to[user] and not lost, f"user {user} lost {sorted(lost)}"


async def test_a_new_users_first_two_messages_at_both_processes_are_both_answered(two_apps):
    users = [str(2000 + n) for n in range(10)]
    results = await asyncio.gather(*(app.router.handle(_text(u, "/start", f"{u}-{i}"))
                                     for u in users for i, app in enumerate(two_apps)))
    for replies in results:
        assert replies and replies[0].text.startswith("Xin chào")
    async with two_apps[0].sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(User)
                                    .where(User.platform_user_id.in_(users)))
        states = await session.scalar(select(func.count()).select_from(DialogState))
    assert rows == 10 and states == 10


async def test_one_leader_per_database_and_a_takeover_when_its_connection_drops(two_apps):
    from bot.leader import Leadership

    first, second = Leadership(two_apps[0]), Leadership(two_apps[1])
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await first.still_held()
    await first._connection.invalidate()  # the process died: its connection is gone
    assert await second.try_acquire()
    assert not await first.still_held()
    await second.release()


async def test_two_senders_on_postgresql_claim_each_message_once(two_apps):
    from bot.outbox import OutboxSender
    from handlers.messages import Reply
    from handlers.notify import enqueue

    async with two_apps[0].sessions() as session:
        users = [User(platform="telegram", platform_user_id=str(3000 + n), chat_id=str(3000 + n)) for n in range(60)]
        session.add_all(users)
        await session.flush()
        for user in users:
            await enqueue(session, user.id, Reply("tin"), kind="test")
        await session.commit()
    sent: list[str] = []

    async def deliver(chat_id, reply):
        await asyncio.sleep(0.002)
        sent.append(chat_id)

    counts = await asyncio.gather(*(OutboxSender(app, {"telegram": deliver}, rate=0).drain() for app in two_apps))
    assert sum(counts) == 60 and len(sent) == 60 and len(set(sent)) == 60


async def test_the_daily_job_run_in_both_processes_at_once_enqueues_once_and_keeps_no_unused_chart(two_apps):
    from datetime import datetime

    from db.outbox import OutboxBlob, OutboxMessage
    from handlers.progress.daily import enqueue_daily_summaries
    from tests.test_broadcast import officials

    await officials(two_apps[0], "telegram", [(str(4000 + n), None) for n in range(6)])
    day = datetime.now(two_apps[0].settings.tz).date()
    added = await asyncio.gather(*(enqueue_daily_summaries(app, day) for app in two_apps * 2))
    assert sum(added) == 6
    assert await enqueue_daily_summaries(two_apps[1], day) == 0  # and again: nothing new
    async with two_apps[0].sessions() as session:
        messages = (await session.scalars(select(OutboxMessage))).all()
        blobs = await session.scalar(select(func.count()).select_from(OutboxBlob))
    assert len(messages) == 6 and len({m.user_id for m in messages}) == 6
    assert blobs == len({m.photo_id for m in messages if m.photo_id is not None})  # every chart used
