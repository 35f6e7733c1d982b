"""Who follows a report: members who met the same problem and joined it as a duplicate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.reports import Report, ReportFollower


async def followed_ids(session: AsyncSession, user_id: int) -> set[int]:
    """The reports ``user_id`` follows without having sent them."""
    return set((await session.scalars(select(ReportFollower.report_id)
                                      .where(ReportFollower.user_id == user_id))).all())


@dataclass
class Followers:
    """Who else met a report's problem: how many, from which villages, people affected in all."""

    count: int
    village_codes: list[str]
    people_total: int | None  # the report's own people plus every follower's; None when nobody said


async def follower_totals(session: AsyncSession) -> dict[int, tuple[int, int]]:
    """For every followed report: (how many follow it, people affected they gave in all)."""
    rows = await session.execute(select(ReportFollower.report_id, func.count(ReportFollower.id),
                                        func.coalesce(func.sum(ReportFollower.people_affected), 0))
                                 .group_by(ReportFollower.report_id))
    return {report_id: (count, int(people)) for report_id, count, people in rows.all()}


async def follower_summary(session: AsyncSession, report: Report) -> Followers:
    rows = (await session.execute(select(ReportFollower.village_code, ReportFollower.people_affected)
                                  .where(ReportFollower.report_id == report.id)
                                  .order_by(ReportFollower.id))).all()
    villages = list(dict.fromkeys(v for v, _people in rows if v and v != report.village_code))
    people = [p for p in [report.people_affected, *(p for _v, p in rows)] if p]
    return Followers(len(rows), villages, sum(people) if people else None)
