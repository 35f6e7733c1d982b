"""Reports as a spreadsheet: one row per report, every state's timestamp, safe for Excel."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AdminUnit, User
from db.reports import Report, ReportCategory, aware, export_rows

HEADERS = ["Số báo cáo", "Loại", "Lĩnh vực", "Xã/phường", "Thôn/tổ dân phố", "Nội dung", "Số người ảnh hưởng",
           "Trạng thái", "Nhóm trạng thái", "Người xử lý", "Gửi lúc", "Tiếp nhận lúc", "Đang xử lý từ",
           "Giải quyết lúc", "Đóng lúc", "Mở lại lúc", "Ghi chú kết quả", "Trùng với"]
KIND_NAMES = {"difficulty": "Khó khăn, vướng mắc", "good_practice": "Cách làm hay"}
STATUS_NAMES = {"new": "Mới", "acknowledged": "Đã tiếp nhận", "in_progress": "Đang xử lý", "reopened": "Mở lại",
                "fixed": "Đã giải quyết", "not_responsible": "Không thuộc thẩm quyền", "duplicate": "Trùng",
                "closed": "Đã đóng"}
TYPE_NAMES = {"open": "Đang mở", "fixed": "Đã giải quyết", "closed": "Đã đóng"}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that Excel or LibreOffice would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


async def report_table(session: AsyncSession, start: datetime, end: datetime, scope: set[str] | None,
                       tz) -> list[list]:
    """The header row and one row per report created in [start, end) within ``scope``."""
    reports = await export_rows(session, start, end, scope)
    units = {u.code: u.name for u in (await session.scalars(select(AdminUnit))).all()}
    categories = {c.id: c.name for c in (await session.scalars(select(ReportCategory))).all()}
    handler_ids = {r.handler_id for r in reports if r.handler_id}
    handlers = {u.id: u.display_name for u in (await session.scalars(
        select(User).where(User.id.in_(handler_ids)))).all()} if handler_ids else {}

    def when(value):
        value = aware(value)
        return value.astimezone(tz).strftime("%d/%m/%Y %H:%M") if value else ""

    rows: list[list] = [HEADERS]
    for r in reports:
        rows.append([neutralise(v) for v in (
            r.number, KIND_NAMES.get(r.kind, r.kind), categories.get(r.category_id, ""),
            units.get(r.unit_code, r.unit_code), units.get(r.village_code, "") if r.village_code else "",
            r.description, r.people_affected if r.people_affected is not None else "",
            STATUS_NAMES.get(r.status, r.status), TYPE_NAMES[r.status_enum.type.value],
            handlers.get(r.handler_id, "") if r.handler_id else "", when(r.created), when(r.acknowledged_at),
            when(r.in_progress_at), when(r.fixed_at), when(r.closed_at), when(r.reopened_at),
            r.resolution_note or "", f"BC-{r.duplicate_of_id:06d}" if r.duplicate_of_id else "")])
    return rows


def to_xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Báo cáo"
    for row in rows:
        sheet.append(row)
    for column, width in zip("ABCDEFGHIJKLMNOPQR", (12, 18, 26, 22, 18, 60, 10, 18, 14, 20, 17, 17, 17, 17, 17,
                                                      17, 40, 12)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


__all__ = ["Report", "neutralise", "report_table", "to_csv", "to_xlsx"]
