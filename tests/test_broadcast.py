"""The daily summary broadcast: who gets it, once a day, one photo each, through the outbox."""

from __future__ import annotations

import asyncio
import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram import build_application
from bot.channels.telegram import deliver as telegram_deliver
from bot.outbox import OutboxSender
from content.campaign import campaign_for, load_campaigns
from content.progress_import import FigureRow, ParsedFile
from db.admin import get_or_create_user, grant_role
from db.base import utcnow
from db.models import AdminUnit, Role, UnitLevel, User
from db.outbox import OutboxBlob, OutboxMessage
from db.progress import import_figures
from db.subscriptions import unsubscribe
from handlers.progress.daily import enqueue_daily_summaries, next_run, run_daily_job
from handlers.progress.summary import CAPTION_LIMIT, SummaryLine, load_progress, render_summary
from tests.conftest import make_settings, on_app
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import check_telegram_html as assert_telegram_html

PNG = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.usefixtures("running_campaign")


async def communes(app, n=3) -> list[AdminUnit]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.xa)
                                          .order_by(AdminUnit.code).limit(n)))


async def seed(app, day, units, rate=0.3):
    campaign = campaign_for(day, load_campaigns())
    rows = [FigureRow(i + 1, u.code, u.name, {m.id: (round(rate * 1000) + 37 * i, 1000) for m in campaign.metrics})
            for i, u in enumerate(units)]
    async with app.sessions() as session:
        assert (await import_figures(session, campaign, day, ParsedFile(rows=rows), None, "seed", b"x")).ok


async def officials(app, platform, ids_units: list[tuple[str, str | None]]) -> list[int]:
    ids = []
    async with app.sessions() as session:
        for user_id, unit in ids_units:
            ids.append((await grant_role(session, platform, user_id, "official", unit)).id)
    return ids


async def outbox_rows(app) -> list[OutboxMessage]:
    async with app.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_enqueue_daily_summaries_once_per_official_per_day(app):
    a, b, c = await communes(app)
    day = datetime.now(app.settings.tz).date()
    await seed(app, day, [a, b, c])
    province, commune_a, commune_a2, commune_b, quitter, gone = await officials(
        app, "telegram", [("1", None), ("2", a.code), ("3", a.code), ("4", b.code), ("5", c.code), ("6", c.code)])
    async with app.sessions() as session:
        await get_or_create_user(session, "telegram", "7")  # a citizen: never subscribed
        await unsubscribe(session, quitter)
        (await session.get(User, gone)).active = False
        await session.commit()

    assert await enqueue_daily_summaries(app, day) == 4
    assert await enqueue_daily_summaries(app, day) == 0  # the same day again: nothing new
    rows = await outbox_rows(app)
    assert sorted(r.user_id for r in rows) == sorted([province, commune_a, commune_a2, commune_b])
    assert {r.dedupe_key for r in rows} == {f"daily:{day}:{u}" for u in (province, commune_a, commune_a2, commune_b)}
    by_user = {r.user_id: r for r in rows}
    assert by_user[commune_a].photo_id == by_user[commune_a2].photo_id  # one chart per scope
    assert len({r.photo_id for r in rows}) == 3
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxBlob)) == 3
        blob = await session.get(OutboxBlob, by_user[province].photo_id)
        assert blob.data.startswith(PNG)
    assert a.name in by_user[commune_a].text and b.name not in by_user[commune_a].text
    for row in rows:
        assert len(row.text) <= CAPTION_LIMIT
        assert_telegram_html(row.text)
        assert "Phản ánh" in row.text  # the report counts

    # The next day is a new summary; an official who chose English gets it in English (its own chart).
    async with app.sessions() as session:
        (await session.get(User, commune_a2)).locale = "en"
        await session.commit()
    assert await enqueue_daily_summaries(app, day + timedelta(days=1)) == 4
    later = {r.user_id: r for r in await outbox_rows(app) if r.dedupe_key.startswith(f"daily:{day + timedelta(days=1)}")}
    assert "Campaign progress" in later[commune_a2].text and "Tiến độ" in later[commune_a].text
    assert later[commune_a2].photo_id != later[commune_a].photo_id


