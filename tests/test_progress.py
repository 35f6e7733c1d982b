"""Campaign progress: campaign files, figure import, storage, arithmetic, text and chart."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date, timedelta

import openpyxl
import pytest
import pytest_asyncio
from sqlalchemy import select

from content.campaign import (
    CAMPAIGNS_DIR,
    CampaignError,
    campaign_for,
    campaign_in_view,
    find_campaign,
    load_campaign,
    load_campaigns,
)
from content.numbers import VI, parse_number
from content.progress import Figure, build_summary, forecast, summary_to_json
from content.progress_chart import render_chart
from content.progress_import import UnitRef, parse_figures
from content.progress_template import make_template
from handlers.progress.summary import SummaryLine, render_summary

CAMPAIGN = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
UNITS = [
    UnitRef("42", "Tỉnh Hà Tĩnh", "tinh", None),
    UnitRef("42-SO-TP", "Sở Tư pháp", "tinh", "42"),
    UnitRef("X1", "Xã Cẩm Xuyên", "xa", "42"),
    UnitRef("X2", "Xã Cẩm Duệ", "xa", "42"),
    UnitRef("X3", "Phường Kỳ Anh", "xa", "42"),
    UnitRef("X4", "Xã Kỳ Anh", "xa", "42"),
    UnitRef("X5", "Xã Thạch <Hà>", "xa", "42"),
]
HEADER = ["Mã đơn vị", "Tên đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]


def xlsx(rows: list[list], title_rows: int = 0) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for index in range(title_rows):
        sheet.append([f"BÁO CÁO SỐ LIỆU – dòng tiêu đề {index + 1}"])
        sheet.merge_cells(start_row=index + 1, start_column=1, end_row=index + 1, end_column=6)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    return "\n".join(delimiter.join(str(v) for v in row) for row in rows).encode(encoding)


def parse(rows, title_rows=0):
    return parse_figures(xlsx(rows, title_rows), "so-lieu.xlsx", CAMPAIGN, UNITS)


# ---------------------------------------------------------------- campaign files


def test_both_campaign_files_load_with_their_targets():
    campaigns = {c.id: c for c in load_campaigns()}
    plan = campaigns["ke-hoach-195-2024"]
    assert (plan.start, plan.end) == (date(2024, 5, 9), date(2024, 10, 10))
    assert [m.id for m in plan.metrics] == ["dvctt", "nop_truc_tuyen", "toan_trinh", "thanh_toan", "ket_qua_dien_tu"]
    payment = plan.metric("thanh_toan")
    assert (payment.target_for("tinh"), payment.target_for("huyen"), payment.target_for("xa")) == (0.5, 0.45, 0.4)
    assert plan.metric("nop_truc_tuyen").target_for("xa") == 0.7
    assert plan.sources and plan.sources[0].startswith("http")
    assert "mau-2026-hai-cap" not in campaigns  # an example is loaded only by name
    sample = find_campaign("mau-2026-hai-cap")
    assert sample.example and sample.levels == ("tinh", "xa")
    assert sample.metric("thanh_toan").target_for("huyen") is None


def test_only_a_running_real_campaign_is_chosen_by_date_never_an_example():
    campaigns = load_campaigns() + [find_campaign("mau-2026-hai-cap")]  # even when handed one
    assert campaign_for(date(2024, 6, 25), campaigns).id == "ke-hoach-195-2024"
    assert campaign_for(date(2025, 3, 1), campaigns) is None
    assert campaign_for(date(2026, 3, 1), campaigns) is None  # the example's dates: still none
    shown, running = campaign_in_view(date(2026, 3, 1), campaigns)
    assert (shown.id, running) == ("ke-hoach-195-2024", False)  # the latest real one, as ended
    assert campaign_in_view(date(2024, 6, 25), campaigns)[1] is True
    assert campaign_in_view(date(2020, 1, 1), campaigns) == (None, False)


def test_a_broken_campaign_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "hong.toml"
    path.write_text('name = "x"\nplan = "y"\nstart = 2024-01-01\nend = 2023-01-01\nlevels = ["xa"]\n'
                    '[[metrics]]\nid = "a"\nname = "A"\nnumerator = "n"\ndenominator = "d"\ntarget = 50\n',
                    encoding="utf-8")
    with pytest.raises(CampaignError, match=r"^hong\.toml: .*sau ngày kết thúc"):
        load_campaigns(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("end = 2023", "end = 2025").replace("target = 50", "target = 150"),
                    encoding="utf-8")
    with pytest.raises(CampaignError, match=r"^hong\.toml: chỉ tiêu 'a'"):
        load_campaigns(tmp_path)


# ---------------------------------------------------------------- import tolerances


@pytest.mark.parametrize(
    "text, expected",
    [("1.234", 1234), ("12,5", 12.5), ("1 234", 1234), ("1\u00a0234", 1234), ("1.234.567", 1234567),
     ("1.234,5", 1234.5), (" 70 ", 70), (42, 42), (12.5, 12.5), ("", None), (None, None), ("12.5", 12.5)],
)
def test_numbers_may_be_vietnamese_text_or_real_numbers(text, expected):
    assert parse_number(text, VI) == expected


def test_a_messy_xlsx_is_read_header_on_row_4_under_merged_titles():
    rows = [
        ["STT", "  ma   DON-VI ", "ten don vi", "Ghi chú", "HO SO nop  truc tuyen", "tong ho so tiep nhan.",
         "TTHC thanh toan truc tuyen", "TTHC co nghia vu tai chinh"],
        [1, "X1", None, "ok", "1.234", "2.000", 5, 10],
        [2, None, "cam due", None, "12", 20, None, None],
        [3, "X3", None, None, None, None, None, None],
        [None, None, None, None, None, None, None, None],
        [None, None, "Tổng cộng", None, "1.246,0", 2020, 5, 10],  # shows the convention: "." groups
    ]
    parsed = parse(rows, title_rows=3)
    assert parsed.errors == []
    first, second, third = parsed.rows
    assert (first.row, first.unit_code, first.values) == (
        5, "X1", {"nop_truc_tuyen": (1234, 2000), "thanh_toan": (5, 10)})
    assert (second.row, second.unit_code, second.values) == (6, "X2", {"nop_truc_tuyen": (12, 20)})
    assert (third.row, third.unit_code, third.values) == (7, "X3", {})  # empty cells: no figures, no error
    assert "STT" in parsed.ignored_columns and "Ghi chú" in parsed.ignored_columns


def test_a_two_row_header_with_unit_columns_merged_above_is_read():
    rows = [["Mã đơn vị", "Tên đơn vị", "Tỷ lệ hồ sơ nộp trực tuyến", None],
            [None, None, "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"],
            ["X1", None, 3, 4], [None, "Toàn tỉnh", 3, 4]]
    parsed = parse(rows, title_rows=2)
    assert parsed.errors == []
    assert [(r.row, r.unit_code, r.values) for r in parsed.rows] == [(5, "X1", {"nop_truc_tuyen": (3, 4)})]


def test_units_resolve_by_code_or_by_name_with_or_without_diacritics():
    rows = [HEADER, ["X1", "", 1, 2], ["", "cam due", 1, 2], ["", "Thạch <Hà>", 1, 2], ["", "Tư pháp", 1, 2],
            ["", "SỞ TƯ PHÁP", 1, 2]]
    parsed = parse(rows)
    assert [r.unit_code for r in parsed.rows] == ["X1", "X2", "X5", "42-SO-TP"]
    assert parsed.errors == ['Dòng 6: đơn vị "Sở Tư pháp" đã có ở dòng 5 (mỗi đơn vị chỉ một dòng).']


def test_a_csv_with_semicolons_in_windows_1258_is_read():
    name = "C" + "â\u0309" + "m Xuyên"  # Windows-1258 writes tone marks as combining characters
    data = csv_bytes([["Ten don vi", "Ho so nop truc tuyen", "Tong ho so tiep nhan"], [name, "1.234", "2.000,0"]],
                     encoding="cp1258")
    parsed = parse_figures(data, "so-lieu.csv", CAMPAIGN, UNITS)
    assert parsed.errors == []
    assert parsed.rows[0].unit_code == "X1" and parsed.rows[0].values == {"nop_truc_tuyen": (1234, 2000)}


def test_a_comma_separated_utf8_bom_csv_is_read():
    data = "\ufeff" + "Mã đơn vị,Hồ sơ nộp trực tuyến,Tổng hồ sơ tiếp nhận\nX2,3,4\n"
    parsed = parse_figures(data.encode("utf-8"), "a.csv", CAMPAIGN, UNITS)
    assert parsed.errors == [] and parsed.rows[0].values == {"nop_truc_tuyen": (3, 4)}


# ---------------------------------------------------------------- import errors


@pytest.mark.parametrize(
    "row, message",
    [
        (["X1", "", 120, 100], 'Dòng 7, cột "Hồ sơ nộp trực tuyến": tử số (120) lớn hơn mẫu số (100).'),
        (["X1", "", -3, 100], 'Dòng 7, cột "Hồ sơ nộp trực tuyến": số âm (-3).'),
        (["X1", "", 5, "nhiều"], 'Dòng 7, cột "Tổng hồ sơ tiếp nhận": "nhiều" không phải là số.'),
        (["X1", "", "1500", None], 'Dòng 7, cột "Tổng hồ sơ tiếp nhận": thiếu mẫu số (tử số là 1.500).'),
        (["X1", "", None, 40], 'Dòng 7, cột "Hồ sơ nộp trực tuyến": thiếu tử số (mẫu số là 40).'),
        (["", "Kỳ Anh", 1, 2], 'Dòng 7, cột "Tên đơn vị": tên "Kỳ Anh" trùng với nhiều đơn vị: '
                               "Phường Kỳ Anh (mã X3), Xã Kỳ Anh (mã X4). Hãy ghi mã đơn vị."),
        (["", "Cẩm Xuyen 2", 1, 2], 'Dòng 7, cột "Tên đơn vị": không tìm thấy đơn vị "Cẩm Xuyen 2". '
                                    "Có phải: Xã Cẩm Xuyên (mã X1), Xã Cẩm Duệ (mã X2)?"),
        (["X9", "", 1, 2], 'Dòng 7, cột "Mã đơn vị": không tìm thấy đơn vị "X9".'),
        (["X2", "", 1, 2], 'Dòng 7: đơn vị "Xã Cẩm Duệ" đã có ở dòng 6 (mỗi đơn vị chỉ một dòng).'),
        (["", "  xã   CẨM-due ", 1, 2], 'Dòng 7: đơn vị "Xã Cẩm Duệ" đã có ở dòng 6 (mỗi đơn vị chỉ một dòng).'),
    ],
)
def test_each_problem_has_a_vietnamese_message_with_row_and_column(row, message):
    parsed = parse([["Báo cáo"], [], [], [], HEADER, ["X2", "", 1, 2], row])
    assert parsed.errors == [message]


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"x" * (5 * 1024 * 1024 + 1), "lon.csv", "Tệp quá lớn"),
        (b"Ma don vi;Ho so\n" * 10, "gia.xlsx", "không phải là tệp Excel .xlsx thật"),
        (bytes(range(256)) * 10, "rac.csv", "không phải là tệp CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "cu.xls", "Excel 97-2003"),
        (b"PK\x03\x04not really a zip", "hong.xlsx", "không phải là tệp Excel .xlsx thật"),
        (b"a;b\n1;2\n", "khong-tieu-de.csv", "Không tìm thấy dòng tiêu đề"),
        (b"%PDF-1.4", "bao-cao.pdf", "Chỉ nhận tệp Excel (.xlsx) hoặc CSV (.csv)."),
    ],
)
def test_files_that_are_not_figures_are_refused_clearly(data, filename, message):
    parsed = parse_figures(data, filename, CAMPAIGN, UNITS)
    assert not parsed.ok and parsed.rows == []
    assert message in parsed.errors[0]


def test_the_template_has_a_title_a_header_and_a_row_per_unit_and_reads_back():
    data = make_template(CAMPAIGN, UNITS)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert "SỐ LIỆU" in sheet["A1"].value
    assert [c.value for c in sheet[3]][:4] == ["Mã đơn vị", "Tên đơn vị", "TTHC cung cấp DVCTT", "TTHC đủ điều kiện"]
    assert sorted(sheet.cell(row, 1).value for row in range(4, sheet.max_row + 1)) == sorted(
        u.code for u in UNITS if u.parent_code)  # the province itself is the sum, not a row
    parsed = parse_figures(data, "mau.xlsx", CAMPAIGN, UNITS)
    assert len(parsed.rows) == len(UNITS) - 1 and all(r.values == {} for r in parsed.rows)
    assert parsed.errors == ["Tệp không có số liệu nào dưới dòng tiêu đề (mọi ô số liệu đều trống): không thay thế gì."]


# ---------------------------------------------------------------- storage


@pytest_asyncio.fixture
async def sessions(tmp_path):
    from db.migrate import upgrade_async
    from db.progress import seed_departments
    from db.session import create_engine, make_sessionmaker
    from db.units import seed_units

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        await seed_units(session)
        await seed_departments(session)
    yield maker
    await engine.dispose()


async def _units(maker):
    from db.progress import reporting_units

    async with maker() as session:
        return await reporting_units(session)


async def _figures(maker):
    from db.progress import ProgressFigure

    async with maker() as session:
        rows = await session.execute(select(ProgressFigure.unit_code, ProgressFigure.metric_id,
                                            ProgressFigure.numerator, ProgressFigure.denominator,
                                            ProgressFigure.date))
        return sorted(tuple(r) for r in rows.all())


@pytest.mark.asyncio
async def test_seed_departments_is_idempotent(sessions):
    from db.models import AdminUnit
    from db.progress import seed_departments

    async with sessions() as session:
        assert await seed_departments(session) == 0
        justice = await session.get(AdminUnit, "42-SO-TP")
        assert (justice.name, justice.level.value, justice.parent_code) == ("Sở Tư pháp", "tinh", "42")


@pytest.mark.asyncio
async def test_importing_the_same_date_again_replaces_that_dates_figures(sessions):
    from db.progress import ProgressImport, import_figures, load_history

    units = await _units(sessions)
    day = date(2024, 6, 24)
    first = xlsx([HEADER, ["", "cam xuyen", 10, 20], ["", "Sở Tư pháp", 5, 5]])
    second = xlsx([HEADER, ["", "Cẩm Xuyên", 15, 20]])
    async with sessions() as session:
        result = await import_figures(session, CAMPAIGN, day, parse_figures(first, "a.xlsx", CAMPAIGN, units),
                                      None, "a.xlsx", first)
        assert (result.ok, result.rows, result.figures, result.replaced) == (True, 2, 2, 0)
        other_day = await import_figures(session, CAMPAIGN, day + timedelta(days=1),
                                         parse_figures(first, "a.xlsx", CAMPAIGN, units), None, "a.xlsx", first)
        assert other_day.ok
        result = await import_figures(session, CAMPAIGN, day, parse_figures(second, "b.xlsx", CAMPAIGN, units),
                                      None, "b.xlsx", second)
        assert (result.ok, result.figures, result.replaced) == (True, 1, 2)
        history = await load_history(session, CAMPAIGN)
        statuses = (await session.scalars(select(ProgressImport.status).order_by(ProgressImport.id))).all()
    assert [f for f in history if f.date == day] == [Figure(day, "18673", "nop_truc_tuyen", 15, 20)]
    assert len([f for f in history if f.date == day + timedelta(days=1)]) == 2
    assert statuses == ["imported", "imported", "imported"]


@pytest.mark.asyncio
async def test_a_file_with_one_error_changes_no_figure(sessions):
    from db.progress import ProgressImport, import_figures

    units = await _units(sessions)
    day = date(2024, 6, 24)
    good = xlsx([HEADER, ["", "cam xuyen", 10, 20]])
    async with sessions() as session:
        await import_figures(session, CAMPAIGN, day, parse_figures(good, "a.xlsx", CAMPAIGN, units),
                             None, "a.xlsx", good)
    before = await _figures(sessions)
    bad = xlsx([HEADER, ["", "cam xuyen", 11, 20], ["", "Sở Tư pháp", 120, 100]])
    parsed = parse_figures(bad, "b.xlsx", CAMPAIGN, units)
    async with sessions() as session:
        result = await import_figures(session, CAMPAIGN, day, parsed, None, "b.xlsx", bad)
        log = (await session.scalars(select(ProgressImport).order_by(ProgressImport.id.desc()))).first()
    assert not result.ok
    assert result.errors == ['Dòng 3, cột "Hồ sơ nộp trực tuyến": tử số (120) lớn hơn mẫu số (100).']
    assert await _figures(sessions) == before
    assert (log.status, log.filename, len(log.sha256)) == ("rejected", "b.xlsx", 64)


@pytest.mark.asyncio
async def test_the_cli_refuses_a_bad_file_in_vietnamese_and_returns_1(tmp_path, capsys):
    from bot.app import App
    from bot.cli import progress as cli_progress
    from bot.settings import Settings

    parser = argparse.ArgumentParser()
    cli_progress.register(parser.add_subparsers(dest="command"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Tên đơn vị;Hồ sơ nộp trực tuyến;Tổng hồ sơ tiếp nhận\nCẩm Xuyên;120;100\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("Tên đơn vị;Hồ sơ nộp trực tuyến;Tổng hồ sơ tiếp nhận\nCẩm Xuyên;80;100\n", encoding="utf-8")
    app = App(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"))
    await app.prepare()
    try:
        args = parser.parse_args(["progress", "import", str(bad), "--date", "2024-06-24"])
        assert await args.run(args, app) == 1
        assert "tử số (120) lớn hơn mẫu số (100)" in capsys.readouterr().err
        args = parser.parse_args(["progress", "import", str(good), "--date", "2024-06-24"])
        assert await args.run(args, app) == 0
        args = parser.parse_args(["progress", "summary", "--date", "2024-06-25", "--json"])
        assert await args.run(args, app) == 0
        out = json.loads(capsys.readouterr().out.split("\n", 1)[1])
        assert out["metrics"][1]["rate"] == 0.8
        args = parser.parse_args(["progress", "summary", "--date", "2024-06-25", "--lang", "en"])
        assert await args.run(args, app) == 0
        text = capsys.readouterr().out
        assert "Campaign progress" in text and "Kế hoạch 195" in text and "80.0%" in text
        args = parser.parse_args(["progress", "template", "--campaign", "ke-hoach-195-2024",
                                  "--out", str(tmp_path / "mau.xlsx")])
        assert await args.run(args, app) == 0 and (tmp_path / "mau.xlsx").stat().st_size > 1000
    finally:
        await app.aclose()


# ---------------------------------------------------------------- arithmetic


D1, D2, D3 = date(2024, 6, 23), date(2024, 6, 24), date(2024, 6, 25)


def fig(day, unit, metric, numerator, denominator):
    return Figure(day, unit, metric, numerator, denominator)


def test_roll_ups_are_sums_of_numerators_over_sums_of_denominators_not_mean_of_rates():
    history = [fig(D1, "X1", "nop_truc_tuyen", 1, 10), fig(D1, "X2", "nop_truc_tuyen", 90, 100),
               fig(D1, "42-SO-TP", "nop_truc_tuyen", 9, 10)]
    summary = build_summary(CAMPAIGN, history, units=UNITS)
    online = summary.metrics[1]
    assert (online.numerator, online.denominator) == (100, 120)
    assert online.rate == pytest.approx(100 / 120)
    assert online.rate != pytest.approx((0.1 + 0.9 + 0.9) / 3)
    levels = {lv.level: lv for lv in online.by_level}
    assert levels["xa"].rate == pytest.approx(91 / 110) and levels["xa"].units == 2
    assert levels["tinh"].rate == pytest.approx(0.9)
    assert online.target == 0.7 and online.met is True  # one target for every level: one verdict


def test_met_gap_change_and_days_left():
    history = [fig(D1, "X1", "nop_truc_tuyen", 50, 100), fig(D2, "X1", "nop_truc_tuyen", 60, 100),
               fig(D2, "X1", "thanh_toan", 45, 100), fig(D2, "42-SO-TP", "thanh_toan", 0, 0)]
    summary = build_summary(CAMPAIGN, history, date=D3, units=UNITS)
    assert summary.date == D2 and summary.previous_date == D1
    assert summary.days_left == (date(2024, 10, 10) - D3).days == 107
    online, payment = summary.metrics[1], summary.metrics[3]
    assert (online.met, online.gap, online.change) == (False, pytest.approx(10), pytest.approx(10))
    # payment has a target per level (tỉnh 50 / xã 40) and the province mixes both: no single verdict,
    # each level against its own target
    assert payment.target is None and payment.met is None
    levels = {lv.level: lv for lv in payment.by_level}
    assert (levels["xa"].target, levels["xa"].met) == (0.4, True) and levels["tinh"].target == 0.5
    # the commune's own target for payment is 40%: met there
    commune = build_summary(CAMPAIGN, history, scope_unit="X1", units=UNITS)
    assert commune.metrics[3].target == 0.4 and commune.metrics[3].met is True
    assert commune.scope_name == "Xã Cẩm Xuyên"
    after = build_summary(CAMPAIGN, history, date=date(2024, 12, 1), units=UNITS)
    assert after.days_left == 0 and after.date == D2


def test_forecast_reaches_the_target_at_the_current_pace_or_says_why_not():
    end = date(2024, 10, 10)
    rising = [(D1, 0.50), (D2, 0.51), (D3, 0.52)]  # +1 point a day: 70% in 18 days
    assert forecast(rising, 0.70, end).status == "on_track"
    assert forecast(rising, 0.70, end).date == D3 + timedelta(days=18)
    late = forecast(rising, 0.70, D3 + timedelta(days=10))
    assert (late.status, late.date) == ("late", D3 + timedelta(days=18))
    assert forecast([(D1, 0.6), (D2, 0.55), (D3, 0.5)], 0.7, end).status == "falling"
    assert forecast([(D1, 0.6), (D2, 0.6)], 0.7, end).status == "flat"
    assert forecast([(D3, 0.8)], 0.7, end).status == "met"
    assert forecast([(D3, 0.5)], 0.7, end).status == "unknown"


def test_the_trend_uses_only_the_last_14_import_dates():
    start = date(2024, 5, 10)
    history = [fig(start + timedelta(days=i), "X1", "nop_truc_tuyen", 60 - i if i < 20 else 40 + (i - 20), 100)
               for i in range(34)]  # falling for 20 days, then rising for the last 14
    summary = build_summary(CAMPAIGN, history, units=UNITS)
    assert summary.metrics[1].forecast.status == "on_track"
    assert summary.metrics[1].forecast.per_day == pytest.approx(1.0)


def test_lagging_units_are_the_furthest_below_their_own_levels_target():
    history = [fig(D2, code, "thanh_toan", n, 100) for code, n in
               [("X1", 39), ("X2", 10), ("X3", 41), ("X4", 20), ("42-SO-TP", 42), ("X5", 30)]]
    summary = build_summary(CAMPAIGN, history, units=UNITS)
    lagging = [(u.unit_code, round(u.gap, 2)) for u in summary.lagging["thanh_toan"]]
    assert lagging == [("X2", 30.0), ("X4", 20.0), ("X5", 10.0), ("42-SO-TP", 8.0), ("X1", 1.0)]


def test_the_json_has_the_agreed_shape_with_fractions_rounded_to_4_decimals():
    history = [fig(D1, "X1", "nop_truc_tuyen", 600, 1000), fig(D2, "X1", "nop_truc_tuyen", 632, 1000),
               fig(D2, "X2", "nop_truc_tuyen", 1, 3)]
    data = summary_to_json(build_summary(CAMPAIGN, history, units=UNITS))
    json.dumps(data)
    assert {"date", "campaign", "days_left", "metrics", "lagging"} <= set(data)
    metric = data["metrics"][1]
    assert set(metric) >= {"id", "name", "numerator", "denominator", "rate", "target", "met", "gap", "change",
                           "forecast"}
    assert metric["rate"] == round(633 / 1003, 4) and metric["target"] == 0.7
    assert data["date"] == "2024-06-24" and data["campaign"]["id"] == "ke-hoach-195-2024"
    assert data["lagging"][0] == {"metric": "nop_truc_tuyen", "unit_code": "X2", "unit_name": "Xã Cẩm Duệ",
                                  "rate": 0.3333, "target": 0.7, "gap": 36.67}
    assert {u["unit_code"] for u in data["lagging"]} == {"X1", "X2"}
    assert all(set(u) == {"metric", "unit_code", "unit_name", "rate", "target", "gap"} for u in data["lagging"])


# ---------------------------------------------------------------- text and chart


def sample_summary():
    history = [fig(D2, "X1", "nop_truc_tuyen", 600, 1000), fig(D3, "X1", "nop_truc_tuyen", 632, 1000),
               fig(D3, "X5", "thanh_toan", 1236, 4000), fig(D3, "X1", "thanh_toan", 1000, 4000)]
    return build_summary(CAMPAIGN, history, units=UNITS)


def test_the_daily_summary_speaks_vietnamese_numbers_and_dates():
    counts = SummaryLine("📝 <b>Phản ánh khó khăn</b>: 3 mới · 5 đang xử lý · 1 quá hạn", "")
    text = render_summary(sample_summary(), [counts], locale="vi")
    assert "63,2%" in text and "mục tiêu 70%" in text
    assert "thứ Ba, ngày 25 tháng 6 năm 2024" in text
    assert "▲3,2 điểm" in text and "632/1.000 hồ sơ" in text
    assert "Xã Thạch &lt;Hà&gt;: 30,9%" in text  # names are escaped for Telegram HTML
    assert "3 mới · 5 đang xử lý · 1 quá hạn" in text
    assert len(text) <= 4000
    assert "Phản ánh" not in render_summary(sample_summary(), locale="vi")
    english = render_summary(sample_summary(), locale="en")
    assert "63.2%" in english and "target 70%" in english and "Tuesday, 25 June 2024" in english
    assert "Kế hoạch 195" in english  # the campaign and its plan are named, as written


def test_the_chart_is_a_small_valid_png():
    png = render_chart(sample_summary())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 150 * 1024
    empty = render_chart(build_summary(CAMPAIGN, [], units=UNITS))
    assert empty[:8] == b"\x89PNG\r\n\x1a\n"
