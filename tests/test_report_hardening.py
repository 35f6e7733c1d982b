"""Issue 12 for reports: control characters (1), photos and exports outside the lock (2), revoked roles (17)."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select, update

from bot.cli.reports import cmd_reports_export
from content.text import clean_text
from db import reports as repo
from db.models import DialogState, Role, User
from db.reports import Report, ReportPhoto
from handlers.messages import Attachment, Incoming
from handlers.reports import export as export_module
from handlers.reports.photos import MAX_PIXELS
from tests.conftest import Talker
from tests.reporting import first_report, jpeg, send_report, setup_people, start_report

CONTROL = "".join(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))


def test_clean_text_drops_every_character_excel_refuses_and_keeps_the_rest():
    text = f"Bà con{CONTROL} không nhận được\tmã OTP\r\nThôn 3 \ud800ok"
    assert clean_text(text) == "Bà con không nhận được\tmã OTP\r\nThôn 3 ok"
    assert clean_text("") == "" and clean_text("Đã giải quyết ✅") == "Đã giải quyết ✅"


def test_text_entering_from_a_channel_is_cleaned():
    incoming = Incoming.from_text("telegram", "1", "1", "/baocao Thôn\x00 3\x1b", display_name="Lan\x07")
    assert (incoming.command, incoming.args, incoming.display_name) == ("baocao", "Thôn 3", "Lan")
    assert Incoming("zalo", "1", "1", text="a\x0bb").text == "ab"
    sent = Incoming("telegram", "1", "1", attachments=[Attachment("document", b"x", "so\x00lieu.xlsx")])
    assert sent.attachments[0].filename == "solieu.xlsx" and sent.attachments[0].data == b"x"


async def test_a_report_typed_with_control_characters_is_stored_clean(app):
    await first_report(app, text="Không nhận\x00 được mã OTP\x01 VNeID\x1f")
    async with app.sessions() as session:
        report = await session.scalar(select(Report))
    assert report.description == "Không nhận được mã OTP VNeID"


async def test_one_bad_row_already_in_the_database_does_not_break_any_export(app, tmp_path):
    await first_report(app)
    async with app.sessions() as session:  # written before the boundary cleaned text
        await session.execute(update(Report).values(description="lỗi\x00 cổng\x08 =1+1", resolution_note="\x0c"))
        await session.commit()
    official = Talker(app, "9")
    await official.say("/export")
    [reply] = official.replies
    row = list(load_workbook(io.BytesIO(reply.document)).active.values)[1]
    assert "lỗi cổng =1+1" in row

    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"out.{fmt}"
        args = type("Args", (), dict(start=datetime(2000, 1, 1).date(), end=datetime(2100, 1, 1).date(),
                                     unit=None, format=fmt, out=str(out)))()
        assert await cmd_reports_export(args, app) == 0
        assert out.stat().st_size > 0
    assert "\x00" not in (tmp_path / "out.csv").read_text(encoding="utf-8-sig")


def png(width, height) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 0).save(out, format="PNG")
    return out.getvalue()


async def to_photo_step(member: Talker):
    await start_report(member)
    await member.say("Không nhận được mã OTP khi đăng nhập VNeID")


async def test_a_huge_image_is_refused_in_vietnamese_without_being_decoded(app):
    await setup_people(app)
    member = Talker(app, "1")
    await to_photo_step(member)
    huge = png(8000, 6000)  # 48 million pixels, a small file
    assert MAX_PIXELS < 8000 * 6000
    await member.send(Incoming("console", "1", "1", attachments=[Attachment("document", huge, "a.png", "image/png")]))
    assert "Ảnh này quá lớn" in member.text and "40 triệu điểm ảnh" in member.text
    async with app.sessions() as session:
        assert not (await session.scalars(select(ReportPhoto))).all()
        state = (await session.scalars(select(DialogState).where(DialogState.dialog == "report"))).first()
    assert state.step == "photos"  # still there: a smaller photo is welcome


async def test_photos_are_cleaned_before_the_lock_and_in_a_thread(app, monkeypatch):
    from handlers.reports import photos

    seen = []
    original = photos._prepare

    def spy(attachment):
        seen.append((app.write_lock.locked(), threading.current_thread() is threading.main_thread()))
        return original(attachment)

    monkeypatch.setattr(photos, "_prepare", spy)
    await setup_people(app)
    member = Talker(app, "1")
    await to_photo_step(member)
    await member.send(Incoming("console", "1", "1", attachments=[Attachment("photo", jpeg())]))
    assert seen == [(False, False)]
    async with app.sessions() as session:
        [photo] = (await session.scalars(select(ReportPhoto))).all()
    assert Image.open(io.BytesIO(photo.data)).format == "JPEG"


async def test_the_export_workbook_is_built_after_the_lock_in_a_thread(app, monkeypatch):
    seen = []
    original = export_module.report_file

    def spy(*args, **kwargs):
        seen.append((app.write_lock.locked(), threading.current_thread() is threading.main_thread()))
        return original(*args, **kwargs)

    monkeypatch.setattr(export_module, "report_file", spy)
    await first_report(app)
    official = Talker(app, "9")
    await official.say("/export")
    [reply] = official.replies
    assert seen == [(False, False)] and reply.build is None
    assert list(load_workbook(io.BytesIO(reply.document)).active.values)[1][0] == "BC-000001"

    # Others are answered while a workbook is being built.
    answered = await asyncio.gather(official.app.router.handle(Incoming.from_text("console", "1", "1", "/menu")),
                                    official.app.router.handle(Incoming.from_text("console", "9", "9", "/export")))
    assert answered[0] and answered[1][0].document


async def test_an_export_too_large_for_one_file_is_refused_clearly(app, monkeypatch):
    monkeypatch.setattr(export_module, "MAX_EXPORT_ROWS", 1)
    await setup_people(app)
    member = Talker(app, "1")
    for text in ("Không nhận được mã OTP khi đăng nhập", "Cổng dịch vụ công báo lỗi khi nộp hồ sơ"):
        await send_report(member, text=text)
    official = Talker(app, "9")
    await official.say("/export")
    [reply] = official.replies
    assert reply.document is None and "Có 2 báo cáo" in reply.text and "khoảng thời gian ngắn hơn" in reply.text
    async with app.sessions() as session:
        assert await repo.count_export_rows(session, datetime(2000, 1, 1, tzinfo=UTC),
                                            datetime(2100, 1, 1, tzinfo=UTC), None) == 2


async def revoke(app, platform_user_id):
    async with app.sessions() as session:
        await session.execute(update(User).where(User.platform_user_id == platform_user_id)
                              .values(role=Role.citizen, unit_code=None))
        await session.commit()


async def test_a_member_whose_role_is_revoked_mid_report_cannot_keep_typing(app):
    await setup_people(app)
    member = await start_report(Talker(app, "1"))
    await revoke(app, "1")
    await member.say("Không nhận được mã OTP khi đăng nhập VNeID")
    assert "chỉ dành cho" in member.text
    async with app.sessions() as session:
        state = await session.scalar(select(DialogState).join(User).where(User.platform_user_id == "1"))
        assert state.dialog is None
        assert (await session.scalars(select(Report))).all() == []
    await member.say("12")  # the next step does not resume either
    async with app.sessions() as session:
        assert (await session.scalars(select(Report))).all() == []


async def test_an_official_whose_role_is_revoked_mid_answer_cannot_finish_it(app):
    await first_report(app)
    official = Talker(app, "9")
    await official.press("ro:o:1")
    await official.press("ro:f:1")
    await revoke(app, "9")
    await official.say("Đã hướng dẫn bà con")
    assert "chỉ dành cho" in official.text
    async with app.sessions() as session:
        assert (await session.get(Report, 1)).status == "new"


@pytest.mark.usefixtures("running_campaign")
async def test_an_official_whose_role_is_revoked_mid_update_cannot_type_figures(app):
    from tests.test_progress_chat import communes, make_official, seed_figures, stored, today

    a, b, _c = await communes(app)
    await seed_figures(app, today(app), {b.code: 0.5})
    official = await make_official(app, "2", a.code)
    await official.say("/update")
    assert "(1/" in official.text  # in the dialog
    await revoke(app, "2")
    await official.say("120/300")
    assert "chỉ dành cho" in official.text
    assert not [f for f in await stored(app, today(app)) if f[0] == a.code]
