"""Time the summary over a full campaign: 69 communes × 20 departments × 5 metrics × 150 days.

Units report on most days, not all (as-of roll-ups carry each unit's latest figures forward).

Run: .venv/bin/python bench/progress_summary.py
Prints figures; asserts nothing (target: summary < 200 ms).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from content.campaign import CAMPAIGNS_DIR, load_campaign  # noqa: E402
from content.progress import Figure, build_summary, summary_to_json  # noqa: E402
from content.progress_chart import render_chart  # noqa: E402
from db.progress import department_units  # noqa: E402
from db.units import current_units  # noqa: E402
from handlers.progress.summary import render_summary  # noqa: E402

DAYS = 150


DEPARTMENTS = 20


def bench_units():
    """Today's 69 communes and 20 departments (the 11 of departments.toml and 9 made up)."""
    from db.models import AdminUnit, UnitLevel

    departments = department_units()
    extra = [AdminUnit(code=f"42-SO-X{i}", name=f"Sở thử {i}", name_key=f"so thu {i}", level=UnitLevel.tinh,
                       kind="sở", parent_code="42", active=True) for i in range(DEPARTMENTS - len(departments))]
    return current_units() + departments + extra


def history_for(campaign, units) -> list[Figure]:
    rng = random.Random(195)
    figures = []
    reporting = [u for u in units if u.parent_code is not None]
    for unit in reporting:
        diligence = rng.uniform(0.5, 1.0)  # the share of days this unit sends figures
        for metric in campaign.metrics:
            base, speed = rng.uniform(0.2, 0.7), rng.uniform(0.0005, 0.003)
            size = rng.randint(50, 3000)
            for day in range(DAYS):
                if day and rng.random() > diligence:
                    continue
                denominator = size + day * rng.randint(1, 20)
                rate = min(1.0, base + speed * day + rng.uniform(-0.02, 0.02))
                figures.append(Figure(campaign.start + timedelta(days=day), str(unit.code), metric.id,
                                      round(denominator * rate), denominator))
    return figures


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000, sorted(times)[len(times) // 2] * 1000


def main() -> None:
    campaign = load_campaign(CAMPAIGNS_DIR / "ke-hoach-195-2024.toml")
    units = bench_units()
    history = history_for(campaign, units)
    reporting = len({f.unit_code for f in history})
    print(f"history: {reporting} units × {len(campaign.metrics)} metrics × {DAYS} days = {len(history):,} figures")

    summary = build_summary(campaign, history, units=units)
    best, median = best_of(20, lambda: build_summary(campaign, history, units=units))
    print(f"build_summary (province):        best {best:6.1f} ms  median {median:6.1f} ms   (target < 200 ms)")
    commune = next(u for u in units if u.parent_code is not None and u.level.value == "xa")
    best, median = best_of(20, lambda: build_summary(campaign, history, scope_unit=commune.code, units=units))
    print(f"build_summary (one commune):     best {best:6.1f} ms  median {median:6.1f} ms")
    best, median = best_of(20, lambda: summary_to_json(summary))
    print(f"summary_to_json:                 best {best:6.1f} ms  median {median:6.1f} ms")
    best, median = best_of(20, lambda: render_summary(summary))
    print(f"render_summary:                  best {best:6.1f} ms  median {median:6.1f} ms")
    render_chart(summary)  # first call pays matplotlib's import and font cache
    best, median = best_of(5, lambda: render_chart(summary))
    png = render_chart(summary)
    print(f"render_chart:                    best {best:6.1f} ms  median {median:6.1f} ms   ({len(png) / 1024:.0f} KB)")
    asyncio.run(from_database(campaign, history, units))


async def from_database(campaign, history, units) -> None:
    """The same summary as /progress computes it: history loaded from a real SQLite file."""
    import tempfile

    from sqlalchemy import insert, select

    from bot.app import App
    from bot.settings import Settings
    from db.models import AdminUnit
    from db.progress import ProgressFigure
    from handlers.progress.summary import load_progress, render_summary

    with tempfile.TemporaryDirectory() as tmp:
        app = App(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp}/bench.db"))
        await app.prepare()
        async with app.sessions() as session:
            known = set((await session.scalars(select(AdminUnit.code))).all())
            session.add_all([AdminUnit(code=u.code, name=u.name, name_key=u.name_key, level=u.level, kind=u.kind,
                                       parent_code=u.parent_code, active=True) for u in units if u.code not in known])
            await session.commit()
            await session.execute(insert(ProgressFigure), [
                dict(campaign_id=campaign.id, date=f.date, unit_code=f.unit_code, metric_id=f.metric_id,
                     numerator=f.numerator, denominator=f.denominator) for f in history])
            await session.commit()
        day = max(f.date for f in history)
        times = []
        for _ in range(10):
            start = time.perf_counter()
            async with app.sessions() as session:  # what /tiendo and the daily push do
                data = await load_progress(session, day, campaign)
            summary = data.summary(None, day)
            render_summary(summary)
            times.append(time.perf_counter() - start)
        await app.aclose()
    times.sort()
    print(f"load_progress + summary + text (SQLite, {len(history):,} stored, {len(data.history):,} read, "
          f"{summary.units_reported}/{summary.units_expected} units): best {times[0] * 1000:6.1f} ms  "
          f"median {times[len(times) // 2] * 1000:6.1f} ms   (target < 200 ms)")


if __name__ == "__main__":
    main()
