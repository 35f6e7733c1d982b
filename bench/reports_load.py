"""Load: N concurrent members file reports with photos through the fake Telegram server and the real bot.

    .venv/bin/python bench/reports_load.py                    # 100 members x 10 reports
    .venv/bin/python bench/reports_load.py --members 20 --reports 5 --telegram-cap

Checks that every report is stored once with its photo and that no "database is locked" (or any
other handler error) was logged; prints reports/s and the p50/p99 latency of one step (a user's
message until the bot's answer) and of a whole report (9 steps). By default PTB's overall
30 msg/s limiter is lifted (the fake server has no flood limit; we measure the bot and the
database, not Telegram's cap); ``--telegram-cap`` keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

FIRST_USER = 10_000


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.locked = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        if "database is locked" in text:
            self.locked += 1
        if record.levelno >= logging.ERROR:
            self.errors += 1


def photo(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (i % 256, (i * 7) % 256, 90)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main(members: int, reports_each: int, telegram_cap: bool) -> int:
    if not telegram_cap:
        import functools

        import bot.channels.telegram as telegram_channel

        telegram_channel.AIORateLimiter = functools.partial(telegram_channel.AIORateLimiter, overall_max_rate=0)
    from db.admin import grant_role
    from db.invites import find_or_create_village
    from db.models import AdminUnit, UnitLevel
    from db.reports import Report, ReportPhoto
    from tests.e2e import running_bot

    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.WARNING)
    step_latencies: list[float] = []
    report_latencies: list[float] = []
    images = [photo(i) for i in range(16)]

    with tempfile.TemporaryDirectory() as tmp:
        async with running_bot(Path(tmp)) as (fake, app):
            async with app.sessions() as session:
                communes = (await session.scalars(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa)
                                                  .order_by(AdminUnit.code).limit(10))).all()
                for i, commune in enumerate(communes):
                    await grant_role(session, "telegram", str(FIRST_USER - 1 - i), "official", commune)
                for m in range(members):
                    commune = communes[m % len(communes)]
                    user = await grant_role(session, "telegram", str(FIRST_USER + m), "team", commune)
                    user.village_code = (await find_or_create_village(session, commune, f"Thôn {m % 7 + 1}")).code
                await session.commit()

            async def step(uid: int, action) -> None:
                mark = fake.mark()
                started = time.perf_counter()
                action()
                await fake.wait_messages(uid, 1, since=mark, timeout=120)
                step_latencies.append(time.perf_counter() - started)

            async def member(m: int) -> None:
                uid = FIRST_USER + m
                for r in range(reports_each):
                    started = time.perf_counter()
                    await step(uid, lambda: fake.user_sends_text(uid, "/baocao"))
                    for data in ("rp:k:d", f"rp:c:{1 + (m + r) % 8}", "rp:pl:ok"):
                        await step(uid, lambda data=data: fake.user_presses(uid, data))
                    await step(uid, lambda: fake.user_sends_text(
                        uid, f"Thành viên {m} báo cáo lần {r}: người dân không nhận được mã OTP"))
                    await step(uid, lambda: fake.user_sends_photo(uid, images[(m + r) % len(images)]))
                    await step(uid, lambda: fake.user_presses(uid, "rp:ph"))
                    await step(uid, lambda: fake.user_sends_text(uid, str(r + 1)))
                    await step(uid, lambda: fake.user_presses(uid, "rp:send"))
                    last = fake.messages_to(uid)[-1]
                    assert "BC-" in (last.text or ""), last.text
                    report_latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(member(m) for m in range(members)))
            elapsed = time.perf_counter() - started

            async with app.sessions() as session:
                stored = await session.scalar(select(func.count(Report.id)))
                distinct = await session.scalar(select(func.count(func.distinct(Report.description))))
                photos = await session.scalar(select(func.count(ReportPhoto.id)).where(ReportPhoto.report_id.isnot(None)))
                per_member = (await session.execute(select(Report.reporter_id, func.count(Report.id))
                                                    .group_by(Report.reporter_id))).all()

    expected = members * reports_each
    print(f"members: {members}, reports each: {reports_each}, PTB 30 msg/s cap: {'on' if telegram_cap else 'off'}")
    print(f"reports stored: {stored} / {expected} (distinct {distinct}), photos: {photos}")
    print(f"elapsed: {elapsed:.1f} s, reports/s: {expected / elapsed:.1f}, updates/s: {len(step_latencies) / elapsed:.1f}")
    print(f"step latency p50 {statistics.median(step_latencies) * 1000:.0f} ms, "
          f"p99 {percentile(step_latencies, 99) * 1000:.0f} ms")
    print(f"report (9 steps) latency p50 {statistics.median(report_latencies):.2f} s, "
          f"p99 {percentile(report_latencies, 99):.2f} s")
    print(f"'database is locked': {counter.locked}, errors logged: {counter.errors}")
    ok = (stored == distinct == photos == expected and counter.locked == 0 and counter.errors == 0
          and all(n == reports_each for _, n in per_member))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--reports", type=int, default=10, help="reports per member")
    parser.add_argument("--telegram-cap", action="store_true", help="keep PTB's 30 msg/s overall limiter")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.members, args.reports, args.telegram_cap)))
