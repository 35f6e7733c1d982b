"""Imports that never misread (issue 10) and hostile files (issue 12, points 2, 3, 10, 16)."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.campaign import CAMPAIGNS_DIR, load_campaign
from content.numbers import EN, VI, NumberError, column_convention, convention_of, parse_number
from content.progress_import import MAX_CELLS, UnitRef, header_key, meaning_key, parse_figures
from tests.test_progress import xlsx

CAMPAIGN = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
UNITS = [UnitRef("42", "Tỉnh Hà Tĩnh", "tinh", None), UnitRef("18754", "Phường Sông Trí", "xa", "42"),
         UnitRef("18900", "Xã Cẩm Bình", "xa", "42"), UnitRef("18901", "Xã Cẩm Xuyên", "xa", "42"),
         UnitRef("S1", "Sở Tư pháp", "tinh", "42")]


def parse(rows, **kw):
    return parse_figures(xlsx(rows), "so-lieu.xlsx", CAMPAIGN, UNITS, **kw)


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("text, convention, expected", [
    ("1.234", VI, 1234), ("1,234", EN, 1234), ("1.234", EN, 1.234), ("1,234", VI, 1.234),
    ("1.234.567", None, 1234567), ("1,234,567", None, 1234567), ("1.234,5", None, 1234.5),
    ("1,234.5", None, 1234.5), ("12,5", None, 12.5), ("12.5", None, 12.5), ("0,500", None, 0.5),
    ("1 234", None, 1234), ("-1.234.000", None, -1234000),
])
def test_a_number_is_read_one_way_when_it_can_be(text, convention, expected):
    assert parse_number(text, convention) == expected


@pytest.mark.parametrize("text, readings", [("1.234", (1234, 1.234)), ("1,234", (1234, 1.234)),
                                            ("123.456", (123456, 123.456))])
def test_a_cell_that_could_be_either_is_an_error_with_both_readings(text, readings):
    with pytest.raises(NumberError) as info:
        parse_number(text)
    assert info.value.readings == readings


@pytest.mark.parametrize("text", ["1.23.4", "12,34,5", "1,2.3,4", "abc", "1e5", "١٢", "²"])
def test_what_is_not_a_number_is_refused(text):
    with pytest.raises(NumberError) as info:
        parse_number(text, VI)
    assert info.value.readings == ()


def test_the_column_or_the_file_shows_the_convention():
    assert column_convention(["1.234", "2.500.000", None]) == VI
    assert column_convention(["1,234", "12.5"]) == EN
    assert column_convention(["1.234"], fallback=EN) == EN
    assert column_convention(["1.234,5", "1,234.5"], fallback=None) is None  # both: nothing settled


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _en(n: int) -> str:
    return f"{n:,}"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_a_whole_count_written_either_way_reads_back_with_its_convention(n):
    for convention, write in ((VI, _vi), (EN, _en)):
        assert parse_number(write(n), convention) == n
        # and the cell never says anything against its own convention
        assert convention_of(write(n)) in (convention, None)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1000, max_value=10**12))
def test_grouped_numbers_with_two_groups_or_more_need_no_convention(n):
    if n >= 1_000_000:
        assert parse_number(_vi(n)) == n and parse_number(_en(n)) == n
    else:
        with pytest.raises(NumberError):
            parse_number(_vi(n))  # "1.234": either 1234 or 1,234


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.,- \u00a0abc", max_size=14), st.sampled_from([None, VI, EN]))
def test_the_reader_returns_a_number_none_or_a_number_error_never_anything_else(text, convention):
    try:
        value = parse_number(text, convention)
    except NumberError:
        return
    assert value is None or isinstance(value, float)


# ---------------------------------------------------------------- headers and units


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([h for m in CAMPAIGN.metrics for r in (0, 1) for h in m.headers(r)]),
       st.sampled_from([str.upper, str.lower, str.title, lambda s: "  " + s.replace(" ", "   ") + " ."]),
       st.booleans())
def test_a_header_matches_whatever_its_case_spacing_punctuation_or_diacritics(header, change, fold):
    from content.text import fold_diacritics

    written = change(fold_diacritics(header) if fold else header)
    assert meaning_key(written) == meaning_key(header) and header_key(written) == header_key(header)


def test_real_report_headers_and_unit_names_are_understood():
    rows = [["STT", "Đơn vị", "Số hồ sơ nộp trực tuyến", "Tổng số hồ sơ tiếp nhận", "So ho so da giai quyet",
             "Số hồ sơ trả kết quả điện tử", "Số TTHC đủ điều kiện", "Số TTHC cung cấp DVCTT"],
            [1, "UBND xã Cẩm Bình", 30, 60, 50, 20, 100, 90],
            [2, "Phường Sông Trí", 10, 20, None, None, None, None],
            [3, "UBND phường Sông Trí (cũ)", 1, 2, None, None, None, None]]
    parsed = parse(rows[:3])
    assert parsed.errors == []
    by_code = {r.unit_code: r.values for r in parsed.rows}
    assert by_code["18900"] == {"nop_truc_tuyen": (30, 60), "ket_qua_dien_tu": (20, 50), "dvctt": (90, 100)}
    assert by_code["18754"] == {"nop_truc_tuyen": (10, 20)}
    # "(cũ)" names a former commune: only the cited former-names table may map it.
    parsed = parse([rows[0], rows[3]])
    assert len(parsed.errors) == 1 and "tên cũ" in parsed.errors[0] and "Dòng 2" in parsed.errors[0]


def test_former_commune_names_map_to_their_current_commune_when_unambiguous():
    header = ["Tên đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]
    former = {"cam huy": "18900"}  # a table row: former "Xã Cẩm Huy" is today's Cẩm Bình (test data)
    parsed = parse([header, ["xã Cẩm Huy (cũ)", 3, 4], ["Cẩm Xuyên", 1, 2]], former_names=former)
    assert parsed.errors == [] and [r.unit_code for r in parsed.rows] == ["18900", "18901"]
    # a former name equal to a current commune's name: written plainly it is today's commune,
    # written with "(cũ)" it is the former one
    parsed = parse([header, ["Cẩm Xuyên", 3, 4]], former_names={"cam xuyen": "18900"})
    assert parsed.errors == [] and [r.unit_code for r in parsed.rows] == ["18901"]
    parsed = parse([header, ["Xã Cẩm Xuyên (cũ)", 3, 4]], former_names={"Xã Cẩm Xuyên": "18900"})
    assert parsed.errors == [] and [r.unit_code for r in parsed.rows] == ["18900"]


def test_a_former_name_for_two_communes_is_refused_with_its_candidates(tmp_path):
    from content.progress_import import load_former_names

    table = tmp_path / "former.toml"
    table.write_text('[[former]]\nname = "Xã Cẩm Huy"\ncurrent_code = "18900"\n'
                     '[[former]]\nname = "Xã Cẩm Huy"\ncurrent_code = "18901"\n'
                     '[[former]]\nname = "Thị trấn B"\ncurrent_code = "3"\n', encoding="utf-8")
    former = load_former_names(table)
    assert former == {"Xã Cẩm Huy": ("18900", "18901"), "Thị trấn B": ("3",)}
    header = ["Tên đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]
    for written in ("Xã Cẩm Huy", "xã Cẩm Huy (cũ)"):
        parsed = parse([header, [written, 3, 4]], former_names=former)
        assert not parsed.ok and len(parsed.errors) == 1
        assert "Xã Cẩm Bình (mã 18900)" in parsed.errors[0] and "Xã Cẩm Xuyên (mã 18901)" in parsed.errors[0]


def test_an_ambiguous_or_near_miss_header_stops_the_whole_file():
    parsed = parse([["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Số hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"],
                    ["18900", 1, 1, 2]])
    assert any("hai cột" in e for e in parsed.errors) and not parsed.ok
    parsed = parse([["Mã đơn vị", "Hồ sơ nộp trực tuyếnn", "Tổng hồ sơ tiếp nhận"], ["18900", 1, 2]])
    assert any("gần giống" in e and "Hồ sơ nộp trực tuyếnn" in e for e in parsed.errors)


@pytest.mark.parametrize("cell, words", [("1,5", "không phải số nguyên"), ("1.234", "có thể là 1.234 hoặc 1,234")])
def test_counts_must_be_whole_and_an_unclear_separator_names_the_cell(cell, words):
    parsed = parse([["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"], ["18900", cell, 5000]])
    assert len(parsed.errors) == 1 and words in parsed.errors[0]
    assert parsed.errors[0].startswith('Dòng 2, cột "Hồ sơ nộp trực tuyến"')


def test_the_other_cells_of_the_column_settle_the_separator():
    header = ["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]
    vi = parse([header, ["18900", "1.234", "2.000"], ["18901", "1.500.000", "2.000.000"]])
    en = parse([header, ["18900", "1,234", "2,000"], ["18901", "1,500,000", "2,000,000"]])
    for parsed in (vi, en):
        assert parsed.errors == [] and parsed.rows[0].values == {"nop_truc_tuyen": (1234, 2000)}


# ---------------------------------------------------------------- hostile files


def test_a_formula_workbook_without_saved_values_is_refused_not_read_as_empty():
    parsed = parse([["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"], ["18900", "=B3*2", "=C3*2"],
                    ["18901", 5, 10]])
    assert not parsed.ok and parsed.rows == []
    assert "công thức" in parsed.errors[0] and "Excel" in parsed.errors[0] and "B2" in parsed.errors[0]


def test_a_file_with_no_figure_at_all_never_replaces_anything():
    parsed = parse([["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"], ["18900", None, None]])
    assert not parsed.ok and "không thay thế gì" in parsed.errors[0]


def test_a_huge_sparse_sheet_is_refused_fast_with_a_clear_message():
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"] + [None] * 200 + ["x"])
    for _ in range(MAX_CELLS // 200 + 10):
        sheet.append(["18900"] + [None] * 202 + ["y"])
    out = io.BytesIO()
    workbook.save(out)
    start = time.perf_counter()
    parsed = parse_figures(out.getvalue(), "lon.xlsx", CAMPAIGN, UNITS)
    elapsed = time.perf_counter() - start
    assert not parsed.ok and "Tệp quá lớn để là tệp số liệu" in parsed.errors[0]
    assert elapsed < 30  # not a benchmark: only that it stops at the limit instead of reading on


def test_thousands_of_unknown_headers_make_one_short_answer():
    from handlers.progress.chat import MAX_ERRORS_SHOWN, errors_reply

    header = ["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"] + [f"Cột lạ {i}" for i in range(250)]
    rows = [header] + [["X" + str(i), 1, 2] for i in range(300)]
    parsed = parse(rows)
    assert len(parsed.errors) == 250 and parsed.rows == []  # an unknown header stops the file: no row is read
    assert parsed.errors[0].startswith('Ô D1: không nhận ra tiêu đề cột "Cột lạ 0"')
    assert parsed.errors[249].startswith('Ô IS1: không nhận ra tiêu đề cột "Cột lạ 249"')
    reply = errors_reply("lon.xlsx", parsed.errors)
    assert reply.text.count("\n• ") == MAX_ERRORS_SHOWN + 1 and "230" in reply.text
    assert len(reply.text) < 4096  # one message


def test_a_utf16_csv_with_a_bom_is_read():
    text = "Tên đơn vị\tHồ sơ nộp trực tuyến\tTổng hồ sơ tiếp nhận\r\nXã Cẩm Bình\t7\t9\r\n"
    for encoding, bom in (("utf-16-le", "\ufeff"), ("utf-16-be", "\ufeff")):
        parsed = parse_figures((bom + text).encode(encoding), "bao-cao.txt", CAMPAIGN, UNITS)
        assert parsed.errors == [] and parsed.rows[0].values == {"nop_truc_tuyen": (7, 9)}
