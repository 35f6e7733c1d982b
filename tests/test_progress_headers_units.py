"""Strict headers (an unknown header stops the file; ``ignore_headers`` in the campaign file) and the
cited table of former commune names (issue 10)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import openpyxl
import pytest

from content.campaign import CAMPAIGNS_DIR, DEFAULT_IGNORE_HEADERS, load_campaign
from content.campaign_file import campaign_toml_from_xlsx, check_campaign, load_campaign_text
from content.progress_import import parse_figures
from content.progress_units import FORMER_NAMES_FILE, load_former_names
from db.units import current_units
from tests.test_campaign_cli import filled_template, folder, run  # noqa: F401 - folder is a fixture
from tests.test_progress import xlsx

CAMPAIGN = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
UNITS = [u for u in current_units() if u.parent_code]  # the 69 communes and wards of today
FIGURES = ["Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]


def parse(rows, campaign=CAMPAIGN, **kw):
    return parse_figures(xlsx(rows, **kw), "so-lieu.xlsx", campaign, UNITS)


def code_of(name: str) -> str:
    return next(u.code for u in UNITS if u.name == name)


# ---------------------------------------------------------------- headers


def test_an_unknown_header_stops_the_whole_file_naming_the_cell_and_what_was_expected():
    rows = [["STT", "Tên đơn vị", *FIGURES, "Ngày báo cáo"], [1, "Xã Cẩm Bình", 3, 4], [2, "Phường Sông Trí", 1, 2]]
    parsed = parse(rows, title_rows=2)
    assert not parsed.ok and parsed.rows == [] and len(parsed.errors) == 1
    message = parsed.errors[0]
    assert message.startswith('Ô E3: không nhận ra tiêu đề cột "Ngày báo cáo"')
    for expected in ('"Mã đơn vị"', '"Tên đơn vị"', '"Hồ sơ nộp trực tuyến"', '"Kết quả trả điện tử"',
                     '"STT"', '"Ghi chú"', "ignore_headers"):
        assert expected in message
    # a second unknown header is named too, pointing back to the list
    parsed = parse([["Tên đơn vị", "Lũy kế", *FIGURES, "Ngày báo cáo"], ["Xã Cẩm Bình", 9, 3, 4]])
    assert [e.split(":")[0] for e in parsed.errors] == ["Ô B1", "Ô E1"]
    assert "xem các cột được nhận ở ô B1" in parsed.errors[1]


@pytest.mark.parametrize("header", ["STT", "stt", "Số TT", "TT", "Số thứ tự", "So thu tu", "Ghi chú", "GHI CHU",
                                    "ghi chú:", "Đơn vị tính", "don vi tinh", "ĐVT", "dvt"])
def test_the_default_ignored_headers_pass_with_or_without_diacritics_in_any_case(header):
    parsed = parse([[header, "Tên đơn vị", *FIGURES], ["x", "Xã Cẩm Bình", 3, 4]])
    assert parsed.errors == [] and parsed.ignored_columns == [header]
    assert parsed.rows[0].values == {"nop_truc_tuyen": (3, 4)}


def test_the_ignore_list_of_the_campaign_file_is_honoured(tmp_path):
    text = (CAMPAIGNS_DIR / "ke-hoach-195-2024.toml").read_text(encoding="utf-8")
    assert 'ignore_headers = ["STT", "TT", "Số thứ tự", "Ghi chú", "Đơn vị tính", "ĐVT"]' in text
    own = load_campaign_text(text.replace('ignore_headers = ["STT", ', 'ignore_headers = ["Lũy kế", "Tỷ lệ (%)", "STT", '),
                             "ke-hoach-195-2024")
    rows = [["STT", "Tên đơn vị", *FIGURES, "Lũy kế", "Tỷ lệ (%)"], [1, "Xã Cẩm Bình", 3, 4, 10, "75%"]]
    assert parse(rows).errors[0].startswith('Ô E1: không nhận ra tiêu đề cột "Lũy kế"')
    parsed = parse(rows, campaign=own)
    assert parsed.errors == [] and parsed.ignored_columns == ["STT", "Lũy kế", "Tỷ lệ (%)"]
    # the list in the file is the whole list: without "STT" in it, "STT" is unknown
    only = load_campaign_text(text.replace('ignore_headers = ["STT", "TT", ', 'ignore_headers = ['),
                              "ke-hoach-195-2024")
    assert only.ignore_headers == ("Số thứ tự", "Ghi chú", "Đơn vị tính", "ĐVT")
    assert parse(rows[:1] + [[1, "Xã Cẩm Bình", 3, 4]], campaign=only).errors[0].startswith('Ô A1: không nhận ra')
    # no key at all: the default list
    default = load_campaign_text("\n".join(line for line in text.splitlines() if not line.startswith("ignore_headers")),
                                 "ke-hoach-195-2024")
    assert default.ignore_headers == DEFAULT_IGNORE_HEADERS


def test_content_check_refuses_an_ignored_header_that_is_a_figure_or_unit_column():
    text = (CAMPAIGNS_DIR / "ke-hoach-195-2024.toml").read_text(encoding="utf-8")
    wrong = load_campaign_text(text.replace('ignore_headers = ["STT", ', 'ignore_headers = ["Số hồ sơ tiếp nhận", '
                                            '"Tên đơn vị", "STT", '), "ke-hoach-195-2024")
    problems = check_campaign(wrong)
    assert len(problems) == 2 and all("ignore_headers" in p for p in problems)
    assert '"Số hồ sơ tiếp nhận"' in problems[0] and '"Tên đơn vị"' in problems[1]
    assert check_campaign(CAMPAIGN) == []
    with pytest.raises(ValueError, match="'ignore_headers' phải là danh sách tên cột"):
        load_campaign_text(text.replace('ignore_headers = ["STT", ', 'ignore_headers = [1, '), "ke-hoach-195-2024")


def test_the_campaign_template_carries_the_ignore_list(tmp_path, folder):  # noqa: F811 - the fixture
    path = filled_template(tmp_path)
    book = openpyxl.load_workbook(path)
    labels = {row[0].value: row[1].value for row in book["Chien dich"].iter_rows(min_row=2)}
    label = "Cột không có số liệu, bỏ qua khi nhập (cách nhau bởi ;)"
    assert labels[label] == "STT; TT; Số thứ tự; Ghi chú; Đơn vị tính; ĐVT"
    text = campaign_toml_from_xlsx(Path(path).read_bytes())
    assert load_campaign_text(text, "ke-hoach-thu-2027").ignore_headers == DEFAULT_IGNORE_HEADERS
    for row in book["Chien dich"].iter_rows(min_row=2):
        if row[0].value == label:
            row[1].value = "STT; Lũy kế"
    book.save(path)
    assert run("campaign", "new", path) == 0
    assert load_campaign(folder / "ke-hoach-thu-2027.toml").ignore_headers == ("STT", "Lũy kế")


# ---------------------------------------------------------------- former commune names


def test_the_former_names_table_cites_its_source_and_names_only_current_units():
    data = tomllib.loads(FORMER_NAMES_FILE.read_text(encoding="utf-8"))
    header = FORMER_NAMES_FILE.read_text(encoding="utf-8")[:3000]
    assert "1665/NQ-UBTVQH15" in header and "vietnamadminunits 1.0.4" in header
    current = {u.code: u.name for u in UNITS}
    assert len(current) == 69
    rows = data["former"]
    assert all(current[row["current_code"]] == row["current_name"] for row in rows)
    assert len({row["old_code"] for row in rows}) == 209  # every commune-level unit before 01/07/2025
    assert set(current) == {row["current_code"] for row in rows}  # every unit of today has its former ones


@pytest.mark.parametrize("written, current", [
    ("Xã Cẩm Vịnh", "Xã Cẩm Bình"),
    ("UBND xã Thạch Bình", "Xã Cẩm Bình"),
    ("Phường Nam Hà", "Phường Thành Sen"),
    ("xã Tượng Sơn (cũ)", "Xã Thạch Lạc"),
    ("Thị trấn Thạch Hà", "Xã Thạch Hà"),
    ("Phường Thạch Hạ", "Phường Trần Phú"),  # not Xã Thạch Hà: the diacritics tell them apart
    ("Hộ Độ", "Phường Trần Phú"),
    ("Phường Trần Phú", "Phường Trần Phú"),  # a current name is today's unit ...
    ("Phường Trần Phú (cũ)", "Phường Thành Sen"),  # ... and "(cũ)" the former one, merged elsewhere
    ("Xã Sơn Kim 1", "Xã Sơn Kim 1"),
])
def test_former_commune_names_from_the_cited_table_map_to_their_current_commune(written, current):
    parsed = parse([["Tên đơn vị", *FIGURES], [written, 3, 4]])
    assert parsed.errors == [] and [r.unit_code for r in parsed.rows] == [code_of(current)]


@pytest.mark.parametrize("written, candidates", [
    ("Phường Đại Nài", ["Phường Hà Huy Tập", "Phường Thành Sen"]),  # split between two wards
    ("xã Kỳ Lợi (cũ)", ["Phường Hoành Sơn", "Phường Sông Trí", "Phường Vũng Áng"]),
])
def test_a_former_name_merged_into_several_communes_is_refused_listing_the_candidates(written, candidates):
    parsed = parse([["Tên đơn vị", *FIGURES], ["Xã Cẩm Bình", 1, 2], [written, 3, 4]])
    assert not parsed.ok and len(parsed.errors) == 1
    message = parsed.errors[0]
    assert message.startswith(f'Dòng 3, cột "Tên đơn vị": tên cũ "{written}" đã sáp nhập vào nhiều đơn vị')
    for name in candidates:
        assert f"{name} (mã {code_of(name)})" in message
    table_name = written.replace(" (cũ)", "").replace("xã ", "Xã ")
    assert set(load_former_names()[table_name]) == {code_of(name) for name in candidates}


def test_content_check_refuses_a_former_names_row_that_names_no_current_unit(tmp_path):
    from content.progress_units import check_former_names

    assert check_former_names(UNITS) == []
    table = tmp_path / "former_names.toml"
    table.write_text('[[former]]\nname = "Xã Cẩm Vịnh"\ncurrent_code = "99999"\n'
                     f'[[former]]\nname = "Xã Cẩm Thành"\ncurrent_code = "{code_of("Xã Cẩm Bình")}"\n'
                     'current_name = "Xã Cẩm Xuyên"\n', encoding="utf-8")
    problems = check_former_names(UNITS, table)
    assert len(problems) == 2 and "'99999' không có" in problems[0] and "không phải Xã Cẩm Xuyên" in problems[1]
