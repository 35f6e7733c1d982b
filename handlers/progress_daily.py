"""The daily campaign summary: one message per subscribed official, through the outbox.

``enqueue_daily_summaries(app, day)`` builds the summary once per scope (an official sees their
unit and everything below it), renders the text and the chart, stores the chart once per scope
and enqueues one message per official with ``dedupe_key = daily:<day>:<user id>``: running it
twice, or after a crash half-way, never sends anyone a second summary.

``run_daily_job(app, stop)`` runs it every day at ``DAILY_SUMMARY_TIME`` in ``TIMEZONE``; it is a
plain asyncio loop, so it works with any channel (Telegram, Zalo) or none.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from content.campaign import Campaign, load_campaigns
from content.dates import local_today as today_in
from content.progress import (
    Figure,
    Summary,
    build_summary,
    format_day_words,
    format_rate,
    format_target,
    render_chart,
    render_daily_summary,
    scope_codes,
)
from db.models import AdminUnit
from db.units import PROVINCE_CODE
from handlers.registry import Runtime

log = logging.getLogger(__name__)

DAILY_KIND = "daily_summary"
CAPTION_LIMIT = 1024  # a photo caption on Telegram
CHART_CACHE = 256  # charts kept in memory (one per scope and day: the province has ~130 units)

_charts: OrderedDict[tuple, bytes] = OrderedDict()


def local_today(app) -> date:
    """Today in the bot's time zone (``app`` has ``settings``: a Runtime or the handler services)."""
    return today_in(app.settings.tz)


@dataclass
class ProgressData:
    """Everything a summary needs, loaded once and shared by every scope."""

    campaign: Campaign
    history: list[Figure]
    units: list[AdminUnit]
    version: int = 0  # the latest accepted import: a chart drawn for an older one is stale
    source: str = ""  # the database, so two apps in one process (tests) never share a chart

    @property
    def by_code(self) -> dict[str, AdminUnit]:
        return {u.code: u for u in self.units}

    def scope_codes(self, unit_code: str | None) -> set[str] | None:
        """The unit and everything below it; None for the whole province."""
        code = unit_code or PROVINCE_CODE
        if code == PROVINCE_CODE:
            return None
        return scope_codes(code, self.by_code)

    def summary(self, unit_code: str | None, day: date) -> Summary:
        scope = self.by_code.get(unit_code or PROVINCE_CODE)
        return build_summary(self.campaign, self.history, date=day, scope_unit=scope, units=self.units)


async def load_progress(session: AsyncSession, day: date) -> ProgressData | None:
    """The campaign running on ``day`` with its figures and units; None when there is no campaign."""
    from content.progress import TREND_POINTS
    from db.progress import campaign_in_view, load_history, reporting_units

    campaign = await campaign_in_view(session, day, load_campaigns())
    if campaign is None:
        return None
    from sqlalchemy import func, select

    from db.progress import ProgressImport

    version = await session.scalar(select(func.max(ProgressImport.id)).where(
        ProgressImport.campaign_id == campaign.id, ProgressImport.status == "imported")) or 0
    history = await load_history(session, campaign, until=day, last_dates=TREND_POINTS + 1)
    return ProgressData(campaign, history, await reporting_units(session), version,
                        str(session.bind.url))


async def report_counts(session: AsyncSession, unit_codes: set[str] | None, day: date) -> dict | None:
    """New (last 24 h), open and overdue difficulty reports in scope; None when reports do not exist.

    Overdue: still open with no action for ``db.reports.STALE_DAYS`` days (when the stale reminder
    fires). ``unit_codes`` None means the whole province.
    """
    try:
        from db import reports
    except ImportError:
        return None
    model = getattr(reports, "Report", None)
    open_statuses = getattr(reports, "OPEN_STATUSES", None)
    if model is None or open_statuses is None:
        return None
    from sqlalchemy import func, select

    from db.base import utcnow

    now = utcnow()
    stale = now - timedelta(days=getattr(reports, "STALE_DAYS", 3))
    scope = [] if unit_codes is None else [model.unit_code.in_(sorted(unit_codes))]
    is_open = model.status.in_(open_statuses)

    async def count(*conditions) -> int:
        return await session.scalar(select(func.count(model.id)).where(*scope, *conditions)) or 0

    return {"new": await count(model.created > now - timedelta(days=1)),
            "open": await count(is_open),
            "overdue": await count(is_open, model.last_action_at <= stale)}


