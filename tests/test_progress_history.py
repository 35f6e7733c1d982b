"""A summary computed from the last import dates only equals the one from the whole history."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from content.campaign import CAMPAIGNS_DIR, load_campaign
from content.progress import TREND_POINTS, build_summary, summary_to_json
from db.progress import ProgressFigure, load_history, reporting_units


async def test_loading_only_the_dates_a_summary_needs_changes_nothing(app):
    campaign = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
    rng = random.Random(7)
    async with app.sessions() as session:
        units = [u for u in await reporting_units(session) if u.level.value == "xa"][:12]
        rows = []
        for day in range(40):
            for unit in units:
                for metric in campaign.metrics:
                    denominator = 100 + day * 3
                    rows.append(dict(campaign_id=campaign.id, date=campaign.start + timedelta(days=day),
                                     unit_code=unit.code, metric_id=metric.id,
                                     numerator=min(denominator, 30 + day * rng.randint(1, 3)),
                                     denominator=denominator))
        await session.execute(insert(ProgressFigure), rows)
        await session.commit()
        everything = await load_history(session, campaign)
        recent = await load_history(session, campaign, last_dates=TREND_POINTS + 1)
        day = campaign.start + timedelta(days=25)
        until = await load_history(session, campaign, until=day, last_dates=TREND_POINTS + 1)
    assert len(everything) == len(rows) and len(recent) < len(rows)
    assert max(f.date for f in until) == day
    for history, on in ((recent, None), (until, day)):
        full = summary_to_json(build_summary(campaign, everything, date=on, units=units))
        limited = summary_to_json(build_summary(campaign, history, date=on, units=units))
        assert limited == full


def test_the_cli_summary_without_a_date_shows_the_campaign_that_has_figures(tmp_path):
    """Plan 195 ended in 2024; its figures are still what `progress summary` shows afterwards."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/p.db", "PYTHONPATH": str(root)}
    header = ("Mã đơn vị;Tên đơn vị;TTHC cung cấp DVCTT;TTHC đủ điều kiện;Hồ sơ nộp trực tuyến;"
              "Tổng hồ sơ tiếp nhận\n")
    (tmp_path / "figures.csv").write_text(header + "18754;Phường Sông Trí;90;100;630;900\n"
                                          ";xa cam xuyen;45;50;70;100\n", encoding="utf-8")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)

    imported = cli("progress", "import", "figures.csv", "--date", "2024-06-25")
    assert imported.returncode == 0, imported.stderr
    summary = json.loads(cli("progress", "summary", "--json").stdout)
    assert "195" in json.dumps(summary["campaign"], ensure_ascii=False)
    metrics = {m["id"]: m for m in summary["metrics"]}
    assert metrics["nop_truc_tuyen"]["numerator"] == 700 and metrics["nop_truc_tuyen"]["denominator"] == 1000
    assert abs(metrics["nop_truc_tuyen"]["rate"] - 0.7) < 1e-9 and metrics["nop_truc_tuyen"]["met"] is True
    # Shown as ended (no campaign runs today), with its latest figures.
    assert summary["date"] == "2024-06-25" and summary["days_left"] == 0
    assert summary["campaign"]["running"] is False and summary["as_of"] == "2024-10-10"
