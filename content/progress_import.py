"""Read campaign figures from the Excel/CSV files officials actually send (pure, no database).

One row per unit: "Mã đơn vị" and/or "Tên đơn vị", then each metric's numerator and
denominator columns. Headers match ignoring case, diacritics, spaces and punctuation; title
rows above the header are skipped; unknown columns are ignored. Every problem is reported in
Vietnamese with its row and column, and a file with any problem must not be imported.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from content.campaign import Campaign, level_name
from content.text import fold_key

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
HEADER_SEARCH_ROWS = 30

CODE_HEADERS = {"madonvi", "ma", "madv", "madvhc", "madiaban", "maxa"}
NAME_HEADERS = {"tendonvi", "donvi", "ten", "tendv", "tendvhc", "tendiaban", "tenxa", "coquan", "coquandonvi"}
TOTAL_ROW_KEYS = {"tong", "tongcong", "cong", "tongso", "tongsocong", "toantinh", "tongtoantinh"}  # summary rows, skipped
KIND_PREFIXES = ("thanh pho ", "thi xa ", "phuong ", "xa ", "thi tran ", "huyen ", "thon ", "to dan pho ", "tinh ", "so ")


class UnitRef(NamedTuple):
    """What the importer needs to know about a unit (``db.models.AdminUnit`` fits too)."""

    code: str
    name: str
    level: str
    parent_code: str | None = None


@dataclass
class FigureRow:
    """One unit's figures: metric id -> (numerator, denominator)."""

    row: int  # row number in the file, 1-based, as the user sees it
    unit_code: str
    unit_name: str
    values: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class ParsedFile:
    rows: list[FigureRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


class FileRefused(ValueError):
    """The file is not something we read at all (too big, not xlsx/csv)."""


def header_key(text) -> str:
    """Compare headers ignoring case, diacritics, spaces and punctuation."""
    return fold_key(str(text)).replace(" ", "") if text is not None else ""


def _strip_kind(key: str) -> str:
    for prefix in KIND_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


# ---------------------------------------------------------------- reading cells


_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3}){2,}$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")


