"""End to end over the real python-telegram-bot and HTTP (issue 10): day 1 ten communes report,
day 2 only one; the province's summary on day 2 counts all ten with their latest figures."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from db.admin import grant_role
from db.models import AdminUnit, UnitLevel, User
from tests.e2e import running_bot

pytestmark = pytest.mark.usefixtures("running_campaign")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROVINCE, ENGLISH = 5151, 5252


def workbook(metric, rows) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Tên đơn vị", metric.numerator, metric.denominator])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def send_and_import(fake, user, data, caption):
    mark = fake.mark()
    fake.user_sends_document(user, data, "so-lieu.xlsx", XLSX, caption=caption)
    [preview] = await fake.wait_messages(user, 1, since=mark, timeout=15)
    assert "Nhập các số liệu này?" in preview.text, preview.text
    mark = fake.mark()
    fake.user_presses(user, "pg:import")
    [done] = await fake.wait_messages(user, 1, since=mark, timeout=15)
    assert "✅" in done.text, done.text


async def summary_text(fake, user, command="/tiendo"):
    mark = fake.mark()
    fake.user_sends_text(user, command)
    await fake.wait_messages(user, 1, since=mark, timeout=15)
    await asyncio.sleep(0.3)
    return "\n".join(m.text or "" for m in fake.messages_to(user, since=mark))


async def test_day_two_counts_all_ten_communes_with_their_latest_figures(tmp_path, running_campaign):
    metric = running_campaign.metrics[0]
    async with running_bot(tmp_path) as (fake, app):
        today = datetime.now(app.settings.tz).date()
        yesterday = today - timedelta(days=1)
        async with app.sessions() as session:
            communes = list(await session.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.xa)
                                                  .order_by(AdminUnit.code).limit(10)))
            await grant_role(session, "telegram", str(PROVINCE), "official", None)
            english = await grant_role(session, "telegram", str(ENGLISH), "official", None)
            (await session.get(User, english.id)).locale = "en"
            await session.commit()

        # Day 1: ten communes, 300 of 1000 each (the province: 30,0%).
        day1 = workbook(metric, [[u.name, 300, 1000] for u in communes])
        await send_and_import(fake, PROVINCE, day1, yesterday.strftime("%d/%m/%Y"))
        # Day 2: only the first commune, now 800 of 1000.
        day2 = workbook(metric, [[communes[0].name, 800, 1000]])
        await send_and_import(fake, PROVINCE, day2, today.strftime("%d/%m/%Y"))

        text = await summary_text(fake, PROVINCE)
        # (9 × 300 + 800) / 10 000 = 35,0 %, not the 80 % of the one commune that reported today.
        assert f"<b>{metric.name}</b>: 35,0%" in text, text
        assert "10/" in text and "đơn vị" in text
        assert "▲5,0 điểm" in text  # the as-of province moved from 30 % to 35 %
        assert running_campaign.plan in text

        english_text = await summary_text(fake, ENGLISH, "/progress")
        assert f"<b>{metric.name}</b>: 35.0%" in english_text and "units counted" in english_text
