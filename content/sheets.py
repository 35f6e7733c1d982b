"""Writing tables as spreadsheets (xlsx, csv) that Excel opens safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that Excel or LibreOffice would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def to_xlsx(rows: list[list], title: str = "Sheet", widths: Sequence[float] = ()) -> bytes:
    """One sheet with ``rows`` (the first is the header, frozen); ``widths`` per column from A."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8
