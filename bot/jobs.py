"""Every background loop of the process, started from this one place, in one process at a time.

The loops are functions of their feature (the daily summary in ``handlers/progress/daily.py``,
report reminders in ``handlers/reports``, help-request escalation in ``handlers/help``); the
outbox sender delivers what they queue; the housekeeping loop forgets old de-duplication keys
and expired media. Each loop ends by itself once ``stop`` is set. With several processes on
one database, only the leader (``bot/leader.py``) runs them; another process takes over within
seconds when the leader dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.leader import CHECK_EVERY, Leadership

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel

log = logging.getLogger(__name__)

# How long each loop may go without a success before /healthz calls it dead (a few of its
# periods: the sender polls every second, escalation every 5 minutes, reminders hourly).
QUIET_AT_MOST = {"outbox-sender": 600.0, "report-reminders": 3 * 3600.0, "help-escalation": 1800.0,
                 "daily-summary": 26 * 3600.0, "housekeeping": 2 * 24 * 3600.0 + 3600.0}
KEEP_UPDATE_KEYS = timedelta(days=2)  # platforms redeliver an update within hours, never days
HOUSEKEEPING_EVERY = 24 * 3600.0


def start_jobs(app: App, channels: Iterable[Channel], stop: asyncio.Event) -> list[asyncio.Task]:
    """Start the sender and the features' loops as tasks; await them after setting ``stop``."""
    from bot.outbox import OutboxSender
    from handlers.help import escalation_loop
    from handlers.progress.daily import run_daily_job
    from handlers.reports import reminder_loop

    loops = {
        "outbox-sender": OutboxSender(app, channels).run(stop),  # proactive messages leave only here
        "report-reminders": reminder_loop(app, stop),
        "help-escalation": escalation_loop(app, stop),  # help requests nobody took in HELP_ESCALATE_HOURS
        "daily-summary": run_daily_job(app, stop),  # the campaign summary at DAILY_SUMMARY_TIME
        "housekeeping": housekeeping_loop(app, stop),
    }
    tasks = []
    for name, loop in loops.items():
        task = asyncio.create_task(loop, name=name)
        app.health.expect(name, stale_after=QUIET_AT_MOST.get(name), task=task, ending=stop)
        tasks.append(task)
    return tasks


async def housekeeping(app: App) -> tuple[int, int]:
    """Forget de-duplication keys older than two days, expired media and the photos of delivered
    messages; return (keys, media and photos) deleted."""
    from bot.router import purge_processed_updates
    from db.base import utcnow
    from db.media import purge_media
    from db.outbox import purge_unused_blobs

    async with app.sessions() as session:
        keys = await purge_processed_updates(session, utcnow() - KEEP_UPDATE_KEYS)
        media = await purge_media(session) + await purge_unused_blobs(session)
        await session.commit()
    if keys or media:
        log.info("housekeeping: %d update keys and %d expired media or sent photos deleted", keys, media)
    return keys, media


async def housekeeping_loop(app: App, stop: asyncio.Event, every: float = HOUSEKEEPING_EVERY) -> None:
    """:func:`housekeeping` at start and then daily, until ``stop`` is set."""
    while not stop.is_set():
        try:
            await housekeeping(app)
            app.beat("housekeeping")
        except Exception:  # noqa: BLE001 - a bad moment must not stop the loop
            log.exception("housekeeping failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def lead_background_work(app: App, channels: list[Channel], stop: asyncio.Event,
                               leadership: Leadership, on_lead: Callable[[], Awaitable[None]] | None = None,
                               retry: float = CHECK_EVERY) -> None:
    """While this process leads, run the background loops (and ``on_lead`` first: set webhooks);
    otherwise try to take the leadership every ``retry`` seconds. Ends when ``stop`` is set."""
    try:
        while not stop.is_set():
            try:
                leading = await leadership.try_acquire()
            except Exception as exc:  # noqa: BLE001 - the database is away: try again later
                log.warning("could not check the leadership: %s", exc)
                leading = False
            if leading:
                log.info("this process runs the background work (sender, daily summary, reminders)")
                if on_lead is not None:
                    try:
                        await on_lead()
                    except Exception:  # noqa: BLE001 - the loops still run; the operator sees why
                        log.exception("setting the webhooks failed")
                lost = asyncio.Event()
                tasks = start_jobs(app, channels, lost)
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=retry)
                    if not stop.is_set() and not await leadership.still_held():
                        break
                lost.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                for task in tasks:  # another process runs them now
                    app.health.forget(task.get_name())
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry)
    finally:
        await leadership.release()
