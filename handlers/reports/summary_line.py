"""The daily summary's line about difficulty reports: new, in progress and overdue."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.reports import OPEN_STATUSES, STALE_DAYS, Report
from handlers.extensions import SummaryLine
from handlers.i18n import _


async def report_counts(session: AsyncSession, unit_codes: set[str] | None, day: date) -> SummaryLine | None:
    """New (last 24 h), open and overdue difficulty reports in scope.

    Overdue: still open with no action for ``db.reports.STALE_DAYS`` days (when the stale reminder
    fires). ``unit_codes`` None means the whole province.
    """
    now = utcnow()
    stale = now - timedelta(days=STALE_DAYS)
    scope = [] if unit_codes is None else [Report.unit_code.in_(sorted(unit_codes))]
    is_open = Report.status.in_(OPEN_STATUSES)

    async def count(*conditions) -> int:
        return await session.scalar(select(func.count(Report.id)).where(*scope, *conditions)) or 0

    new, opened, overdue = (await count(Report.created > now - timedelta(days=1)), await count(is_open),
                            await count(is_open, Report.last_action_at <= stale))
    counts = _("{new} new · {open} in progress · {overdue} overdue").format(new=new, open=opened, overdue=overdue)
    return SummaryLine(_("📝 <b>Difficulty reports</b>: {counts}").format(counts=counts),
                       _("📝 Reports: {counts}").format(counts=counts))
