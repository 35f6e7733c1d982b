"""Issue 13, the report loop keeps each promise: who was told, followers, good practice, transfers, export."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

from db.admin import grant_role
from db.invites import find_or_create_village
from db.reports import Report
from tests.conftest import Talker
from tests.reporting import communes, file_report, only_report, outbox_for, send_report, setup_people, start_report


async def test_the_reporter_is_told_the_commune_officials_know_only_when_there_are_some(app):
    a, _b = await setup_people(app)
    member = await send_report(Talker(app, "1"))
    assert "BC-000001" in member.text and "Cán bộ " in member.text and "đã được báo" in member.text
    assert "cán bộ tỉnh" not in member.text
    assert any("BC-000001" in m.text for m in await outbox_for(app, "9"))


async def test_with_no_commune_official_the_province_officials_are_told_and_the_reporter_knows(app):
    _a, _b, c = await communes(app, 3)
    reporter = await file_report(await second_member(app, c, "1", "Thôn 1"))
    async with app.sessions() as session:
        await grant_role(session, "console", "70", "official")  # the province
        await session.commit()
    await reporter.press("rp:send")
    assert "chưa có cán bộ nào dùng bot, nên cán bộ tỉnh đã được báo" in reporter.text
    assert "Cán bộ xã đã được báo" not in reporter.text
    assert any("BC-000001" in m.text for m in await outbox_for(app, "70"))


async def test_with_no_official_at_all_nobody_is_said_to_be_told(app):
    _a, _b, c = await communes(app, 3)
    reporter = await send_report(await second_member(app, c, "1", "Thôn 1"))
    assert "BC-000001" in reporter.text
    assert "Chưa có cán bộ nào tham gia bot" in reporter.text and "đã được báo" not in reporter.text


async def second_member(app, commune, user_id="2", village="Thôn 5"):
    async with app.sessions() as session:
        member = await grant_role(session, "console", user_id, "team", commune)
        member.village_code = (await find_or_create_village(session, commune, village)).code
        await session.commit()
    return Talker(app, user_id)


async def test_a_follower_sees_the_report_in_my_reports_gets_its_news_and_the_official_adds_them_up(app):
    a, _b = await setup_people(app)
    first = await send_report(Talker(app, "1"), people="12")
    other = await second_member(app, a)
    await file_report(other, text="Ở thôn 5 bà con cũng không nhận được OTP VNeID", people="5")
    assert "rp:same:1" in other.button_data()
    await other.press("rp:same:1")
    assert "BC-000001" in other.text

    await other.say("/baocaocuatoi")
    assert "BC-000001" in other.text and "đang theo dõi" in other.text
    await first.say("/baocaocuatoi")
    assert "BC-000001" in first.text and "đang theo dõi" not in first.text

    official = Talker(app, "9")
    await official.press("ro:o:1")
    assert "Số tổ khác gặp cùng vấn đề: 1" in official.text
    assert "Cũng gặp ở: Thôn 5" in official.text
    assert "Tổng số người gặp khó khăn: 17" in official.text

    await official.press("ro:p:1")
    news = [m.text for m in await outbox_for(app, "2") if m.kind == "report_status"]
    assert news and "BC-000001" in news[-1]

    await official.say("/export")
    row = dict(zip(*list(load_workbook(io.BytesIO(official.replies[0].document)).active.values)[:2]))
    assert row["Số tổ cùng gặp"] == 1 and row["Tổng số người ảnh hưởng"] == 17


async def file_good_practice(member: Talker, text="Tổ mở lớp hướng dẫn cài VNeID cho người cao tuổi tại nhà văn hóa"):
    await start_report(member, "g")
    asked_desc = member.text
    await member.say(text)
    asked_photos = member.text
    await member.press("rp:ph")
    asked_people = member.text
    await member.say("30")
    summary = member.text
    await member.press("rp:send")
    return asked_desc, asked_photos, asked_people, summary


async def test_a_good_practice_has_its_own_wording(app):
    await setup_people(app)
    member = Talker(app, "1")
    desc, photos, people, summary = await file_good_practice(member)
    assert "cách làm hay" in desc and "vấn đề" not in desc
    assert "báo lỗi" not in photos
    assert "giúp khoảng bao nhiêu người" in people
    assert "Số người được giúp: 30" in summary and "gặp khó khăn" not in summary
    assert "Cảm ơn bạn đã chia sẻ cách làm hay" in member.text
    notice = [m.text for m in await outbox_for(app, "9") if "BC-000001" in m.text][0]
    assert "Cách làm hay mới" in notice


async def test_a_good_practice_is_acknowledged_or_shared_never_resolved(app):
    a, b = await setup_people(app)
    teams = [await second_member(app, a, "2", "Thôn 5"), await second_member(app, b, "3", "Thôn 1")]
    async with app.sessions() as session:  # a citizen and a member elsewhere are not teams of the province
        await grant_role(session, "console", "4", "citizen")
        await session.commit()
    member = Talker(app, "1")
    await file_good_practice(member)
    official = Talker(app, "9")
    await official.press("ro:o:1")
    data = official.button_data()
    assert "ro:g:1" in data and "ro:s:1" in data
    assert not {"ro:f:1", "ro:r:1", "ro:d:1", "ro:t:1"} & set(data)
    assert "Đã giải quyết" not in " ".join(official.button_labels())

    await official.press("ro:g:1")
    assert (await only_report(app)).status == "noted"
    assert "đã ghi nhận cách làm hay" in (await outbox_for(app, "1"))[-1].text

    await official.press("ro:s:1")
    report = await only_report(app)
    assert report.status == "shared" and "Đã gửi tới 2 thành viên" in official.text
    for team in teams:
        shared = [m for m in await outbox_for(app, team.user_id) if m.kind == "report_share"]
        assert len(shared) == 1 and "nhà văn hóa" in shared[0].text
    assert not [m for m in await outbox_for(app, "1") if m.kind == "report_share"]
    assert "chia sẻ cách làm hay" in (await outbox_for(app, "1"))[-1].text

    await official.press("ro:s:1")  # pressed again (an old message): nothing goes out twice
    for team in teams:
        assert len([m for m in await outbox_for(app, team.user_id) if m.kind == "report_share"]) == 1


async def test_a_transfer_to_a_department_keeps_the_place_and_shows_the_handling_unit(app):
    a, _b = await setup_people(app)
    await send_report(Talker(app, "1"))
    async with app.sessions() as session:
        await grant_role(session, "console", "60", "official", "42-SO-KHCN")
        await session.commit()
    official = Talker(app, "9")
    await official.press("ro:o:1")
    await official.press("ro:r:1")
    await official.say("Sở Khoa học và Công nghệ")
    report = await only_report(app)
    assert report.unit_code == a and report.handling_unit_code == "42-SO-KHCN" and report.village_code

    department = Talker(app, "60")
    await department.say("/phananh")
    assert "BC-000001" in department.text and "Thôn 3" in department.text and "Sở Khoa học" in department.text
    await department.press("ro:o:1")
    assert "Thôn 3" in department.text and "Đơn vị xử lý: Sở Khoa học và Công nghệ" in department.text
    await department.press("ro:c:1")

    await department.say("/export")
    row = dict(zip(*list(load_workbook(io.BytesIO(department.replies[0].document)).active.values)[:2]))
    assert row["Thôn/tổ dân phố"] == "Thôn 3" and row["Đơn vị xử lý"] == "Sở Khoa học và Công nghệ"
    async with app.sessions() as session:
        commune_name = (await session.get(Report, 1)).unit_code
    assert row["Xã/phường"] != "Sở Khoa học và Công nghệ" and commune_name == a
    assert row["Người xử lý"] == "Bà Lan"  # closed directly, without "take": the handler is still named
    assert isinstance(row["Gửi lúc"], datetime) and isinstance(row["Đóng lúc"], datetime)


def test_the_migration_gives_transferred_reports_their_place_back(tmp_path):
    """0006_reports: the handling unit is today's unit_code; the place comes from the first transfer."""
    import sqlite3

    from db.migrate import upgrade

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0003")
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO admin_units (code, name, name_key, level, kind, parent_code, active) "
                    "VALUES (?, ?, ?, ?, '', ?, 1)",
                    [("42", "Tỉnh Hà Tĩnh", "ha tinh", "tinh", None), ("A", "Xã A", "xa a", "xa", "42"),
                     ("B", "Xã B", "xa b", "xa", "42"), ("S", "Sở X", "so x", "tinh", "42")])
    for rid, unit in ((1, "S"), (2, "A")):
        con.execute("INSERT INTO reports (id, draft_key, kind, category_id, unit_code, description, status, "
                    "resolution_note, created, last_action_at) VALUES (?, ?, 'difficulty', 1, ?, 'mô tả', 'new', "
                    "'', '2026-01-01 00:00:00', '2026-01-01 00:00:00')", (rid, f"d{rid}", unit))
    con.executemany("INSERT INTO report_history (report_id, action, from_unit, to_unit, note, created) "
                    "VALUES (1, 'reroute', ?, ?, '', '2026-01-02 00:00:00')", [("A", "B"), ("B", "S")])
    con.commit()
    con.close()

    upgrade(url)
    con = sqlite3.connect(path)
    rows = con.execute("SELECT id, unit_code, handling_unit_code FROM reports ORDER BY id").fetchall()
    con.close()
    assert rows == [(1, "A", "S"), (2, "A", "A")]
