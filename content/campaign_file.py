"""Campaign files for officials: checking them, an .xlsx template with one row per metric, and
turning a filled-in template into the campaign's TOML file (pure: bytes and text in and out).

``python -m bot campaign template`` writes the template; ``campaign new FILE.xlsx|FILE.toml``
checks a file with :func:`check_campaign` (the checks ``content check`` runs on every campaign)
and copies it into ``content/campaigns/``.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from datetime import date, datetime
from pathlib import Path

from content.campaign import CAMPAIGNS_DIR, DEFAULT_IGNORE_HEADERS, LEVELS, Campaign, CampaignError, load_campaign

LEVEL_COLUMNS = {"tinh": "Mục tiêu cấp tỉnh (%)", "xa": "Mục tiêu cấp xã (%)", "huyen": "Mục tiêu cấp huyện (%)"}
METRIC_COLUMNS = ["Mã chỉ tiêu", "Tên chỉ tiêu", "Cột tử số", "Cột mẫu số", "Đơn vị đếm",
                  LEVEL_COLUMNS["tinh"], LEVEL_COLUMNS["xa"], "Tên khác của cột tử số (cách nhau bởi ;)",
                  "Tên khác của cột mẫu số (cách nhau bởi ;)"]
FIELDS = [("id", "Mã chiến dịch (chữ thường, không dấu, nối bằng -)", "chien-dich-2027"),
          ("name", "Tên chiến dịch", ""), ("plan", "Số hiệu, ngày của kế hoạch", ""),
          ("start", "Ngày bắt đầu (dd/mm/yyyy)", ""), ("end", "Ngày kết thúc (dd/mm/yyyy)", ""),
          ("sources", "Nguồn (đường dẫn văn bản)", ""),
          ("ignore_headers", "Cột không có số liệu, bỏ qua khi nhập (cách nhau bởi ;)", "; ".join(DEFAULT_IGNORE_HEADERS))]
OPTIONAL_FIELDS = ("sources", "ignore_headers")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")


def check_campaign(campaign: Campaign) -> list[str]:
    """What makes a loadable campaign still wrong to run: a column header (or synonym) that is the
    numerator of one metric and the denominator of another, an ignored header (``ignore_headers``)
    that is also a figure or unit column, or an id that cannot be a file name."""
    from content.progress_import import CODE_HEADERS, NAME_HEADERS, header_key, meaning_key

    problems = []
    roles: dict[str, dict[int, tuple[str, str]]] = {}
    for metric in campaign.metrics:
        for role in (0, 1):
            for header in metric.headers(role):
                roles.setdefault(meaning_key(header), {}).setdefault(role, (metric.id, header))
    for by_role in roles.values():
        if len(by_role) == 2:
            (num_metric, header), (den_metric, _other) = by_role[0], by_role[1]
            problems.append(f'{campaign.id}: cột "{header}" vừa là tử số của \'{num_metric}\' vừa là mẫu số '
                            f"của '{den_metric}'")
    for header in campaign.ignore_headers:
        if meaning_key(header) in roles or header_key(header) in CODE_HEADERS | NAME_HEADERS:
            problems.append(f'{campaign.id}: cột "{header}" trong ignore_headers là cột số liệu hoặc cột mã/tên '
                            "đơn vị; bỏ qua nó thì mất số liệu")
    if not _ID.match(campaign.id):
        problems.append(f"{campaign.id}: mã chiến dịch chỉ gồm chữ thường không dấu, số và dấu - (3–63 ký tự)")
    return problems


def check_campaigns(directory: Path | None = None) -> list[str]:
    """Every campaign file (examples too): load errors, ambiguous headers, repeated ids."""
    folder = directory or CAMPAIGNS_DIR
    problems, ids = [], {}
    for path in sorted([*folder.glob("*.toml"), *(folder / "examples").glob("*.toml")]):
        try:
            campaign = load_campaign(path)
        except CampaignError as exc:
            problems.append(str(exc))
            continue
        if campaign.id in ids:
            problems.append(f"{path.name}: mã '{campaign.id}' đã có ở {ids[campaign.id]}")
        ids[campaign.id] = path.name
        problems += check_campaign(campaign)
    return problems


# ---------------------------------------------------------------- xlsx template


def campaign_template() -> bytes:
    """An .xlsx for a new campaign: sheet "Chien dich" (one value per line), sheet "Chi tieu"
    (one row per metric: name, numerator column, denominator column, target per level)."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    book = openpyxl.Workbook()
    info = book.active
    info.title = "Chien dich"
    info.append(["Trường", "Giá trị", "Ghi chú"])
    notes = {"start": "ví dụ 01/01/2027", "end": "ví dụ 31/12/2027",
             "id": "cũng là tên tệp; không trùng chiến dịch đã có",
             "ignore_headers": "tệp số liệu có cột nào khác (không phải mã/tên đơn vị, cột số liệu hay cột trong "
                               "danh sách này) thì cả tệp bị từ chối, báo ô nào"}
    for key, label, value in FIELDS:
        info.append([label, value, notes.get(key, "")])
    info.append(["Các cấp báo cáo (tinh, xa)", "tinh, xa", "từ 01/7/2025 chỉ còn cấp tỉnh và cấp xã"])
    metrics = book.create_sheet("Chi tieu")
    metrics.append(METRIC_COLUMNS)
    metrics.append(["nop_truc_tuyen", "Tỷ lệ hồ sơ nộp trực tuyến", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận",
                    "hồ sơ", None, None, "Số hồ sơ nộp trực tuyến", "Tổng số hồ sơ tiếp nhận; Số hồ sơ tiếp nhận"])
    for sheet in (info, metrics):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for column in "ABCDEFGHI":
            sheet.column_dimensions[column].width = 26
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _day(value, label: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CampaignError(f'"{label}": "{text}" không phải là ngày dạng dd/mm/yyyy')


def _percent(value, where: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    from content.numbers import VI, NumberError, parse_number

    try:
        number = parse_number(str(value).replace("%", "").strip() if isinstance(value, str) else value, VI)
    except NumberError as exc:
        raise CampaignError(f'{where}: "{value}" không phải là số phần trăm') from exc
    if isinstance(value, float) and 0 < value <= 1 and not str(value).strip().endswith("%"):
        number = value * 100  # a cell formatted as percent holds 0.4 for 40%
    return number


def _q(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a TOML basic string


def campaign_toml_from_xlsx(data: bytes) -> str:
    """The TOML text of a filled-in :func:`campaign_template`; CampaignError names the cell."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise CampaignError("không đọc được tệp Excel (.xlsx)") from exc
    try:
        if "Chien dich" not in book.sheetnames or "Chi tieu" not in book.sheetnames:
            raise CampaignError('cần hai trang "Chien dich" và "Chi tieu" như tệp mẫu (python -m bot campaign template)')
        info_rows = [list(r) for r in book["Chien dich"].iter_rows(min_row=2, max_row=40, values_only=True)]
        metric_rows = [list(r) for r in book["Chi tieu"].iter_rows(min_row=1, max_row=60, values_only=True)]
    finally:
        book.close()
    values = {str(r[0]).strip(): r[1] if len(r) > 1 else None for r in info_rows if r and r[0]}
    fields = {}
    for key, label, _example in FIELDS:
        value = values.get(label)
        if key not in OPTIONAL_FIELDS and (value is None or str(value).strip() == ""):
            raise CampaignError(f'trang "Chien dich": thiếu "{label}"')
        fields[key] = value
    levels = [lv.strip() for lv in str(values.get("Các cấp báo cáo (tinh, xa)") or "tinh, xa").split(",") if lv.strip()]
    if any(level not in LEVELS for level in levels):
        raise CampaignError(f'trang "Chien dich": các cấp phải trong {list(LEVELS)}')
    start, end = _day(fields["start"], "Ngày bắt đầu"), _day(fields["end"], "Ngày kết thúc")
    header = [str(c).strip() if c is not None else "" for c in metric_rows[0]]
    if header[:4] != METRIC_COLUMNS[:4]:
        raise CampaignError(f'trang "Chi tieu", dòng 1: cần các cột {METRIC_COLUMNS[:4]}')
    col = {name: header.index(name) for name in header if name}
    lines = [f"# Tạo từ tệp Excel bằng `python -m bot campaign new` ngày {date.today():%d/%m/%Y}.",
             f"id = {_q(fields['id'])}", f"name = {_q(fields['name'])}", f"plan = {_q(fields['plan'])}",
             f"start = {start.isoformat()}", f"end = {end.isoformat()}",
             "levels = [" + ", ".join(_q(lv) for lv in levels) + "]",
             "sources = [" + (_q(fields["sources"]) if fields["sources"] else "") + "]"]
    ignore = [n.strip() for n in str(fields["ignore_headers"] or "").split(";") if n.strip()]
    if ignore:  # no value: the default list (STT, Ghi chú, …)
        lines.append("ignore_headers = [" + ", ".join(_q(n) for n in ignore) + "]")
    count = 0
    for number, row in enumerate(metric_rows[1:], start=2):
        def cell(name, row=row):
            index = col.get(name)
            value = row[index] if index is not None and index < len(row) else None
            return None if value is None or str(value).strip() == "" else value
        if not any(cell(name) for name in METRIC_COLUMNS[:4]):
            continue
        where = f'trang "Chi tieu", dòng {number}'
        for name in METRIC_COLUMNS[:4]:
            if cell(name) is None:
                raise CampaignError(f'{where}: thiếu "{name}"')
        targets = {}
        for level in levels:
            label = LEVEL_COLUMNS.get(level)
            target = _percent(cell(label), f'{where}, cột "{label}"') if label in col else None
            if target is None:
                raise CampaignError(f'{where}: thiếu mục tiêu cấp {level} (cột "{label}")')
            targets[level] = target
        lines += ["", "[[metrics]]", f"id = {_q(cell('Mã chỉ tiêu'))}", f"name = {_q(cell('Tên chỉ tiêu'))}",
                  f"numerator = {_q(cell('Cột tử số'))}", f"denominator = {_q(cell('Cột mẫu số'))}",
                  f"unit = {_q(cell('Đơn vị đếm') or 'hồ sơ')}",
                  "target = { " + ", ".join(f"{lv} = {_num(t)}" for lv, t in targets.items()) + " }"]
        for key, label in (("numerator_synonyms", METRIC_COLUMNS[7]), ("denominator_synonyms", METRIC_COLUMNS[8])):
            names = [n.strip() for n in str(cell(label) or "").split(";") if n.strip()]
            if names:
                lines.append(f"{key} = [" + ", ".join(_q(n) for n in names) + "]")
        count += 1
    if not count:
        raise CampaignError('trang "Chi tieu": chưa có chỉ tiêu nào')
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def load_campaign_text(text: str, campaign_id: str) -> Campaign:
    """Check TOML text as the campaign file ``<campaign_id>.toml`` would be checked."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{campaign_id}.toml"
        path.write_text(text, encoding="utf-8")
        return load_campaign(path)
