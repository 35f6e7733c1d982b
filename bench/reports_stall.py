"""Stall: what a large /export or a huge photo costs the other users (issue 12, point 2).

    .venv/bin/python bench/reports_stall.py                 # 30,000 reports
    .venv/bin/python bench/reports_stall.py --reports 5000

Fills a fresh SQLite database with N reports, then, through the real router, an official sends
/export (last 90 days, the whole province) while a citizen sends /menu every 20 ms; then a member
at the photo step of a report sends a 12000×12000 PNG (refused before decoding) and a 24 MP JPEG
(re-encoded) while the citizen keeps asking. Prints the export's time and the longest wait any
/menu saw. The workbook is built after the message's transaction and lock, in a thread, and
photos are re-encoded before them, in a thread: what remains for others is the read of the
rows inside the transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402


async def poll_menu(app, stop: asyncio.Event, waits: list[float]) -> None:
    from handlers.messages import Incoming

    while not stop.is_set():
        started = time.perf_counter()
        await app.router.handle(Incoming.from_text("console", "500", "500", "/menu"))
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def while_polling(app, action):
    stop, waits = asyncio.Event(), []
    poller = asyncio.create_task(poll_menu(app, stop, waits))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    result = await action()
    took = time.perf_counter() - started
    stop.set()
    await poller
    return result, took, max(waits), len(waits)


def image(fmt: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB" if fmt == "JPEG" else "L", (width, height), 90).save(out, format=fmt)
    return out.getvalue()


async def main(count: int) -> int:
    from bot.app import App
    from db.admin import grant_role
    from db.base import utcnow
    from db.invites import find_or_create_village
    from db.models import AdminUnit, UnitLevel
    from db.reports import Report
    from handlers.messages import Attachment, Incoming
    from tests.conftest import make_settings

    tmp = Path(tempfile.mkdtemp())
    app = App(make_settings(tmp))
    await app.prepare()
    async with app.sessions() as session:
        communes = (await session.scalars(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa))).all()
        member = await grant_role(session, "console", "1", "team", communes[0])
        member.village_code = (await find_or_create_village(session, communes[0], "Thôn 3")).code
        await grant_role(session, "console", "9", "official")
        now = utcnow()
        await session.execute(insert(Report), [dict(
            draft_key=f"bench{i}", kind="difficulty", category_id=1 + i % 8, unit_code=communes[i % len(communes)],
            handling_unit_code=communes[i % len(communes)], description=f"Bà con không nhận được mã OTP ({i})",
            people_affected=i % 30, status="new", resolution_note="", created=now, last_action_at=now)
            for i in range(count)])
        await session.commit()

    reply, took, worst, polls = await while_polling(
        app, lambda: app.router.handle(Incoming.from_text("console", "9", "9", "/export")))
    print(f"/export of {count:,} reports: {took:.2f} s, {len(reply[0].document or b''):,} bytes; "
          f"/menu meanwhile: {polls} answered, longest wait {worst * 1000:.0f} ms")

    for step in ("/baocao", "rp:k:d", "rp:c:1", "rp:pl:ok"):
        kind = "button" if ":" in step else "text"
        await app.router.handle(Incoming("console", "1", "1", button=step) if kind == "button"
                                else Incoming.from_text("console", "1", "1", step))
    await app.router.handle(Incoming.from_text("console", "1", "1", "Không nhận được mã OTP khi đăng nhập"))
    for label, data in (("12000×12000 PNG", image("PNG", 12000, 12000)), ("6000×4000 JPEG", image("JPEG", 6000, 4000))):
        photo = Incoming("console", "1", "1", attachments=[Attachment("document", data, "a.png", "image/png")])
        reply, took, worst, polls = await while_polling(app, lambda photo=photo: app.router.handle(photo))
        print(f"{label} ({len(data):,} bytes): {took:.2f} s, answer: {reply[0].text[:60]!r}; "
              f"/menu meanwhile: {polls} answered, longest wait {worst * 1000:.0f} ms")
    await app.aclose()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=30_000)
    sys.exit(asyncio.run(main(parser.parse_args().reports)))
