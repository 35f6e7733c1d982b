"""The daily summary's line about help requests: "Tổ CNS đã hỗ trợ N người dân hôm qua"."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.dates import day_range
from db import help_requests as repo
from db.help_requests import HelpRequest
from handlers.extensions import SummaryLine
from handlers.i18n import _

# The summary provider gets no settings; the province's time zone (TIMEZONE's default) sets "yesterday".
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def helped_yesterday(session: AsyncSession, unit_codes: set[str] | None, day: date) -> SummaryLine | None:
    """People the teams helped on the day before ``day`` in scope; None while the scope has no request."""
    scope = [] if unit_codes is None else [HelpRequest.unit_code.in_(sorted(unit_codes))]
    if not await session.scalar(select(func.count(HelpRequest.id)).where(*scope)):
        return None
    yesterday = day - timedelta(days=1)
    start, end = day_range(yesterday, yesterday, LOCAL_TZ)
    count = await repo.helped_between(session, start, end, unit_codes)
    waiting = await repo.count_open(session, unit_codes)
    line = _("The digital teams helped {count} people yesterday").format(count=count)
    full = "🙋 " + line + (" · " + _("{waiting} requests waiting for a member").format(waiting=waiting)
                          if waiting else "")
    return SummaryLine(full, "🙋 " + line)
