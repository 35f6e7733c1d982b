"""Read campaign figures from the Excel/CSV files officials actually send (pure, no database).

One row per unit ("Mã đơn vị" and/or "Tên đơn vị"), then each metric's numerator and denominator
columns. Headers match by meaning: ignoring case, diacritics, spaces, punctuation and a leading
"Số"/"Tổng số", and through the synonyms each metric lists in its campaign file. A header that is
none of these and not on the campaign's ``ignore_headers`` list stops the whole file, naming the
cell and what was expected. Units are resolved by ``content/progress_units.py``: code, name
("UBND xã Cẩm Bình", "Phường Sông Trí", "Cẩm Bình"), or the former name of a merged commune
from the cited table ``content/units/former_names.toml`` when it means one current commune. Numbers
are read one way only (``content/numbers.py``); counts must be whole and numerators ≤
denominators. Every problem is reported in Vietnamese with its row and column, and a file with
any problem is not imported. Files over the size, row or cell limits, formulas without saved
values and unreadable files are refused before anything is read into the database.
"""

from __future__ import annotations

import csv
import difflib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from content.campaign import Campaign
from content.numbers import NumberError, column_convention, convention_of, parse_number, show_number
from content.progress_units import FORMER_NAMES_FILE, Resolver, UnitRef, describe, load_former_names
from content.text import fold_key

__all__ = ["FORMER_NAMES_FILE", "UnitRef", "load_former_names", "parse_figures", "header_key", "meaning_key"]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000  # a province has ~130 reporting units; more rows is not a figures file
MAX_COLUMNS = 300
MAX_CELLS = 300_000  # counted while reading, empty ones too: a sparse 8-million-cell sheet is refused fast
HEADER_SEARCH_ROWS = 30

CODE_HEADERS = {"madonvi", "ma", "madv", "madvhc", "madiaban", "maxa"}
NAME_HEADERS = {"tendonvi", "donvi", "ten", "tendv", "tendvhc", "tendiaban", "tenxa", "coquan", "coquandonvi",
                "tenxaphuong", "xaphuong", "donvihanhchinh"}
TOTAL_ROW_KEYS = {"tong", "tongcong", "cong", "tongso", "tongsocong", "toantinh", "tongtoantinh"}  # summary rows
HEADER_FILLERS = ("tong so ", "so luong ", "tong ", "so ")


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
    skipped: list[str] = field(default_factory=list)  # rows left out on purpose, with why

    @property
    def ok(self) -> bool:
        return not self.errors and any(row.values for row in self.rows)


class FileRefused(ValueError):
    """The file is not something we read at all (too big, not xlsx/csv, formulas without values)."""


def header_key(text) -> str:
    """Compare headers ignoring case, diacritics, spaces and punctuation."""
    return fold_key(str(text)).replace(" ", "") if text is not None else ""


def meaning_key(text) -> str:
    """A header by its meaning: also without a leading "Số", "Tổng số", "Số lượng"."""
    key = fold_key(str(text)) if text is not None else ""
    for filler in HEADER_FILLERS:
        if key.startswith(filler) and len(key) > len(filler):
            key = key[len(filler):]
            break
    return key.replace(" ", "")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- reading files


def _is_probably_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls <= len(sample) // 100


def _too_big(what: str) -> FileRefused:
    return FileRefused(f"Tệp quá lớn để là tệp số liệu ({what}; tối đa {MAX_ROWS:,} dòng, {MAX_COLUMNS} cột, "
                       f"{MAX_CELLS:,} ô). Hãy xoá các dòng, cột thừa rồi gửi lại.".replace(",", "."))


