"""Officials' help-request figures on a large table: /yeucau's figures, the CLI's JSON, the summary line.

    .venv/bin/python bench/help_requests.py                 # 20,000 requests over 69 communes
    .venv/bin/python bench/help_requests.py --requests 100000

Fills a fresh SQLite database with requests (random statuses, times over 60 days, ratings), then
times, median of 5 runs each: the per-commune figures of the last 30 days for the province (what
an official of the province sees in /yeucau and the export), for one commune, and the daily
summary's "helped yesterday" line. Prints the figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402


async def main(count: int) -> None:
    from bot.app import App
    from content.dates import local_today
    from db import help_requests as repo
    from db.base import utcnow
    from db.help_requests import HelpRequest
    from db.models import AdminUnit, UnitLevel
    from handlers import build_registry
    from handlers.progress.summary import summary_extras
    from tests.conftest import make_settings

    build_registry()  # the features add their summary lines when they register
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as tmp:
        app = App(make_settings(Path(tmp)))
        await app.prepare()
        async with app.sessions() as session:
            communes = (await session.scalars(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa))).all()
            now, rows = utcnow(), []
            for _ in range(count):
                created = now - timedelta(hours=rng.uniform(0, 60 * 24))
                status = rng.choices(["open", "taken", "done", "not_possible", "cancelled"], [2, 2, 10, 1, 1])[0]
                taken = created + timedelta(hours=rng.uniform(0.1, 30)) if status != "open" else None
                closed = taken + timedelta(hours=rng.uniform(0.5, 72)) if status in ("done", "not_possible") else None
                rows.append({"unit_code": rng.choice(communes), "village_text": "", "need": "Nộp hồ sơ trực tuyến",
                             "when_text": "any", "contact": "bot", "status": status, "routed": "commune",
                             "close_note": "", "rating": rng.randint(1, 5) if status == "done" else None,
                             "rating_comment": "", "created": created, "taken_at": taken, "closed_at": closed})
            await session.execute(insert(HelpRequest), rows)
            await session.commit()

        async def timed(label, make):
            runs = []
            for _ in range(5):
                async with app.sessions() as session:
                    start = time.perf_counter()
                    result = await make(session)
                    runs.append((time.perf_counter() - start) * 1000)
            print(f"{label}: {statistics.median(runs):.1f} ms (median of 5) -> {result}")

        month = utcnow() - timedelta(days=30)
        tomorrow = local_today(app.settings.tz) + timedelta(days=1)
        await timed("province figures, 30 days", lambda s: _len(repo.unit_figures(s, None, start=month)))
        await timed("one commune's figures, 30 days", lambda s: _len(repo.unit_figures(s, {communes[0]}, start=month)))
        await timed("summary line (province)", lambda s: _short(summary_extras(s, None, tomorrow)))
        await app.aclose()
    print(f"{count} requests, {len(communes)} communes")


async def _len(coro) -> str:
    return f"{len(await coro)} communes"


async def _short(coro) -> str:
    return " | ".join(line.short for line in await coro if "🙋" in line.short)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().requests))
