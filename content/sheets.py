"""Writing tables as spreadsheets (xlsx, csv) that Excel opens safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

from content.text import clean_text

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT, DATE_FORMAT = "DD/MM/YYYY HH:MM", "DD/MM/YYYY"


def neutralise(value):
    """A cell that Excel or LibreOffice would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def cell(value):
    """A value safe for a cell: text without control characters, never a formula."""
    if isinstance(value, str):
        return neutralise(clean_text(value))
    return value


Sheet = tuple[str, list[list], Sequence[float]]  # title, rows (header first), column widths


def to_xlsx(rows: list[list], title: str = "Sheet", widths: Sequence[float] = (),
            more: Sequence[Sheet] = ()) -> bytes:
    """One sheet with ``rows`` (the first is the header, frozen); ``widths`` per column from A.

    ``more`` adds further sheets after the first. Dates and datetimes (naive, local time) become
    real Excel dates; text is cleaned by :func:`cell`.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    _fill(workbook.active, title, rows, widths)
    for other_title, other_rows, other_widths in more:
        _fill(workbook.create_sheet(), other_title, other_rows, other_widths)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill(sheet, title: str, rows: list[list], widths: Sequence[float]) -> None:
    from openpyxl.utils import get_column_letter

    sheet.title = title
    for row in rows:
        sheet.append([cell(v) for v in row])
    for row in sheet.iter_rows(min_row=2):  # real dates, shown the Vietnamese way
        for item in row:
            if isinstance(item.value, datetime):
                item.number_format = DATETIME_FORMAT
            elif isinstance(item.value, date):
                item.number_format = DATE_FORMAT
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"


def _csv_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")  # ISO: Excel reads it as a date in every locale
    if isinstance(value, date):
        return value.isoformat()
    return cell(value)


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_csv_value(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8