def _formula_cells(data: bytes) -> int:
    """How many formula cells the workbook holds (0 when none: nothing more to check)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        count = 0
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as fh:
                    count += fh.read(MAX_BYTES * 4).count(b"<f")
        return count


def _sheet_rows(workbook) -> list[list[list]]:
    sheets, cells = [], 0
    for sheet in workbook.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            cells += len(row)
            if len(row) > MAX_COLUMNS and any(v is not None for v in row[MAX_COLUMNS:]):
                raise _too_big(f"hơn {MAX_COLUMNS} cột")
            if cells > MAX_CELLS:
                raise _too_big(f"hơn {MAX_CELLS:,} ô".replace(",", "."))
            rows.append(list(row[:MAX_COLUMNS]))
            if len(rows) > MAX_ROWS:
                raise _too_big(f"hơn {MAX_ROWS:,} dòng".replace(",", "."))
        while rows and not any(v is not None and v != "" for v in rows[-1]):
            rows.pop()
        sheets.append(rows)
    return sheets


def _read_xlsx(data: bytes) -> list[list[list]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formulas = _formula_cells(data)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FileRefused("Không đọc được tệp Excel (tệp hỏng hoặc không phải .xlsx).") from exc
    try:
        sheets = _sheet_rows(workbook)
    finally:
        workbook.close()
    if formulas:
        _refuse_unsaved_formulas(data, sheets)
    return sheets


def _refuse_unsaved_formulas(data: bytes, values: list[list[list]]) -> None:
    """A formula whose value was never saved reads as empty: refuse rather than read nothing."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for sheet, rows in zip(workbook.worksheets, values):
            for r, row in enumerate(sheet.iter_rows(values_only=True)):
                if r >= len(rows):
                    break
                for c, cell in enumerate(row[:MAX_COLUMNS]):
                    if isinstance(cell, str) and cell.startswith("=") and (c >= len(rows[r]) or rows[r][c] is None):
                        raise FileRefused(
                            f"Ô {get_column_letter(c + 1)}{r + 1} (trang \"{sheet.title}\") là công thức {cell[:40]} "
                            "chưa có giá trị đã lưu, nên không đọc được số. Hãy mở tệp bằng Excel, bấm Lưu rồi gửi "
                            "lại (hoặc sao chép và “Dán giá trị”). Chưa có số liệu nào bị thay đổi.")
    finally:
        workbook.close()


def _decode_text(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text": UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileRefused("Không đọc được tệp văn bản UTF-16 (tệp hỏng).") from exc
    if not _is_probably_text(data):
        raise FileRefused("Tệp không phải là tệp CSV (có nội dung nhị phân).")
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused("Không đọc được tệp CSV: bảng mã không phải UTF-8, UTF-16 hay Windows-1258.")


def _read_csv(data: bytes) -> list[list]:
    text = _decode_text(data)
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ("\t", ";", ",")}
        delimiter = max(counts, key=counts.get)
    rows, cells = [], 0
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        cells += len(row)
        if len(row) > MAX_COLUMNS:
            raise _too_big(f"hơn {MAX_COLUMNS} cột")
        if cells > MAX_CELLS:
            raise _too_big(f"hơn {MAX_CELLS:,} ô".replace(",", "."))
        rows.append(list(row))
        if len(rows) > MAX_ROWS:
            raise _too_big(f"hơn {MAX_ROWS:,} dòng".replace(",", "."))
    return rows


def read_table(data: bytes, filename: str) -> list[list[list]]:
    """The sheets of an xlsx file, or the one table of a csv/txt file; refuse anything else."""
    if len(data) > MAX_BYTES:
        raise FileRefused(f"Tệp quá lớn ({len(data) / 1024 / 1024:.1f} MB); tối đa 5 MB.".replace(".", ",", 1))
    if not data:
        raise FileRefused("Tệp rỗng.")
    name = filename.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefused("Tệp Excel 97-2003 (.xls) chưa được hỗ trợ: hãy mở và lưu lại dưới dạng .xlsx.")
    if name.endswith((".xlsx", ".xlsm")) or (is_zip and not name.endswith((".csv", ".txt"))):
        if not is_zip or not zipfile.is_zipfile(io.BytesIO(data)):
            raise FileRefused("Tệp không phải là tệp Excel .xlsx thật (nội dung không đúng định dạng).")
        return _read_xlsx(data)
    if name.endswith((".csv", ".txt")) or not name.rpartition(".")[1]:
        if is_zip:
            raise FileRefused("Tệp không phải là tệp CSV (có nội dung nhị phân).")
        return [_read_csv(data)]
    raise FileRefused("Chỉ nhận tệp Excel (.xlsx) hoặc CSV (.csv).")


