"""Campaign progress in the chat: /progress, /template, importing a file, /update, subscriptions."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from content.campaign import campaign_for, load_campaigns
from content.progress_import import FigureRow, ParsedFile
from db.admin import grant_role
from db.models import AdminUnit, UnitLevel
from db.progress import ProgressFigure, import_figures
from db.subscriptions import SummarySubscription, is_subscribed
from handlers.messages import Attachment, Incoming
from tests.conftest import Talker

pytestmark = pytest.mark.usefixtures("running_campaign")

PNG = b"\x89PNG\r\n\x1a\n"


def today(app):
    return datetime.now(app.settings.tz).date()


async def communes(app, n=3) -> list[AdminUnit]:
    async with app.sessions() as session:
        rows = await session.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.xa)
                                     .order_by(AdminUnit.code).limit(n))
        return list(rows)


async def seed_figures(app, day, rates: dict[str, float]):
    """Every metric of the running campaign at ``rate`` (of 1000) for each unit code."""
    campaign = campaign_for(day, load_campaigns())
    rows = [FigureRow(i + 1, code, code, {m.id: (round(rate * 1000), 1000) for m in campaign.metrics})
            for i, (code, rate) in enumerate(rates.items())]
    async with app.sessions() as session:
        result = await import_figures(session, campaign, day, ParsedFile(rows=rows), None, "seed", b"seed")
    assert result.ok
    return campaign


async def make_official(app, user_id: str, unit_code: str | None = None) -> Talker:
    async with app.sessions() as session:
        await grant_role(session, "console", user_id, "official", unit_code)
    return Talker(app, user_id)


async def stored(app, day=None) -> list[tuple[str, str, float, float]]:
    async with app.sessions() as session:
        query = select(ProgressFigure.unit_code, ProgressFigure.metric_id, ProgressFigure.numerator,
                       ProgressFigure.denominator)
        if day is not None:
            query = query.where(ProgressFigure.date == day)
        return [tuple(r) for r in (await session.execute(query.order_by(ProgressFigure.unit_code))).all()]


def document(talker: Talker, data: bytes, filename: str, caption: str = "") -> Incoming:
    incoming = Incoming.from_text("console", talker.user_id, talker.user_id, caption)
    incoming.attachments = [Attachment("document", data, filename,
                                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    return incoming


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- /progress


async def test_progress_shows_the_scope_of_each_official(app):
    a, b, c = await communes(app)
    day = today(app)
    await seed_figures(app, day, {a.code: 0.2, b.code: 0.9, c.code: 0.5})
    province = await make_official(app, "1")
    commune = await make_official(app, "2", a.code)

    [reply] = await province.say("/progress")
    assert "Toàn tỉnh" in reply.text or "Tỉnh Hà Tĩnh" in reply.text
    assert reply.photo and reply.photo.startswith(PNG)
    assert "53,3%" in reply.text  # (200 + 900 + 500) / 3000, the roll-up of the three communes
    assert a.name in reply.text  # the lagging units of the province
    assert "pg:template" in province.button_data()

    [reply] = await commune.say("/tiendo")
    assert a.name in reply.text and "20,0%" in reply.text
    assert "53,3%" not in reply.text and b.name not in reply.text
    assert reply.photo.startswith(PNG)
    assert "pg:update" in commune.button_data()

    # The menu button does the same.
    await commune.say("/menu")
    assert "pg:show" in commune.button_data()
    [reply] = await commune.press("pg:show")
    assert a.name in reply.text


async def test_a_citizen_is_refused_everything(app, talker):
    for command in ("/progress", "/template", "/update", "/subscribe"):
        await talker.say(command)
        assert "only for" in talker.text or "chỉ dành cho" in talker.text
        assert not talker.replies[0].photo and not talker.replies[0].document
    await talker.say("/menu")
    assert "pg:show" not in talker.button_data()
    # A citizen's xlsx is not imported.
    await talker.send(document(talker, xlsx([["Mã đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"]]),
                               "x.xlsx"))
    assert await stored(app) == []


# ---------------------------------------------------------------- /template and importing


async def test_template_is_a_valid_xlsx_listing_the_units(app):
    official = await make_official(app, "1")
    [reply] = await official.say("/template")
    assert reply.filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(reply.document)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:2] == ("Mã đơn vị", "Tên đơn vị")
    assert len(rows) > 50  # every commune and department

    a, *_ = await communes(app)
    commune = await make_official(app, "2", a.code)
    [reply] = await commune.say("/template")
    rows = list(openpyxl.load_workbook(io.BytesIO(reply.document)).active.iter_rows(values_only=True))
    assert [r[:2] for r in rows[3:]] == [(a.code, a.name)]


async def test_the_filled_in_template_imports_through_the_chat(app):
    a, b, _c = await communes(app)
    official = await make_official(app, "1")
    [reply] = await official.say("/template")
    workbook = openpyxl.load_workbook(io.BytesIO(reply.document))
    sheet = workbook.active
    for row in sheet.iter_rows(min_row=4):
        if row[0].value == a.code:
            row[2].value, row[3].value = "1.200", 2000  # alone, "1.200" could be 1200 or 1,2
    out = io.BytesIO()
    workbook.save(out)
    await official.send(document(official, out.getvalue(), "so-lieu.xlsx"))
    assert "❌" in official.text and "1.200" in official.text and "1,2" in official.text
    assert await stored(app) == []

    for row in sheet.iter_rows(min_row=4):
        if row[0].value == b.code:
            row[2].value, row[3].value = "1.500,0", 2000  # Vietnamese-formatted: the column's convention
    out = io.BytesIO()
    workbook.save(out)
    await official.send(document(official, out.getvalue(), "so-lieu.xlsx"))
    assert "đọc được 2 đơn vị, 1 chỉ tiêu" in official.text and "pg:import" in official.button_data()
    assert await stored(app) == []  # a preview first: nothing stored yet
    await official.press("pg:import")
    assert "✅" in official.text and "2 đơn vị" in official.text
    campaign = campaign_for(today(app), load_campaigns())
    first = campaign.metrics[0].id
    assert await stored(app, today(app)) == [(a.code, first, 1200.0, 2000.0), (b.code, first, 1500.0, 2000.0)]

    # A date in the caption imports for that date; Cancel stores nothing.
    yesterday = today(app) - timedelta(days=1)
    await official.send(document(official, out.getvalue(), "so-lieu.xlsx", caption=yesterday.strftime("%d/%m/%Y")))
    assert yesterday.strftime("%d/%m/%Y") in official.text
    await official.press("pg:cancel")
    assert await stored(app, yesterday) == []
    await official.send(document(official, out.getvalue(), "so-lieu.xlsx", caption=yesterday.strftime("%d/%m/%Y")))
    await official.press("pg:import")
    assert len(await stored(app, yesterday)) == 2


async def test_a_bad_file_gets_vietnamese_errors_and_stores_nothing(app):
    a, *_ = await communes(app)
    official = await make_official(app, "1")
    rows = [["Mã đơn vị", "Tên đơn vị", "Hồ sơ nộp trực tuyến", "Tổng hồ sơ tiếp nhận"],
            [a.code, a.name, 500, 100],
            ["", "Xã Không Có Thật", 1, 2]]
    rows += [[f"NOPE{i}", "", 1, 2] for i in range(25)]
    await official.send(document(official, xlsx(rows), "bad.xlsx"))
    text = official.text
    assert "❌" in text and "không có số liệu nào được ghi" in text
    assert "lớn hơn mẫu số" in text and "không tìm thấy đơn vị" in text
    assert "và 7 lỗi khác" in text  # 27 errors, 20 shown
    assert await stored(app) == []

    await official.send(document(official, b"not a spreadsheet at all \x00\x01", "x.xlsx"))
    assert "không phải là tệp Excel" in official.text
    assert await stored(app) == []


async def test_a_commune_official_imports_only_their_own_unit(app):
    a, b, _c = await communes(app)
    day = today(app)
    campaign = await seed_figures(app, day, {a.code: 0.5, b.code: 0.5})
    metric = campaign.metrics[0]
    commune = await make_official(app, "2", a.code)
    header = ["Mã đơn vị", "Tên đơn vị", metric.numerator, metric.denominator]

    await commune.send(document(commune, xlsx([header, [b.code, b.name, 1, 2]]), "b.xlsx"))
    assert "không thuộc phạm vi" in commune.text

    await commune.send(document(commune, xlsx([header, [a.code, a.name, 7, 10]]), "a.xlsx"))
    await commune.press("pg:import")
    assert "✅" in commune.text
    figures = await stored(app, day)
    assert (a.code, metric.id, 7.0, 10.0) in figures
    assert (b.code, metric.id, 500.0, 1000.0) in figures  # the other commune is untouched
    assert sum(1 for f in figures if f[0] == a.code) == 1  # a's figures of that day were replaced


# ---------------------------------------------------------------- /update


async def test_update_dialog_saves_the_typed_figures(app):
    a, b, _c = await communes(app)
    day = today(app)
    campaign = await seed_figures(app, day, {b.code: 0.5})
    commune = await make_official(app, "2", a.code)
    metrics = campaign.metrics

    await commune.say("/update")
    assert f"(1/{len(metrics)})" in commune.text and metrics[0].name in commune.text
    await commune.say("120/300")
    assert f"(2/{len(metrics)})" in commune.text
    await commune.say("abc")
    assert "120/300" in commune.text and f"(2/{len(metrics)})" in commune.text  # asked again
    await commune.say("400/300")
    assert "không được lớn hơn" in commune.text or "cannot be larger" in commune.text
    await commune.say("1.234/2.000")
    await commune.press("pg:skip:2")
    for _ in metrics[3:]:
        await commune.say("bỏ qua")
    assert "pg:save" in commune.button_data()
    assert "40,0%" in commune.text and "61,7%" in commune.text
    await commune.press("pg:save")
    assert "✅" in commune.text
    figures = await stored(app, day)
    assert (a.code, metrics[0].id, 120.0, 300.0) in figures
    assert (a.code, metrics[1].id, 1234.0, 2000.0) in figures
    assert not any(f[0] == a.code and f[1] == metrics[2].id for f in figures)
    assert (b.code, metrics[0].id, 500.0, 1000.0) in figures  # untouched

    # The save button cannot be pressed twice, and the next /update shows the last values.
    await commune.press("pg:save")
    assert "không còn hiệu lực" in commune.text
    await commune.say("/update")
    assert "120/300" in commune.text


async def test_update_is_for_a_unit_not_the_province(app):
    official = await make_official(app, "1")
    await official.say("/update")
    assert "/template" in official.text
    await official.say("120/300")
    assert await stored(app) == []


# ---------------------------------------------------------------- subscriptions


async def test_officials_are_subscribed_when_granted_and_can_unsubscribe(app):
    a, *_ = await communes(app)
    official = await make_official(app, "2", a.code)
    async with app.sessions() as session:
        user_id = await session.scalar(select(SummarySubscription.user_id))
        assert user_id is not None

    await official.say("/unsubscribe")
    assert "/subscribe" in official.text
    async with app.sessions() as session:
        assert not await is_subscribed(session, user_id)
    await official.say("/huydangky")
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SummarySubscription)) == 0

    await official.say("/dangky")
    assert "17:00" in official.text
    await official.say("/subscribe")
    async with app.sessions() as session:
        assert await is_subscribed(session, user_id)
        assert await session.scalar(select(func.count()).select_from(SummarySubscription)) == 1


async def test_an_invite_to_an_official_subscribes(app):
    from db.admin import get_or_create_user
    from db.invites import create_invite, redeem
    from db.models import Role

    a, *_ = await communes(app)
    async with app.sessions() as session:
        code = await create_invite(session, Role.official, a.code)
        team_code = await create_invite(session, Role.team, a.code)
        user = await get_or_create_user(session, "console", "9")
        other = await get_or_create_user(session, "console", "10")
        await redeem(session, user, code)
        await redeem(session, other, team_code)
        await session.commit()
        assert await is_subscribed(session, user.id)
        assert not await is_subscribed(session, other.id)


@pytest.mark.parametrize("text,expected", [
    ("25/11/2026", (2026, 11, 25)), ("ngày 1.2.2026", (2026, 2, 1)), ("2026-03-04", (2026, 3, 4)),
    ("Hôm qua", (2026, 11, 25)), ("", None), ("31/02/2026", None),
])
def test_the_date_in_a_caption(text, expected):
    from datetime import date

    from content.dates import parse_day

    result = parse_day(text, date(2026, 11, 26))
    assert (result.timetuple()[:3] if result else None) == expected


async def test_through_telegram_a_document_is_imported_and_progress_has_a_chart(tmp_path):
    from tests.e2e import running_bot

    async with running_bot(tmp_path) as (fake, app):
        a, b, _c = await communes(app)
        async with app.sessions() as session:
            await grant_role(session, "telegram", "4242", "official", a.code)
        campaign = campaign_for(today(app), load_campaigns())
        metric = campaign.metrics[0]
        data = xlsx([["BÁO CÁO"], ["Mã đơn vị", "Tên đơn vị", metric.numerator, metric.denominator],
                     [a.code, a.name, "12", "40"]])
        fake.user_sends_document(4242, data, "so lieu.xlsx",
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        [preview] = await fake.wait_messages(4242, 1, timeout=10)
        assert "đọc được 1 đơn vị" in preview.text and await stored(app, today(app)) == []
        mark = fake.mark()
        fake.user_presses(4242, "pg:import")
        [reply] = await fake.wait_messages(4242, 1, since=mark, timeout=10)
        assert "✅" in reply.text
        assert (a.code, metric.id, 12.0, 40.0) in await stored(app, today(app))

        mark = fake.mark()
        fake.user_sends_text(4242, "/tiendo")
        messages = await fake.wait_messages(4242, 1, since=mark, timeout=10)
        assert messages[0].method == "sendPhoto" and messages[0].files
        await asyncio.sleep(0.3)
        text = "\n".join(m.text or "" for m in fake.messages_to(4242, since=mark))
        assert a.name in text and "30,0%" in text


async def test_the_chart_is_drawn_again_only_after_a_new_import(app):
    a, b, _c = await communes(app)
    day = today(app)
    await seed_figures(app, day, {a.code: 0.2, b.code: 0.9})
    official = await make_official(app, "1")
    [first] = await official.say("/progress")
    [again] = await official.say("/progress")
    assert again.photo == first.photo
    await seed_figures(app, day, {a.code: 0.6, b.code: 0.9})
    [changed] = await official.say("/progress")
    assert changed.photo != first.photo and changed.photo.startswith(PNG)