def parse_number(value) -> float | None:
    """A number from a cell: real numbers, or Vietnamese text ("1.234", "12,5", "1 234").

    Returns None for an empty cell; raises ValueError when the text is not a number.
    Vietnamese convention: "." groups thousands, "," is the decimal mark.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(value)
        return float(value)
    text = str(value).strip()
    if not text or text in {"-", "–"}:
        return None
    text = re.sub(r"[\s\u00a0\u202f\u2009]", "", text)
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if "." in body and "," in body:  # the later one is the decimal mark
        if body.rfind(",") > body.rfind("."):
            body = body.replace(".", "").replace(",", ".")
        else:
            body = body.replace(",", "")
    elif _THOUSANDS_DOT.match(body):
        body = body.replace(".", "")
    elif _THOUSANDS_COMMA.match(body):
        body = body.replace(",", "")
    elif body.count(",") == 1:
        body = body.replace(",", ".")
    if not _PLAIN.match(body):
        raise ValueError(value)
    number = float(body)
    return -number if negative else number


def _fmt(number: float) -> str:
    """A number as written back in a message: 120, 12,5."""
    if number == int(number):
        return f"{int(number):,}".replace(",", ".")
    return f"{number:,.2f}".rstrip("0").replace(",", " ").replace(".", ",").replace(" ", ".")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- reading files


def _is_probably_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls <= len(sample) // 100


def _read_xlsx(data: bytes) -> list[list]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileRefused("Không đọc được tệp Excel (tệp hỏng hoặc không phải .xlsx).") from exc
    try:
        sheets = []
        for sheet in workbook.worksheets:
            rows = []
            for index, row in enumerate(sheet.iter_rows(values_only=True)):
                if index >= MAX_ROWS:
                    break
                rows.append(list(row))
            sheets.append(rows)
        return sheets
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1258 leaves a few bytes undefined
        raise FileRefused("Không đọc được tệp CSV: bảng mã không phải UTF-8 hay Windows-1258.")
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
    return [list(row) for _, row in zip(range(MAX_ROWS), csv.reader(io.StringIO(text), delimiter=delimiter))]


def read_table(data: bytes, filename: str) -> list[list[list]]:
    """The sheets of an xlsx file, or the one table of a csv file; refuse anything else."""
    if len(data) > MAX_BYTES:
        raise FileRefused(f"Tệp quá lớn ({len(data) / 1024 / 1024:.1f} MB); tối đa 5 MB.".replace(".", ",", 1))
    if not data:
        raise FileRefused("Tệp rỗng.")
    name = filename.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefused("Tệp Excel 97-2003 (.xls) chưa được hỗ trợ: hãy mở và lưu lại dưới dạng .xlsx.")
    if name.endswith((".xlsx", ".xlsm")) or (is_zip and not name.endswith(".csv")):
        if not is_zip or not zipfile.is_zipfile(io.BytesIO(data)):
            raise FileRefused("Tệp không phải là tệp Excel .xlsx thật (nội dung không đúng định dạng).")
        return _read_xlsx(data)
    if name.endswith((".csv", ".txt")) or not name.rpartition(".")[1]:
        if is_zip or not _is_probably_text(data):
            raise FileRefused("Tệp không phải là tệp CSV (có nội dung nhị phân).")
        return [_read_csv(data)]
    raise FileRefused("Chỉ nhận tệp Excel (.xlsx) hoặc CSV (.csv).")


# ---------------------------------------------------------------- header and units


@dataclass
class _Columns:
    code: int | None = None
    name: int | None = None
    metrics: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # id -> (num, den)
    titles: dict[int, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def _find_header(rows: list[list], campaign: Campaign) -> tuple[int, _Columns] | None:
    wanted: dict[str, list[tuple[str, int]]] = {}
    for metric in campaign.metrics:
        wanted.setdefault(header_key(metric.numerator), []).append((metric.id, 0))
        wanted.setdefault(header_key(metric.denominator), []).append((metric.id, 1))
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols = _Columns()
        found: dict[str, list[int | None]] = {}
        for col, cell in enumerate(row):
            key = header_key(cell)
            if not key:
                continue
            cols.titles[col] = _cell_text(cell)
            if key in CODE_HEADERS and cols.code is None:
                cols.code = col
            elif key in NAME_HEADERS and cols.name is None:
                cols.name = col
            elif key in wanted:
                for metric_id, role in wanted[key]:
                    slot = found.setdefault(metric_id, [None, None])
                    if slot[role] is None:
                        slot[role] = col
            else:
                cols.ignored.append(_cell_text(cell))
        if found and cols.code is None and cols.name is None and index > 0:
            # a two-row header: unit columns on the row above, merged over this one
            for col, cell in enumerate(rows[index - 1]):
                key = header_key(cell)
                if key in CODE_HEADERS and cols.code is None and col not in cols.titles:
                    cols.code, cols.titles[col] = col, _cell_text(cell)
                elif key in NAME_HEADERS and cols.name is None and col not in cols.titles:
                    cols.name, cols.titles[col] = col, _cell_text(cell)
        if (cols.code is not None or cols.name is not None) and found:
            cols.metrics = {m.id: tuple(found[m.id]) for m in campaign.metrics if m.id in found}
            return index, cols
    return None


class _Resolver:
    def __init__(self, units: Iterable) -> None:
        self.by_code = {str(u.code): u for u in units}
        self.by_key: dict[str, list] = {}
        self.by_bare: dict[str, list] = {}
        for unit in self.by_code.values():
            key = fold_key(unit.name)
            self.by_key.setdefault(key, []).append(unit)
            self.by_bare.setdefault(_strip_kind(key), []).append(unit)

    def by_name(self, name: str) -> list:
        key = fold_key(name)
        return self.by_key.get(key) or self.by_bare.get(_strip_kind(key), [])

    def closest(self, name: str, n: int = 3) -> list:
        bare = _strip_kind(fold_key(name))
        names = difflib.get_close_matches(bare, list(self.by_bare), n=n, cutoff=0.6)
        return [unit for key in names for unit in self.by_bare[key]][:n]


def _describe(units: list) -> str:
    return ", ".join(f"{u.name} (mã {u.code})" for u in units)


# ---------------------------------------------------------------- parse_figures


def parse_figures(data: bytes, filename: str, campaign: Campaign, units: Iterable = ()) -> ParsedFile:
    """Read a figures file for ``campaign``; ``units`` are the units rows may name.

    Never raises for a bad file: every problem becomes a Vietnamese message in ``errors``.
    """
    parsed = ParsedFile()
    try:
        sheets = read_table(data, filename)
    except FileRefused as exc:
        parsed.errors.append(str(exc))
        return parsed
    found = None
    for rows in sheets:
        header = _find_header(rows, campaign)
        if header is not None:
            found = rows, header
            break
    if found is None:
        example = campaign.metrics[0].numerator
        parsed.errors.append(
            'Không tìm thấy dòng tiêu đề: cần cột "Mã đơn vị" hoặc "Tên đơn vị" và ít nhất một cột '
            f'số liệu của chiến dịch (ví dụ "{example}").'
        )
        return parsed
    rows, (header_index, cols) = found
    parsed.ignored_columns = cols.ignored
    resolver = _Resolver(units)
    seen: dict[str, int] = {}
    errors = parsed.errors

    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        line = index + 1

        def cell(col, row=row):
            return row[col] if col is not None and col < len(row) else None

        code_text = _cell_text(cell(cols.code))
        name_text = _cell_text(cell(cols.name))
        metric_cells = [cell(c) for pair in cols.metrics.values() for c in pair]
        if not code_text and not name_text:
            if any(_cell_text(v) for v in metric_cells):
                errors.append(f'Dòng {line}: thiếu "Mã đơn vị" hoặc "Tên đơn vị".')
            continue
        if header_key(name_text or code_text) in TOTAL_ROW_KEYS:
            continue

        unit = resolver.by_code.get(code_text) if code_text else None
        if unit is None:
            if name_text:
                matches = resolver.by_name(name_text)
                column = cols.titles.get(cols.name, "Tên đơn vị")
                shown = name_text
            else:
                matches, column, shown = [], cols.titles.get(cols.code, "Mã đơn vị"), code_text
            if len(matches) > 1:
                errors.append(
                    f'Dòng {line}, cột "{column}": tên "{shown}" trùng với nhiều đơn vị: '
                    f"{_describe(matches)}. Hãy ghi mã đơn vị."
                )
                continue
            if not matches:
                hint = resolver.closest(name_text) if name_text else []
                message = f'Dòng {line}, cột "{column}": không tìm thấy đơn vị "{shown}".'
                if hint:
                    message += f" Có phải: {_describe(hint)}?"
                errors.append(message)
                continue
            unit = matches[0]
        if unit.code in seen:
            errors.append(
                f'Dòng {line}: đơn vị "{unit.name}" đã có ở dòng {seen[unit.code]} (mỗi đơn vị chỉ một dòng).'
            )
            continue
        seen[unit.code] = line

        figure = FigureRow(row=line, unit_code=str(unit.code), unit_name=unit.name)
        for metric_id, (num_col, den_col) in cols.metrics.items():
            values = []
            bad = False
            for col in (num_col, den_col):
                raw = cell(col)
                try:
                    number = parse_number(raw)
                except ValueError:
                    errors.append(f'Dòng {line}, cột "{cols.titles[col]}": "{_cell_text(raw)}" không phải là số.')
                    bad = True
                    continue
                if number is not None and number < 0:
                    errors.append(f'Dòng {line}, cột "{cols.titles[col]}": số âm ({_fmt(number)}).')
                    bad = True
                values.append(number)
            if bad:
                continue
            numerator, denominator = values if len(values) == 2 else (values + [None, None])[:2]
            if num_col is None or den_col is None:
                missing = campaign.metric(metric_id).denominator if den_col is None else campaign.metric(metric_id).numerator
                if numerator is not None or denominator is not None:
                    present = cols.titles[num_col if den_col is None else den_col]
                    errors.append(f'Dòng {line}, cột "{present}": thiếu cột "{missing}" trong tệp.')
                continue
            if numerator is None and denominator is None:
                continue  # this unit did not report this metric
            if denominator is None:
                errors.append(
                    f'Dòng {line}, cột "{cols.titles[den_col]}": thiếu mẫu số '
                    f"(tử số là {_fmt(numerator)})."
                )
                continue
            if numerator is None:
                errors.append(
                    f'Dòng {line}, cột "{cols.titles[num_col]}": thiếu tử số '
                    f"(mẫu số là {_fmt(denominator)})."
                )
                continue
            if numerator > denominator:
                errors.append(
                    f'Dòng {line}, cột "{cols.titles[num_col]}": tử số ({_fmt(numerator)}) '
                    f"lớn hơn mẫu số ({_fmt(denominator)})."
                )
                continue
            figure.values[metric_id] = (numerator, denominator)
        parsed.rows.append(figure)

    if not parsed.rows and not errors:
        errors.append("Tệp không có dòng số liệu nào dưới dòng tiêu đề.")
    return parsed


# ---------------------------------------------------------------- template


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