# ---------------------------------------------------------------- header


@dataclass
class _Columns:
    code: int | None = None
    name: int | None = None
    metrics: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # id -> (num, den)
    titles: dict[int, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _wanted(campaign: Campaign) -> dict[str, list[tuple[str, int]]]:
    """meaning key -> [(metric id, 0 numerator | 1 denominator)] from every header and synonym."""
    wanted: dict[str, list[tuple[str, int]]] = {}
    for metric in campaign.metrics:
        for role in (0, 1):
            for title in metric.headers(role):
                slots = wanted.setdefault(meaning_key(title), [])
                if (metric.id, role) not in slots:
                    slots.append((metric.id, role))
    return wanted


def cell_ref(row: int, col: int) -> str:
    """The spreadsheet name of a cell from 0-based indexes: (0, 3) -> "D1"."""
    letters, col = "", col + 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def _expected(campaign: Campaign) -> str:
    """What a header row may hold, for the message about an unknown header."""
    names = ["Mã đơn vị", "Tên đơn vị"]
    for metric in campaign.metrics:
        names += [title for title in (metric.numerator, metric.denominator) if title not in names]
    text = "các cột được nhận: " + ", ".join(f'"{name}"' for name in names)
    if campaign.ignore_headers:
        text += "; các cột được bỏ qua: " + ", ".join(f'"{name}"' for name in campaign.ignore_headers)
    return text


def _unknown_headers(index: int, unknown: list[tuple[int, str]], campaign: Campaign) -> list[str]:
    """One message per header that is neither known nor on the ignore list; the first says what is expected."""
    problems = []
    for n, (col, title) in enumerate(unknown):
        message = f'Ô {cell_ref(index, col)}: không nhận ra tiêu đề cột "{title}"'
        if n == 0:
            message += (f" ({_expected(campaign)}). Hãy sửa tiêu đề cho đúng, xoá cột không cần nhập, hoặc thêm "
                        "tên cột vào ignore_headers trong tệp chiến dịch.")
        else:
            message += f" (xem các cột được nhận ở ô {cell_ref(index, unknown[0][0])})."
        problems.append(message)
    return problems


def _find_header(rows: list[list], campaign: Campaign) -> tuple[int, _Columns] | None:
    wanted = _wanted(campaign)
    ignore = {meaning_key(title) for title in campaign.ignore_headers}
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols = _Columns()
        found: dict[str, list[int | None]] = {}
        unknown: list[tuple[int, str]] = []
        for col, cell in enumerate(row):
            key = header_key(cell)
            if not key:
                continue
            cols.titles[col] = _cell_text(cell)
            meaning = meaning_key(cell)
            if key in CODE_HEADERS and cols.code is None:
                cols.code = col
            elif key in NAME_HEADERS and cols.name is None:
                cols.name = col
            elif meaning in wanted:
                for metric_id, role in wanted[meaning]:
                    slot = found.setdefault(metric_id, [None, None])
                    if slot[role] is None:
                        slot[role] = col
                    else:
                        cols.problems.append(
                            f'Ô {cell_ref(index, col)}: hai cột "{cols.titles[slot[role]]}" và "{cols.titles[col]}" '
                            f'cùng là {"tử số" if role == 0 else "mẫu số"} của chỉ tiêu '
                            f'"{campaign.metric(metric_id).name}"; hãy giữ một cột.')
            elif meaning in ignore or key in ignore:
                cols.ignored.append(_cell_text(cell))
            else:
                near = difflib.get_close_matches(meaning, list(wanted), n=1, cutoff=0.88)
                if near:
                    metric_id, role = wanted[near[0]][0]
                    metric = campaign.metric(metric_id)
                    cols.problems.append(
                        f'Ô {cell_ref(index, col)}: tiêu đề "{cols.titles[col]}" gần giống '
                        f'"{metric.headers(role)[0]}" nhưng không trùng; hãy sửa tiêu đề cho đúng (hoặc thêm tên '
                        "này vào danh sách tên khác của chỉ tiêu trong tệp chiến dịch).")
                else:
                    unknown.append((col, _cell_text(cell)))
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
            cols.problems += _unknown_headers(index, unknown, campaign)
            return index, cols
    return None


# ---------------------------------------------------------------- units


def _cell_name(titles: dict[int, str], col: int | None, fallback: str) -> str:
    return titles.get(col, fallback) if col is not None else fallback


# ---------------------------------------------------------------- parse_figures


def _read_count(raw, convention, line: int, title: str, errors: list[str]) -> float | None | bool:
    """A whole, non-negative count from a cell; False (with an error added) when it is not one."""
    try:
        number = parse_number(raw, convention)
    except NumberError as exc:
        if exc.readings:
            first, second = (show_number(r) for r in exc.readings)
            errors.append(f'Dòng {line}, cột "{title}": "{exc.text}" có thể là {first} hoặc {second} (không rõ dấu '
                          "chấm/phẩy phân cách hàng nghìn). Hãy ghi số không có dấu phân cách, ví dụ "
                          f"{int(exc.readings[0])}.")
        else:
            errors.append(f'Dòng {line}, cột "{title}": "{_cell_text(raw)}" không phải là số.')
        return False
    if number is None:
        return None
    if number < 0:
        errors.append(f'Dòng {line}, cột "{title}": số âm ({show_number(number)}).')
        return False
    if not float(number).is_integer():
        errors.append(f'Dòng {line}, cột "{title}": "{_cell_text(raw)}" không phải số nguyên (đọc được '
                      f"{show_number(number)}); số hồ sơ, số thủ tục phải là số nguyên.")
        return False
    return number


def parse_figures(data: bytes, filename: str, campaign: Campaign, units: Iterable = (),
                  former_names: dict[str, str | tuple[str, ...]] | None = None) -> ParsedFile:
    """Read a figures file for ``campaign``; ``units`` are the units rows may name.

    Never raises for a bad file: every problem becomes a Vietnamese message in ``errors``.
    ``former_names`` (former name -> current code or codes) defaults to ``content/units/former_names.toml``.
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
    errors = parsed.errors
    errors.extend(cols.problems)
    if errors:
        return parsed  # a header problem stops the whole file: no row is read
    resolver = Resolver(units, load_former_names() if former_names is None else former_names)
    seen: dict[str, int] = {}
    body = rows[header_index + 1:]

    def cell(row, col):
        return row[col] if col is not None and col < len(row) else None

    metric_cols = [c for pair in cols.metrics.values() for c in pair if c is not None]
    file_convention = column_convention(cell(row, c) for row in body for c in metric_cols)
    conventions = {c: column_convention((cell(row, c) for row in body), file_convention) for c in metric_cols}
    clashing = {c for c in metric_cols
                if len({x for x in (convention_of(cell(row, c)) for row in body) if x}) > 1}
    for c in sorted(clashing):
        errors.append(f'Cột "{cols.titles[c]}": có ô ghi dấu chấm phân cách hàng nghìn và có ô ghi dấu phẩy; '
                      "hãy ghi thống nhất một kiểu (hoặc không dùng dấu phân cách).")

    for offset, row in enumerate(body):
        line = header_index + 2 + offset
        code_text = _cell_text(cell(row, cols.code))
        name_text = _cell_text(cell(row, cols.name))
        metric_cells = [cell(row, c) for c in metric_cols]
        if not code_text and not name_text:
            if any(_cell_text(v) for v in metric_cells):
                errors.append(f'Dòng {line}: thiếu "Mã đơn vị" hoặc "Tên đơn vị".')
            continue
        if header_key(name_text or code_text) in TOTAL_ROW_KEYS:
            parsed.skipped.append(f'dòng {line} ("{name_text or code_text}") là dòng tổng')
            continue

        unit = resolver.by_code.get(code_text) if code_text else None
        if unit is None:
            if name_text:
                matches, former = resolver.by_name(name_text)
                column, shown = _cell_name(cols.titles, cols.name, "Tên đơn vị"), name_text
            else:
                matches, former = [], False
                column, shown = _cell_name(cols.titles, cols.code, "Mã đơn vị"), code_text
            if len(matches) > 1:
                if former or not resolver.is_current_name(name_text):
                    errors.append(f'Dòng {line}, cột "{column}": tên cũ "{shown}" đã sáp nhập vào nhiều đơn vị hiện '
                                  f"nay: {describe(matches)}. Hãy ghi tên mới hoặc mã đơn vị hiện nay.")
                else:
                    errors.append(f'Dòng {line}, cột "{column}": tên "{shown}" trùng với nhiều đơn vị: '
                                  f"{describe(matches)}. Hãy ghi mã đơn vị.")
                continue
            if not matches:
                if former:
                    message = (f'Dòng {line}, cột "{column}": tên cũ "{shown}" không có trong bảng tên cũ → tên mới '
                               "(content/units/former_names.toml). Hãy ghi tên mới hoặc mã đơn vị hiện nay.")
                else:
                    message = f'Dòng {line}, cột "{column}": không tìm thấy đơn vị "{shown}".'
                    hint = resolver.closest(name_text) if name_text else []
                    if hint:
                        message += f" Có phải: {describe(hint)}?"
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
            values = [None, None]
            bad = False
            for i, col in enumerate((num_col, den_col)):
                if col is None:
                    continue
                number = _read_count(cell(row, col), conventions.get(col), line, cols.titles[col], errors)
                if number is False:
                    bad = True
                else:
                    values[i] = number
            if bad:
                continue
            numerator, denominator = values
            metric = campaign.metric(metric_id)
            if num_col is None or den_col is None:
                if numerator is not None or denominator is not None:
                    present = cols.titles[num_col if den_col is None else den_col]
                    missing = metric.denominator if den_col is None else metric.numerator
                    errors.append(f'Dòng {line}, cột "{present}": thiếu cột "{missing}" trong tệp.')
                continue
            if numerator is None and denominator is None:
                continue  # this unit did not report this metric
            if denominator is None:
                errors.append(f'Dòng {line}, cột "{cols.titles[den_col]}": thiếu mẫu số '
                              f"(tử số là {show_number(numerator)}).")
                continue
            if numerator is None:
                errors.append(f'Dòng {line}, cột "{cols.titles[num_col]}": thiếu tử số '
                              f"(mẫu số là {show_number(denominator)}).")
                continue
            if numerator > denominator:
                errors.append(f'Dòng {line}, cột "{cols.titles[num_col]}": tử số ({show_number(numerator)}) '
                              f"lớn hơn mẫu số ({show_number(denominator)}).")
                continue
            figure.values[metric_id] = (numerator, denominator)
        if not figure.values:
            parsed.skipped.append(f'dòng {line} ({unit.name}) không có số liệu')
        parsed.rows.append(figure)

    if not any(row.values for row in parsed.rows) and not errors:
        errors.append("Tệp không có số liệu nào dưới dòng tiêu đề (mọi ô số liệu đều trống): không thay thế gì.")
    return parsed
