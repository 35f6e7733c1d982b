"""The daily campaign summary: one message per subscribed official, through the outbox.

``enqueue_daily_summaries(app, day)`` loads the figures once, renders the summary and the chart
once per scope and language (an official sees their unit and everything below it, in the language
they chose), stores the chart once and enqueues one message per official with
``dedupe_key = daily:<day>:<user id>``: running it twice, or after a crash half-way, never sends
anyone a second summary.

``run_daily_job(app, stop)`` runs it every day at ``DAILY_SUMMARY_TIME`` in ``TIMEZONE``; it is a
plain asyncio loop, so it works with any channel (Telegram, Zalo) or none. The process starts it
(``bot/``); it belongs to the feature.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db.units import PROVINCE_CODE
from handlers.i18n import normalize_locale
from handlers.progress.summary import load_progress, render_scope, stale_days_of
from handlers.registry import Runtime

log = logging.getLogger(__name__)

DAILY_KIND = "daily_summary"


async def enqueue_daily_summaries(app: Runtime, day: date) -> int:
    """Enqueue ``day``'s summary for every subscribed active official; return how many were new."""
    from db.locks import lock_name
    from db.outbox import drop_blob, store_blob
    from db.subscriptions import subscribed_officials
    from handlers.messages import Reply
    from handlers.notify import enqueue

    async with app.sessions() as session:
        officials = await subscribed_officials(session)
        waiting = await _not_yet_enqueued(session, [u.id for u in officials], day)
        officials = [u for u in officials if u.id in waiting]
        if not officials:
            return 0
        data = await load_progress(session, day, stale_days=stale_days_of(app.settings))
        if data is None:
            log.warning("no campaign: no daily summary for %s", day)
            return 0
        by_scope: dict[tuple[str, str], list] = {}
        for user in officials:
            code = user.unit_code if user.unit_code in data.by_code else PROVINCE_CODE
            by_scope.setdefault((code, normalize_locale(user.locale)), []).append(user)
        added = 0
        for (code, locale), users in sorted(by_scope.items()):
            text, chart = await render_scope(session, data, code, day, locale=locale, short=True)
            # Two runs at once (the job and `broadcast daily`): the second waits for the first's
            # commit here, then finds every official of the scope enqueued.
            await lock_name(session, f"daily:{day.isoformat()}:{code}:{locale}")
            photo_id = await store_blob(session, chart)
            before = added
            for user in users:
                if await enqueue(session, user.id, Reply(text, locale=locale), DAILY_KIND,
                                 dedupe_key=daily_key(day, user.id), photo_id=photo_id):
                    added += 1
            if added == before:  # another run enqueued them meanwhile: keep no unused chart
                await drop_blob(session, photo_id)
            await session.commit()  # one scope at a time: a crash keeps what was enqueued
    log.info("daily summary %s: %d messages enqueued", day, added)
    return added


def daily_key(day: date, user_id: int) -> str:
    return f"daily:{day.isoformat()}:{user_id}"


async def _not_yet_enqueued(session: AsyncSession, user_ids: list[int], day: date) -> set[int]:
    """The users without ``day``'s summary in the outbox (so a re-run renders nothing twice)."""
    from sqlalchemy import select

    from db.outbox import OutboxMessage

    prefix = f"daily:{day.isoformat()}:"
    keys = set((await session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like(prefix + "%")))).all())
    return {uid for uid in user_ids if prefix + str(uid) not in keys}


# ---------------------------------------------------------------- the daily job


def next_run(now: datetime, at: time) -> datetime:
    """The next ``at`` (local time of ``now``'s zone) strictly after ``now``."""
    candidate = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    if candidate <= now:
        candidate = datetime.combine(now.date() + timedelta(days=1), at, tzinfo=now.tzinfo)
    return candidate


async def daily_summary(app: Runtime, day: date) -> int:
    """The job body: enqueue ``day``'s summaries (the outbox sender delivers them)."""
    try:
        return await enqueue_daily_summaries(app, day)
    except Exception:  # noqa: BLE001 - one bad day must not stop the job
        log.exception("daily summary for %s failed", day)
        return 0


async def run_daily_job(app: Runtime, stop: asyncio.Event) -> None:
    """Every day at DAILY_SUMMARY_TIME (TIMEZONE), enqueue the summaries, until ``stop`` is set.

    A process killed while enqueuing (after the daily time, with some of today's summaries in
    the outbox) finishes the day when it starts again; the dedupe keys skip who already has it.
    A fresh start after the daily time sends nothing until tomorrow (``broadcast daily`` does it
    by hand).
    """
    settings = app.settings
    at = settings.daily_summary_time.replace(tzinfo=None)
    now = datetime.now(settings.tz)
    if now >= datetime.combine(now.date(), at, tzinfo=settings.tz) and await _day_started(app, now.date()):
        await daily_summary(app, now.date())
    app.beat("daily-summary")
    while not stop.is_set():
        now = datetime.now(settings.tz)
        when = next_run(now, at)
        try:
            await asyncio.wait_for(stop.wait(), timeout=(when - now).total_seconds())
            return
        except TimeoutError:
            pass
        await daily_summary(app, when.date())
        app.beat("daily-summary")


async def _day_started(app: Runtime, day: date) -> bool:
    from sqlalchemy import select

    from db.outbox import OutboxMessage

    async with app.sessions() as session:
        return bool(await session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key.like(f"daily:{day.isoformat()}:%")).limit(1)))


def start_daily_job(app: Runtime, stop: asyncio.Event) -> asyncio.Task:
    """Start :func:`run_daily_job` as a task; it ends by itself once ``stop`` is set."""
    return asyncio.create_task(run_daily_job(app, stop), name="daily-summary")
