"""Difficulty reports through the router: filing, handling, news to the reporter, export, privacy."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from content.sheets import neutralise
from db import reports as repo
from db.admin import grant_role
from db.base import utcnow
from db.invites import find_or_create_village
from db.models import DialogState, User
from db.reports import Report, ReportHistory, ReportPhoto
from handlers.messages import Attachment, Incoming
from handlers.reports import remind_stale
from tests.conftest import Talker
from tests.reporting import (
    file_report,
    first_report,
    jpeg,
    only_report,
    open_second_as_duplicate,
    outbox_for,
    send_report,
    setup_people,
    start_report,
)


async def test_a_member_files_a_report_with_a_photo_and_the_commune_official_is_told(app):
    await setup_people(app)
    member = await file_report(Talker(app, "1"))
    assert "Thôn 3" in member.text and "12" in member.text
    assert "rp:send" in member.button_data()
    await member.press("rp:send")
    assert "BC-000001" in member.text

    report = await only_report(app)
    assert report.status == "new" and report.people_affected == 12
    async with app.sessions() as session:
        assert await session.scalar(select(func.count(ReportPhoto.id)).where(ReportPhoto.report_id == report.id)) == 1
        history = (await session.scalars(select(ReportHistory))).all()
    assert [(h.from_status, h.to_status) for h in history] == [(None, "new")]

    [notice] = await outbox_for(app, "9")
    assert "BC-000001" in notice.text and notice.buttons == [[["Mở BC-000001", f"ro:o:{report.id}"]]]
    assert await outbox_for(app, "8") == []  # another commune's official hears nothing


async def test_each_step_is_saved_and_a_stale_number_is_not_taken_as_an_option(app):
    await setup_people(app)
    member = await start_report(Talker(app, "1"))
    await member.say("2")  # the description step shows no options: "2" is just too short
    assert "too short" in member.text or "quá ngắn" in member.text
    async with app.sessions() as session:
        state = (await session.scalars(select(DialogState))).first()
    assert state.dialog == "report" and state.step == "desc" and state.data["kind"] == "difficulty"

    # A "restart": starting again resumes the draft instead of losing it.
    await member.say("/baocao")
    assert "unfinished" in member.text or "chưa gửi xong" in member.text


async def test_the_description_must_be_10_to_2000_characters(app):
    await setup_people(app)
    member = await start_report(Talker(app, "1"), "g")
    await member.say("x" * 2001)
    async with app.sessions() as session:
        assert (await session.scalar(select(DialogState.step))) == "desc"
    await member.say("Một cách làm hay ở thôn")
    async with app.sessions() as session:
        assert (await session.scalar(select(DialogState.step))) == "photos"


async def test_at_most_three_photos_and_image_files_count_too(app):
    await setup_people(app)
    member = await start_report(Talker(app, "1"))
    await member.say("Cổng dịch vụ công báo lỗi liên tục")
    for i in range(2):
        await member.send(Incoming("console", "1", "1", attachments=[Attachment("photo", jpeg((i, 0, 0)))]))
    await member.send(Incoming("console", "1", "1", attachments=[
        Attachment("document", jpeg(), "loi.png", "image/png")]))
    # The third photo moved on to the number of people.
    await member.say("0")
    await member.press("rp:send")
    async with app.sessions() as session:
        assert await session.scalar(select(func.count(ReportPhoto.id))) == 3


async def test_a_draft_untouched_for_24_hours_expires(app):
    await setup_people(app)
    member = Talker(app, "1")
    await member.say("/baocao")
    await member.press("rp:k:d")
    async with app.sessions() as session:
        state = (await session.scalars(select(DialogState))).first()
        state.data = {**state.data, "ts": (utcnow() - timedelta(hours=25)).isoformat()}
        await session.commit()
    await member.press(member.button_data()[0])
    assert "24" in member.text
    async with app.sessions() as session:
        assert (await session.scalar(select(DialogState.dialog))) is None


async def test_sending_twice_creates_one_report(app):
    member = await first_report(app)
    await member.press("rp:send")
    async with app.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 1


async def test_the_same_update_delivered_twice_creates_one_report(app):
    await setup_people(app)
    member = await file_report(Talker(app, "1"))
    press = Incoming("console", "1", "1", button="rp:send", update_id="777")
    await member.send(press)
    await member.send(Incoming("console", "1", "1", button="rp:send", update_id="777"))
    async with app.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 1


async def test_an_open_report_of_the_same_category_is_offered_and_can_be_followed(app):
    a, _b = await setup_people(app)
    await send_report(Talker(app, "1"))
    async with app.sessions() as session:
        other = await grant_role(session, "console", "2", "team", a)
        other.village_code = (await find_or_create_village(session, a, "thon 5")).code
        await session.commit()
    second = await file_report(Talker(app, "2"), text="Người dân không nhận được OTP")
    assert "BC-000001" in second.text
    await second.press("rp:same:1")
    async with app.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 1
        report = await session.get(Report, 1)
        followers = await repo.followers_of(session, report)
    assert len(followers) == 2


async def test_twenty_reports_a_day_at_most(app):
    await setup_people(app)
    async with app.sessions() as session:
        member = await session.scalar(select(User).where(User.platform_user_id == "1"))
        for i in range(20):
            await repo.submit_report(session, member, f"d{i}", "difficulty", 1, member.unit_code, None,
                                     "mô tả đủ dài ở đây", None, app.settings.tz)
        await session.commit()
    member = Talker(app, "1")
    await member.say("/baocao")
    assert "20" in member.text and "rp:k:d" not in member.button_data()


async def test_the_official_takes_resolves_and_the_reporter_is_told_and_reopens(app):
    member = await first_report(app)
    official = Talker(app, "9")
    await official.press("ro:o:1")  # shown through the outbox notification
    assert any(r.photo for r in official.replies)
    assert "Bà Lan" in official.text and "Thôn 3" in official.text
    await official.press("ro:t:1")
    assert (await only_report(app)).status == "acknowledged"
    await official.press("ro:f:1")
    await official.say("Đã hướng dẫn bà con cài lại VNeID")
    report = await only_report(app)
    assert report.status == "fixed" and report.resolution_note.startswith("Đã hướng dẫn")

    news = await outbox_for(app, "1")
    assert len(news) == 2 and "BC-000001" in news[1].text and "cài lại VNeID" in news[1].text
    assert news[1].buttons == [[["🔁 Vẫn chưa được giải quyết", "rp:re:1"]]]
    await member.press("rp:re:1")
    assert (await only_report(app)).status == "reopened"
    reopened_notice = (await outbox_for(app, "9"))[-1]
    assert "BC-000001" in reopened_notice.text

    async with app.sessions() as session:
        history = (await session.scalars(select(ReportHistory).order_by(ReportHistory.id))).all()
    assert [h.to_status for h in history] == ["new", "acknowledged", "fixed", "reopened"]


async def test_reopening_is_refused_after_14_days(app):
    member = await first_report(app)
    async with app.sessions() as session:
        await session.execute(update(Report).values(status="closed", closed_at=utcnow() - timedelta(days=15)))
        await session.commit()
    await member.say("/myreports")
    assert "rp:re:1" not in member.button_data()
    # the button is no longer shown; a press of the old one is still refused
    async with app.sessions() as session:
        report = await session.get(Report, 1)
        assert not repo.can_reopen(report)


async def test_an_official_of_another_commune_cannot_see_or_act(app):
    await first_report(app)
    other = Talker(app, "8")
    await other.say("/phananh")
    assert "BC-000001" not in other.text
    await other.press("ro:t:1")  # never shown: refused by the router
    assert (await only_report(app)).status == "new"
    # Even data the official was once shown is checked against the scope.
    async with app.sessions() as session:
        state = await session.get(DialogState, (await session.scalar(
            select(User.id).where(User.platform_user_id == "8"))))
        state.shown = [*state.shown, "ro:t:1", "ro:o:1"]
        await session.commit()
    await other.press("ro:t:1")
    assert "not in your unit" in other.text or "không thuộc" in other.text
    assert (await only_report(app)).status == "new"


async def test_the_list_has_filters_and_pages_of_ten(app):
    a, _b = await setup_people(app)
    async with app.sessions() as session:
        member = await session.scalar(select(User).where(User.platform_user_id == "1"))
        for i in range(12):
            await repo.submit_report(session, member, f"d{i}", "difficulty", 1 + i % 2, a, None, "mô tả đủ dài",
                                     None, app.settings.tz)
        await session.commit()
    official = Talker(app, "9")
    await official.say("/reports")
    report_buttons = [d for d in official.button_data() if d.startswith("ro:o:")]
    assert len(report_buttons) == 10
    assert "rl:o:0:0:0:2" in official.button_data()
    await official.press("rl:o:0:0:0:2")
    assert len([d for d in official.button_data() if d.startswith("ro:o:")]) == 2
    await official.press("rf:o:0:0:0")
    await official.press("rl:o:2:0:0:1")
    assert len([d for d in official.button_data() if d.startswith("ro:o:")]) == 6
    await official.press("rl:f:0:0:0:1")
    assert not [d for d in official.button_data() if d.startswith("ro:o:")]


async def test_rerouting_hands_the_report_to_the_other_commune_and_keeps_its_place(app):
    a, b = await setup_people(app)
    await send_report(Talker(app, "1"))
    official = Talker(app, "9")
    await official.press("ro:o:1")
    await official.press("ro:r:1")
    await official.say(b)
    report = await only_report(app)
    assert report.handling_unit_code == b and report.unit_code == a and report.status == "new"
    assert any("BC-000001" in m.text for m in await outbox_for(app, "8"))
    assert "transferred" in (await outbox_for(app, "1"))[-1].text or "chuyển" in (await outbox_for(app, "1"))[-1].text


async def test_duplicates_are_linked_and_comments_reach_the_reporter(app):
    member = await first_report(app)
    official = await open_second_as_duplicate(app, member)
    await official.say("BC-000001")
    async with app.sessions() as session:
        dup = await session.get(Report, 2)
    assert dup.status == "duplicate" and dup.duplicate_of_id == 1
    await official.press("ro:o:1")
    await official.press("ro:m:1")
    await official.say("Chiều nay cán bộ xuống thôn hỗ trợ")
    assert "Chiều nay" in (await outbox_for(app, "1"))[-1].text


async def test_stale_reports_are_reminded_once_a_day(app):
    await first_report(app)
    # in the morning, so that an hour later is the same day whatever time the test runs
    later = (utcnow() + timedelta(days=4)).replace(hour=9, minute=0)
    async with app.sessions() as session:
        assert await remind_stale(session, later) == 1
    async with app.sessions() as session:
        assert await remind_stale(session, later + timedelta(hours=1)) == 0
    reminders = [m for m in await outbox_for(app, "9") if m.kind == "report_reminder"]
    assert len(reminders) == 1 and "BC-000001" in reminders[0].text


async def test_export_contains_the_report_and_neutralises_formulas(app):
    await first_report(app, text="=HYPERLINK(\"http://x\") lỗi cổng")
    official = Talker(app, "9")
    await official.say("/export")
    [reply] = official.replies
    sheet = load_workbook(io.BytesIO(reply.document)).active
    rows = list(sheet.values)
    assert rows[1][0] == "BC-000001"
    assert rows[0][6] == "Nội dung" and rows[1][6].startswith("'=HYPERLINK")
    assert neutralise("+1") == "'+1" and neutralise("-") == "'-" and neutralise("@a") == "'@a"
    assert neutralise("ok") == "ok" and neutralise(5) == 5


async def test_deleting_my_data_keeps_the_report_anonymised(app):
    member = await first_report(app)
    await member.say("/xoadulieu")
    await member.press("dd:yes")
    async with app.sessions() as session:
        assert await session.scalar(select(User).where(User.platform_user_id == "1")) is None
        report = await session.get(Report, 1)
        assert report.reporter_id is None
    official = Talker(app, "9")
    await official.press("ro:o:1")
    assert "Bà Lan" not in official.text


async def test_citizens_cannot_file_and_team_members_cannot_triage(app):
    await setup_people(app)
    citizen = Talker(app, "50")
    await citizen.say("/baocao")
    assert "invite code" in citizen.text or "mã mời" in citizen.text
    member = Talker(app, "1")
    await member.say("/phananh")
    assert "BC-" not in member.text


async def test_typing_bo_qua_at_the_photo_step_goes_on_without_a_photo(app):
    await setup_people(app)
    member = await start_report(Talker(app, "1"))
    await member.say("Không nhận được mã OTP khi đăng nhập")
    await member.say("bo qua")
    async with app.sessions() as session:
        state = (await session.scalars(select(DialogState).where(DialogState.dialog == "report"))).first()
    assert state.step == "people"
