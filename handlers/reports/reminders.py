"""Reminders to officials about reports untouched for days, and the loop that queues them."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import reports as repo
from db.base import utcnow
from db.models import User
from db.reports import Report
from handlers.i18n import _, use_locale
from handlers.messages import Button, Reply
from handlers.notify import enqueue
from handlers.registry import Runtime


async def remind_stale(session: AsyncSession, now: datetime | None = None, tz=None) -> int:
    """Queue one reminder per official per day listing their reports untouched for 3 days."""
    now = now or utcnow()
    day = now.astimezone(tz).date() if tz else now.date()
    per_official: dict[int, tuple[User, list[Report]]] = {}
    officials_cache: dict[str, list[User]] = {}
    for report in await repo.stale_reports(session, now):
        if report.handling_unit_code not in officials_cache:
            officials_cache[report.handling_unit_code] = await repo.officials_for(session, report.handling_unit_code)
        for official in officials_cache[report.handling_unit_code]:
            per_official.setdefault(official.id, (official, []))[1].append(report)
    queued = 0
    for official, reports in per_official.values():
        with use_locale(official.locale):
            numbers = ", ".join(r.number for r in reports[:20]) + (" …" if len(reports) > 20 else "")
            reply = Reply(_("⏰ Reminder: {count} report(s) have had no action for {days} days or more:\n{numbers}")
                          .format(count=len(reports), days=repo.STALE_DAYS, numbers=numbers),
                          buttons=[[Button(_("Open {number}").format(number=r.number), f"ro:o:{r.id}")]
                                   for r in reports[:5]])
        if await enqueue(session, official.id, reply, kind="report_reminder",
                         dedupe_key=f"rp:remind:{official.id}:{day.isoformat()}") is not None:
            queued += 1
    await repo.purge_abandoned_drafts(session, now)
    await session.commit()
    return queued


async def reminder_loop(runtime: Runtime, stop: asyncio.Event, every: float = 3600.0, from_hour: int = 8) -> None:
    """Every ``every`` seconds during the day, queue the day's reminders (once per official per day).

    The process starts it (``bot/``) and sets ``stop`` to end it.
    """
    while not stop.is_set():
        now = utcnow()
        if now.astimezone(runtime.settings.tz).hour >= from_hour:
            try:
                async with runtime.sessions() as session:
                    await remind_stale(session, now, runtime.settings.tz)
                runtime.beat("report-reminders")
            except Exception:  # noqa: BLE001 - a bad moment must not stop the reminders
                logging.getLogger(__name__).exception("report reminders failed")
        else:
            runtime.beat("report-reminders")  # nothing to do before the working day
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
