"""Officials start a campaign without a developer: `campaign template`, `campaign new FILE.xlsx|.toml`,
`campaign list`, `campaign show` (issue 10)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

import content.campaign as campaign_module
from bot.cli import progress as cli_progress
from content.campaign import campaign_for, load_campaigns
from content.campaign_file import campaign_toml_from_xlsx, check_campaigns


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "campaigns"
    path.mkdir()
    monkeypatch.setattr(campaign_module, "CAMPAIGNS_DIR", path)
    return path


class FakeApp:
    class settings:  # noqa: N801 - what the commands read of the settings
        from zoneinfo import ZoneInfo

        tz = ZoneInfo("Asia/Ho_Chi_Minh")


def run(*argv) -> int:
    parser = argparse.ArgumentParser()
    cli_progress.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    import asyncio

    return asyncio.run(args.run(args, FakeApp()))


def filled_template(tmp_path, **changes) -> str:
    path = tmp_path / "mau.xlsx"
    assert run("campaign", "template", "--out", str(path)) == 0
    book = openpyxl.load_workbook(path)
    today = date.today()
    values = {"Mã chiến dịch (chữ thường, không dấu, nối bằng -)": "ke-hoach-thu-2027",
              "Tên chiến dịch": "Chiến dịch thử", "Số hiệu, ngày của kế hoạch": "Kế hoạch 1/KH-UBND (thử)",
              "Ngày bắt đầu (dd/mm/yyyy)": (today - timedelta(days=3)).strftime("%d/%m/%Y"),
              "Ngày kết thúc (dd/mm/yyyy)": (today + timedelta(days=30)).strftime("%d/%m/%Y"), **changes}
    for row in book["Chien dich"].iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    metrics = book["Chi tieu"]
    metrics["F2"], metrics["G2"] = 60, "45%"  # province 60 %, commune 45 %
    metrics.append(["thanh_toan", "Thanh toán trực tuyến", "TTHC thanh toán trực tuyến", "TTHC có nghĩa vụ tài chính",
                    "thủ tục", 0.5, 0.4])  # a cell formatted as percent holds 0.5
    book.save(path)
    return str(path)


def test_a_filled_in_excel_template_becomes_the_running_campaign(tmp_path, folder, capsys):
    assert campaign_for(date.today(), load_campaigns()) is None
    assert run("campaign", "new", filled_template(tmp_path)) == 0
    campaign = campaign_for(date.today(), load_campaigns())
    assert campaign.id == "ke-hoach-thu-2027" and campaign.levels == ("tinh", "xa")
    online, pay = campaign.metrics
    assert online.targets == {"tinh": 0.6, "xa": 0.45} and pay.targets == {"tinh": 0.5, "xa": 0.4}
    assert online.denominator_synonyms == ("Tổng số hồ sơ tiếp nhận", "Số hồ sơ tiếp nhận")
    assert check_campaigns(folder) == []
    # the same id again is refused unless replaced
    assert run("campaign", "new", filled_template(tmp_path)) == 1
    assert "--replace" in capsys.readouterr().err
    assert run("campaign", "new", filled_template(tmp_path), "--replace") == 0
    assert run("campaign", "list") == 0 and "ke-hoach-thu-2027" in capsys.readouterr().out
    assert run("campaign", "show", "ke-hoach-thu-2027") == 0 and "tinh 60%" in capsys.readouterr().out


@pytest.mark.parametrize("changes, words", [
    ({"Ngày bắt đầu (dd/mm/yyyy)": "mai"}, "không phải là ngày"),
    ({"Tên chiến dịch": None}, 'thiếu "Tên chiến dịch"'),
    ({"Mã chiến dịch (chữ thường, không dấu, nối bằng -)": "Kế hoạch 1"}, "mã chiến dịch"),
])
def test_a_wrong_campaign_file_is_refused_with_the_cell_named(tmp_path, folder, capsys, changes, words):
    assert run("campaign", "new", filled_template(tmp_path, **changes)) == 1
    assert words in capsys.readouterr().err and list(folder.iterdir()) == []


def test_a_toml_campaign_goes_through_the_same_checks(tmp_path, folder, capsys):
    text = campaign_toml_from_xlsx(Path(filled_template(tmp_path)).read_bytes())
    crossed = text.replace('denominator = "TTHC có nghĩa vụ tài chính"', 'denominator = "Hồ sơ nộp trực tuyến"')
    (tmp_path / "sai.toml").write_text(crossed, encoding="utf-8")
    assert run("campaign", "new", str(tmp_path / "sai.toml")) == 1
    assert "vừa là tử số" in capsys.readouterr().err
    example = (campaign_module.EXAMPLES_DIR / "mau-2026-hai-cap.toml").read_text(encoding="utf-8")
    (tmp_path / "mau-2026-hai-cap.toml").write_text(example, encoding="utf-8")
    assert run("campaign", "new", str(tmp_path / "mau-2026-hai-cap.toml")) == 1
    assert "example = true" in capsys.readouterr().err


def test_the_shipped_campaign_files_pass_the_checks():
    assert check_campaigns() == []