def render_caption(summary: Summary, counts: dict | None, locale: str = "vi") -> str:
    """The daily summary short enough to be a photo caption (≤ 1024 characters of HTML).

    The broadcast sends one message per official, the chart with this caption: one Bot API
    call, so BROADCAST_RATE messages a second are BROADCAST_RATE calls a second. The full text
    is used when it fits; otherwise one line per metric, the worst units of the most-lagging
    metric, the report counts, and a pointer to /tiendo for the details.
    """
    full = render_daily_summary(summary, counts, locale)
    if len(full) <= CAPTION_LIMIT:
        return full
    e = html.escape
    head = [f"📊 <b>Tiến độ DVCTT – {e(summary.scope_name)}</b>"]
    if summary.date is None:
        head.append("Chưa có số liệu nào được nhập.")
    else:
        left = f" · còn {summary.days_left} ngày" if summary.days_left > 0 else " · chiến dịch đã kết thúc"
        head.append(f"Số liệu {format_day_words(summary.date, locale)}{left}")
    metrics = []
    for m in summary.metrics:
        mark = "⚪" if m.met is None else ("✅" if m.met else "🔴")
        line = f"{mark} {e(m.name)}: <b>{format_rate(m.rate, locale)}</b>"
        if m.target is not None:
            line += f"/{format_target(m.target, locale)}"
        if m.change is not None and abs(m.change) >= 0.05:
            line += f" {'▲' if m.change > 0 else '▼'}{format_decimal(abs(m.change), '#,##0.0', locale='vi_VN')}"
        metrics.append(line)
    tail = []
    if counts is not None:
        tail.append(f"📝 Phản ánh: {counts.get('new', 0)} mới · {counts.get('open', 0)} đang xử lý · "
                    f"{counts.get('overdue', 0)} quá hạn")
    tail.append("Chi tiết: gửi /tiendo")
    worst = summary.most_lagging_metric()
    lagging = summary.lagging.get(worst.id, []) if worst else []
    for shown in range(len(lagging), -1, -1):
        middle = []
        if shown:
            middle = [f"⚠️ Thấp nhất – {e(worst.name)}:"]
            middle += [f"{i}. {e(u.unit_name)} {format_rate(u.rate, locale)}" for i, u in enumerate(lagging[:shown], 1)]
        text = "\n".join(head + metrics + middle + tail)
        if len(text) <= CAPTION_LIMIT:
            return text
    lines = head + metrics + tail
    while len("\n".join(lines)) > CAPTION_LIMIT and len(lines) > 1:
        lines.pop(len(lines) // 2)  # whole lines only: every line closes its own tags
    return "\n".join(lines)


async def render_scope(session: AsyncSession, data: ProgressData, unit_code: str | None, day: date,
                       locale: str = "vi", caption: bool = False) -> tuple[str, bytes]:
    """The summary text (Telegram HTML) and the chart PNG for one official's scope.

    ``caption``: the short form that fits under the chart (:func:`render_caption`).
    """
    summary = data.summary(unit_code, day)
    counts = await report_counts(session, data.scope_codes(unit_code), day)
    text = (render_caption if caption else render_daily_summary)(summary, counts, locale)
    key = (data.source, data.campaign.id, unit_code or PROVINCE_CODE, day, data.version, len(data.units))
    chart = _charts.get(key)
    if chart is None:  # ~0.3 s of matplotlib: drawn once per scope and import, not per /progress
        chart = await asyncio.to_thread(render_chart, summary)
        _charts[key] = chart
        while len(_charts) > CHART_CACHE:
            _charts.popitem(last=False)
    else:
        _charts.move_to_end(key)
    return text, chart


async def enqueue_daily_summaries(app: Runtime, day: date) -> int:
    """Enqueue ``day``'s summary for every subscribed active official; return how many were new."""
    from db.outbox import store_blob
    from db.subscriptions import subscribed_officials
    from handlers.messages import Reply
    from handlers.notify import enqueue

    async with app.sessions() as session:
        officials = await subscribed_officials(session)
        waiting = await _not_yet_enqueued(session, [u.id for u in officials], day)
        officials = [u for u in officials if u.id in waiting]
        if not officials:
            return 0
        data = await load_progress(session, day)
        if data is None:
            log.warning("no campaign: no daily summary for %s", day)
            return 0
        by_scope: dict[str, list] = {}
        for user in officials:
            code = user.unit_code if user.unit_code in data.by_code else PROVINCE_CODE
            by_scope.setdefault(code, []).append(user)
        added = 0
        for code, users in sorted(by_scope.items()):
            text, chart = await render_scope(session, data, code, day, caption=True)
            photo_id = await store_blob(session, chart)
            for user in users:
                if await enqueue(session, user.id, Reply(text), DAILY_KIND,
                                 dedupe_key=daily_key(day, user.id), photo_id=photo_id):
                    added += 1
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
    while not stop.is_set():
        now = datetime.now(settings.tz)
        when = next_run(now, at)
        try:
            await asyncio.wait_for(stop.wait(), timeout=(when - now).total_seconds())
            return
        except TimeoutError:
            pass
        await daily_summary(app, when.date())


async def _day_started(app: Runtime, day: date) -> bool:
    from sqlalchemy import select

    from db.outbox import OutboxMessage

    async with app.sessions() as session:
        return bool(await session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key.like(f"daily:{day.isoformat()}:%")).limit(1)))


def start_daily_job(app: Runtime, stop: asyncio.Event) -> asyncio.Task:
    """Start :func:`run_daily_job` as a task; it ends by itself once ``stop`` is set."""
    return asyncio.create_task(run_daily_job(app, stop), name="daily-summary")