async def test_the_caption_fits_under_the_chart_even_for_the_long_campaign(app):
    day = date(2024, 7, 1)  # plan 195: five metrics with long names
    units = await communes(app, 40)
    await seed(app, day - timedelta(days=7), units, rate=0.1)
    await seed(app, day, units, rate=0.2)
    async with app.sessions() as session:
        data = await load_progress(session, day)
    summary = data.summary(None, day)
    counts = SummaryLine("📝 <b>Phản ánh khó khăn</b>: 3 mới · 12 đang xử lý · 4 quá hạn",
                         "📝 Phản ánh: 3 mới · 12 đang xử lý · 4 quá hạn")
    text = render_summary(summary, [counts], short=True, locale="vi")
    assert len(text) <= CAPTION_LIMIT
    assert_telegram_html(text)
    assert all(m.name in text for m in summary.metrics)
    assert "3 mới · 12 đang xử lý · 4 quá hạn" in text and "/tiendo" in text
    worst = summary.most_lagging_metric()
    assert summary.lagging[worst.id][0].unit_name in text


def test_next_run_is_the_next_daily_time_in_the_zone():
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    assert next_run(datetime(2026, 11, 26, 16, 59, tzinfo=tz), time(17)) == datetime(2026, 11, 26, 17, tzinfo=tz)
    assert next_run(datetime(2026, 11, 26, 17, 0, tzinfo=tz), time(17)) == datetime(2026, 11, 27, 17, tzinfo=tz)


async def test_the_daily_job_enqueues_at_the_configured_time(tmp_path):
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    soon = (datetime.now(tz) + timedelta(seconds=2)).time().replace(microsecond=0)
    app = App(make_settings(tmp_path, daily_summary_time=soon.isoformat()))
    await app.prepare()
    try:
        await officials(app, "telegram", [("1", None)])
        stop = asyncio.Event()
        job = asyncio.create_task(run_daily_job(app, stop))
        for _ in range(60):
            await asyncio.sleep(0.1)
            if await outbox_rows(app):
                break
        stop.set()
        await asyncio.wait_for(job, 5)
        [row] = await outbox_rows(app)
        assert row.dedupe_key == f"daily:{datetime.now(tz).date()}:{row.user_id}"
    finally:
        await app.aclose()


async def test_broadcast_through_telegram_with_429_and_403(tmp_path):
    """End to end: the job's messages go through the outbox and the real PTB bot to the fake server."""
    async with FakeTelegram() as fake:
        app = App(make_settings(tmp_path, telegram_bot_token=fake.token, telegram_base_url=f"{fake.url}/bot",
                                telegram_base_file_url=f"{fake.url}/file/bot"))
        await app.prepare()
        application = build_application(app, updater=False)
        try:
            a, b, _c = await communes(app)
            day = datetime.now(app.settings.tz).date()
            await seed(app, day, [a, b])
            chats = [101, 102, 103, 104, 105]
            user_ids = await officials(app, "telegram", [(str(c), u) for c, u in
                                                         zip(chats, [None, a.code, a.code, b.code, b.code])])
            fake.block(103)  # this official blocked the bot
            fake.fail_next("sendPhoto", chat_id=101, error_code=429, retry_after=1)
            fake.fail_next("sendPhoto", chat_id=104, error_code=429, retry_after=1, times=4)
            fake.fail_next("sendPhoto", chat_id=105, error_code=500)

            assert await enqueue_daily_summaries(app, day) == 5
            async with application:
                sender = OutboxSender(app, {"telegram": functools.partial(telegram_deliver, application.bot)},
                                      rate=app.settings.broadcast_rate)
                await sender.drain()
                # The 500 is retried with backoff; make it due now and drain again.
                async with app.sessions() as session:
                    for message in await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")):
                        message.next_attempt_at = utcnow() - timedelta(seconds=1)
                    await session.commit()
                await sender.drain()
                # Enqueuing and draining again the same day sends nothing more.
                assert await enqueue_daily_summaries(app, day) == 0
                await sender.drain()

            for chat in (101, 102, 104, 105):
                photos = [c for c in fake.calls("sendPhoto", ok=True) if c.chat_id == chat]
                assert len(photos) == 1, chat
                assert photos[0].files and photos[0].text.startswith("📊")
                assert len(fake.messages_to(chat)) == 1  # the caption carries the text: one message
            assert not fake.messages_to(103)
            async with app.sessions() as session:
                users = {u.platform_user_id: u for u in await session.scalars(select(User))}
                assert users["103"].active is False
                assert all(users[str(c)].active for c in (101, 102, 104, 105))
                statuses = dict((await session.execute(
                    select(OutboxMessage.user_id, OutboxMessage.status))).all())
            assert statuses[user_ids[2]] == "dead"
            assert [statuses[u] for u in (user_ids[0], user_ids[1], user_ids[3], user_ids[4])] == ["sent"] * 4
            assert fake.calls("sendPhoto", ok=False)  # the faults really happened
        finally:
            await app.aclose()


