"""Reports as a spreadsheet: one row per report, every state's timestamp, safe for Excel; /export."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.dates import day_range, parse_day
from content.sheets import Sheet, to_csv, to_xlsx
from db import report_followers
from db import reports as repo
from db.base import utcnow
from db.models import AdminUnit, User
from db.reports import Report, ReportCategory, aware
from handlers.extensions import export_sheets
from handlers.i18n import _, format_date, use_locale
from handlers.messages import Reply
from handlers.registry import Context
from handlers.reports.labels import kind_label, status_label, status_type_label

HEADERS = ["Số báo cáo", "Loại", "Lĩnh vực", "Xã/phường", "Thôn/tổ dân phố", "Đơn vị xử lý", "Nội dung",
           "Số người ảnh hưởng", "Trạng thái", "Nhóm trạng thái", "Người xử lý", "Gửi lúc", "Tiếp nhận lúc",
           "Đang xử lý từ", "Giải quyết lúc", "Đóng lúc", "Mở lại lúc", "Ghi chú kết quả", "Trùng với",
           "Số tổ cùng gặp", "Tổng số người ảnh hưởng"]
MAX_EXPORT_ROWS = 50_000  # one /export; the CLI has no limit
WIDTHS = (12, 18, 26, 22, 18, 22, 60, 10, 18, 14, 20, 17, 17, 17, 17, 17, 17, 40, 12, 10, 12)


@dataclass
class Records:
    """What an export reads inside the transaction: plain rows and look-ups, no ORM objects.

    Turning them into the table (labels, local dates) and the workbook is left to
    :func:`format_table` and :func:`report_file`, which need no database and run in a thread.
    """

    reports: list  # Row tuples with the columns of COLUMNS
    units: dict[str, str]
    categories: dict[int, str]
    handlers: dict[int, str]
    followers: dict[int, tuple[int, int]]


COLUMNS = (Report.id, Report.kind, Report.category_id, Report.unit_code, Report.village_code,
           Report.handling_unit_code, Report.description, Report.people_affected, Report.status,
           Report.handler_id, Report.created, Report.acknowledged_at, Report.in_progress_at, Report.fixed_at,
           Report.closed_at, Report.reopened_at, Report.resolution_note, Report.duplicate_of_id)


async def report_records(session: AsyncSession, start: datetime, end: datetime, scope: set[str] | None) -> Records:
    """The reports created in [start, end) within ``scope`` (None: everywhere), read in one query each."""
    query = select(*COLUMNS).where(Report.created >= start, Report.created < end)
    if scope is not None:
        query = query.where(Report.handling_unit_code.in_(scope))
    reports = (await session.execute(query.order_by(Report.id))).all()
    units = dict((await session.execute(select(AdminUnit.code, AdminUnit.name))).all())
    categories = dict((await session.execute(select(ReportCategory.id, ReportCategory.name))).all())
    handler_ids = {r.handler_id for r in reports if r.handler_id}
    handlers = {u.id: handler_name(u) for u in (await session.scalars(
        select(User).where(User.id.in_(handler_ids)))).all()} if handler_ids else {}
    return Records(reports, units, categories, handlers, await report_followers.follower_totals(session))


def format_table(records: Records, tz) -> list[list]:
    """The header row and one row per report, in Vietnamese, with real (local, naive) datetimes."""
    units, handlers = records.units, records.handlers

    def when(value):
        """A real date for Excel: local time, without a time zone (Excel has none)."""
        value = aware(value)
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    rows: list[list] = [HEADERS]
    with use_locale("vi"):
        for r in records.reports:
            count, people = records.followers.get(r.id, (0, 0))
            total = (r.people_affected or 0) + people
            rows.append([
                repo.report_number(r.id), kind_label(r.kind), records.categories.get(r.category_id, ""),
                units.get(r.unit_code, r.unit_code), units.get(r.village_code, "") if r.village_code else "",
                units.get(r.handling_unit_code, r.handling_unit_code),
                r.description, r.people_affected if r.people_affected is not None else None,
                status_label(r.status), status_type_label(r.status),
                handlers.get(r.handler_id, "") if r.handler_id else "", when(r.created), when(r.acknowledged_at),
                when(r.in_progress_at), when(r.fixed_at), when(r.closed_at), when(r.reopened_at),
                r.resolution_note or "", repo.report_number(r.duplicate_of_id) if r.duplicate_of_id else "",
                count, total or None])
    return rows


async def report_table(session: AsyncSession, start: datetime, end: datetime, scope: set[str] | None,
                       tz) -> list[list]:
    """The header row and one row per report created in [start, end) within ``scope`` (in Vietnamese)."""
    return format_table(await report_records(session, start, end, scope), tz)


def handler_name(user: User) -> str:
    """The handler's name as the platform gave it, else their role and number (never blank)."""
    return user.display_name or f"Cán bộ #{user.id}"


def report_file(rows: list[list], fmt: str = "xlsx", more: Sequence[Sheet] = ()) -> bytes:
    """The table as an Excel workbook (sheet "Báo cáo", then ``more`` sheets) or a CSV file."""
    return to_xlsx(rows, "Báo cáo", WIDTHS, more) if fmt == "xlsx" else to_csv(rows)


async def export_command(ctx: Context) -> Reply:
    tz = ctx.services.settings.tz
    args = ctx.incoming.args.split()
    today = utcnow().astimezone(tz).date()
    start, end = today - timedelta(days=90), today
    if args:
        days = [parse_day(a) for a in args[:2]]
        if None in days:
            return Reply(_("Write: /export [from] [to], dates like 01/06/2025. Without dates: the last 90 days."))
        start = days[0]
        end = days[1] if len(days) > 1 else today
    begin, finish = day_range(start, end, tz)
    scope = await repo.scope_of(ctx.session, ctx.user)
    count = await repo.count_export_rows(ctx.session, begin, finish, scope)
    if count > MAX_EXPORT_ROWS:
        return Reply(_("There are {count} reports from {start} to {end}, more than one file can hold ({max}). "
                       "Please choose a shorter period, for example: /export 01/06/2025 30/06/2025")
                     .format(count=count, max=MAX_EXPORT_ROWS, start=format_date(start), end=format_date(end)))
    records = await report_records(ctx.session, begin, finish, scope)
    more = await export_sheets(ctx.session, ctx.services.kb, begin, finish, scope, tz)  # e.g. help requests
    name = f"bao-cao_{start.isoformat()}_{end.isoformat()}.xlsx"
    # The table and the workbook are made after the transaction, in a thread: others' messages
    # do not wait for them.
    return Reply(_("Reports from {start} to {end}: {count}.").format(start=format_date(start), end=format_date(end),
                                                                     count=len(records.reports)),
                 build=functools.partial(build_export, records, tz, more), filename=name)


def build_export(records: Records, tz, more: Sequence[Sheet] = ()) -> bytes:
    """The /export workbook from what was read (no database: it runs in a thread)."""
    return report_file(format_table(records, tz), more=more)
