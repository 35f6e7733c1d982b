"""The xlsx template officials fill in for a campaign's figures (pure: campaign and units in, bytes out)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date

from content.campaign import Campaign, level_name


def template_units(campaign: Campaign, units: Iterable) -> list:
    """Units that report for ``campaign``: its levels, without the province itself (the sum)."""
    return [
        u for u in units
        if level_name(u.level) in campaign.levels and getattr(u, "parent_code", "") is not None
        and getattr(u, "active", True)
    ]


def template_columns(campaign: Campaign) -> list[str]:
    columns = ["Mã đơn vị", "Tên đơn vị"]
    for metric in campaign.metrics:
        for title in (metric.numerator, metric.denominator):
            if title not in columns:
                columns.append(title)
    return columns


def make_template(campaign: Campaign, units: Iterable, day: date | None = None) -> bytes:
    """The xlsx template officials fill in: title row, header row, one row per unit."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    columns = template_columns(campaign)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "So lieu"
    title = f"SỐ LIỆU {campaign.name.upper()}"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet["A1"].font = Font(bold=True, size=13)
    when = f"Ngày số liệu: {day.strftime('%d/%m/%Y')}" if day else "Ngày số liệu: ....../....../........"
    sheet.append([f"{campaign.plan}. {when}. Ghi số tuyệt đối (số hồ sơ, số thủ tục), không ghi tỷ lệ; "
                  "để trống nếu đơn vị không có số liệu."])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(columns))
    sheet["A2"].alignment = Alignment(wrap_text=True)
    sheet.row_dimensions[2].height = 30
    sheet.append(columns)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for unit in sorted(template_units(campaign, units), key=lambda u: (level_name(u.level), u.name)):
        sheet.append([str(unit.code), unit.name])
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 34
    for col in range(3, len(columns) + 1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(col)].width = 18
    sheet.freeze_panes = "C4"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
