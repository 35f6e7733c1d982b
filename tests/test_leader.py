"""One leader for background work (sender, daily summary, reminders, webhooks) per database."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import App
from bot.jobs import housekeeping, lead_background_work
from bot.leader import Leadership
from db.base import utcnow
from db.locks import Lease
from db.models import ProcessedUpdate
from tests.conftest import make_settings, on_app


async def test_one_process_leads_and_another_takes_over_when_it_stops(app):
    first, second = Leadership(app, holder="first"), Leadership(app, holder="second")
    assert await first.try_acquire() and await first.try_acquire()  # again: still ours
    assert not await second.try_acquire()
    await first.release()
    assert await second.try_acquire() and not await first.try_acquire()
    await second.release()


async def test_a_dead_leaders_lease_is_taken_over_once_it_expired(app):
    dead, alive = Leadership(app, holder="dead"), Leadership(app, holder="alive")
    assert await dead.try_acquire()
    assert not await alive.try_acquire()
    async with app.sessions() as session:  # the dead process stopped renewing it
        lease = await session.get(Lease, "background")
        lease.expires = utcnow()
        await session.commit()
    assert await alive.try_acquire()
    assert not await dead.still_held()  # and the old holder notices it lost it


async def test_only_the_leader_runs_the_background_work_and_sets_the_webhooks(app):
    stop = asyncio.Event()
    led: list[str] = []

    async def on_lead(name):
        led.append(name)

    runs = [asyncio.create_task(lead_background_work(
        app, [], stop, Leadership(app, holder=name), lambda name=name: on_lead(name), retry=0.05))
        for name in ("a", "b")]
    await asyncio.sleep(0.3)
    assert len(led) == 1  # one leader, and only it set the webhooks
    stop.set()
    await asyncio.gather(*runs)
    assert await Leadership(app, holder="c").try_acquire()  # released at the stop: anyone may lead


def test_broadcast_daily_only_enqueues_while_a_bot_runs(tmp_path, cli_env, capsys):
    from bot.__main__ import main
    from tests.test_broadcast import officials, outbox_rows

    cli_env.setenv("TELEGRAM_BOT_TOKEN", "123:fake")

    async def bot_running(app):
        await officials(app, "telegram", [("1", None), ("2", None)])
        running = Leadership(app, holder="the bot")
        assert await running.try_acquire()

    on_app(tmp_path, bot_running)
    assert main(["broadcast", "daily", "--date", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    assert "Đã đưa 2 tin" in out and "Bot đang chạy" in out  # no second sender

    async def statuses():
        app = App(make_settings(tmp_path))
        try:
            return [row.status for row in await outbox_rows(app)]
        finally:
            await app.aclose()

    assert asyncio.run(statuses()) == ["pending", "pending"]


async def test_housekeeping_forgets_update_keys_older_than_two_days(app):
    from datetime import timedelta

    async with app.sessions() as session:
        session.add_all([ProcessedUpdate(key="telegram:old", created=utcnow() - timedelta(days=3)),
                         ProcessedUpdate(key="telegram:new", created=utcnow())])
        await session.commit()
    assert await housekeeping(app) == (1, 0)
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1


async def test_a_second_process_without_webhook_secret_refuses_to_start(tmp_path):
    """Each process would pick its own random secret and the platform would get 403 from the others."""
    import pytest

    from bot.server import run_channels

    settings = make_settings(tmp_path, telegram_bot_token="123:fake", webhook_url="https://bot.example.vn",
                             webhook_secret="")
    app = App(settings)
    await app.prepare()
    try:
        running = Leadership(app, holder="the first process")
        assert await running.try_acquire()
        with pytest.raises(SystemExit, match="WEBHOOK_SECRET must be set"):
            await run_channels(app, asyncio.Event())
    finally:
        await app.aclose()


async def test_housekeeping_deletes_the_photos_of_delivered_messages_only(app):
    from sqlalchemy import update

    from db.outbox import OutboxBlob, OutboxMessage, store_blob
    from handlers.messages import Reply
    from handlers.notify import enqueue
    from tests.test_outbox import make_users

    first, second = await make_users(app, 2)
    async with app.sessions() as session:
        sent_chart, waiting_chart = await store_blob(session, b"1"), await store_blob(session, b"2")
        await enqueue(session, first, Reply("a"), kind="test", photo_id=sent_chart)
        await enqueue(session, second, Reply("b"), kind="test", photo_id=waiting_chart)
        await session.execute(update(OutboxMessage).where(OutboxMessage.user_id == first).values(status="sent"))
        await session.commit()
    assert await housekeeping(app) == (0, 1)
    async with app.sessions() as session:
        assert (await session.scalars(select(OutboxBlob.id))).all() == [waiting_chart]