async def test_broadcast_without_a_campaign_figure_still_sends_a_summary(app):
    await officials(app, "telegram", [("1", None)])
    day = datetime.now(app.settings.tz).date()
    assert await enqueue_daily_summaries(app, day) == 1
    [row] = await outbox_rows(app)
    assert "Chưa có số liệu" in row.text


async def test_an_admin_can_subscribe_and_a_demoted_official_gets_nothing(app):
    [official] = await officials(app, "telegram", [("1", None)])
    async with app.sessions() as session:
        user = await session.get(User, official)
        user.role = Role.citizen  # no longer an official: the subscription stays but is ignored
        await session.commit()
    assert await enqueue_daily_summaries(app, datetime.now(app.settings.tz).date()) == 0


async def test_the_running_bot_sends_the_daily_summary_at_the_daily_time(tmp_path):
    """run_channels starts the daily job and the outbox sender: the summary arrives by itself."""
    from tests.e2e import running_bot

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    # Far enough ahead that a slow start (the matcher learns at start-up, ~0.6-3 s on a loaded
    # machine) still has the officials in place before the daily time comes.
    soon = (datetime.now(tz) + timedelta(seconds=8)).time().replace(microsecond=0)
    async with running_bot(tmp_path, daily_summary_time=soon.isoformat()) as (fake, app):
        await officials(app, "telegram", [("201", None), ("202", None)])
        fake.block(202)
        fake.fail_next("sendPhoto", chat_id=201, error_code=429, retry_after=1)
        [photo] = await fake.wait_messages(201, 1, timeout=30)
        assert photo.method == "sendPhoto" and photo.text.startswith("📊")
        for _ in range(50):
            async with app.sessions() as session:
                gone = await session.scalar(select(User).where(User.platform_user_id == "202"))
                if not gone.active:
                    break
            await asyncio.sleep(0.1)
        assert gone.active is False
        await asyncio.sleep(0.5)
        assert len(fake.messages_to(201)) == 1


def test_the_broadcast_daily_command(tmp_path, cli_env, capsys):
    from bot.__main__ import main

    on_app(tmp_path, lambda app: officials(app, "telegram", [("1", None), ("2", None)]))
    assert main(["broadcast", "daily", "--date", "2026-11-20"]) == 0
    assert "2 tin" in capsys.readouterr().out
    assert main(["broadcast", "daily", "--date", "2026-11-20", "--no-send"]) == 0
    assert "0 tin" in capsys.readouterr().out


async def test_a_restart_after_a_crash_mid_enqueue_finishes_the_day(tmp_path):
    from handlers.messages import Reply
    from handlers.notify import enqueue

    app = App(make_settings(tmp_path, daily_summary_time="00:00:00"))
    await app.prepare()
    try:
        first, second = await officials(app, "telegram", [("1", None), ("2", None)])
        day = datetime.now(app.settings.tz).date()
        stop = asyncio.Event()
        stop.set()
        await run_daily_job(app, stop)  # a fresh start after the daily time: nothing today
        assert await outbox_rows(app) == []
        async with app.sessions() as session:  # the killed process had enqueued one official
            await enqueue(session, first, Reply("x"), "daily_summary", dedupe_key=f"daily:{day}:{first}")
            await session.commit()
        await run_daily_job(app, stop)
        rows = await outbox_rows(app)
        assert sorted(r.user_id for r in rows) == [first, second]
    finally:
        await app.aclose()
