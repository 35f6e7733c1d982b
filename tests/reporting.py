"""Set-up the difficulty-report tests share: people in two communes, the wizard, the outbox."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from db.admin import grant_role
from db.invites import find_or_create_village
from db.models import AdminUnit, UnitLevel, User
from db.outbox import OutboxMessage
from db.reports import Report
from handlers.messages import Attachment, Incoming
from tests.conftest import Talker


def jpeg(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="JPEG")
    return out.getvalue()


async def communes(app, n=2):
    async with app.sessions() as session:
        return list((await session.scalars(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa)
                                           .order_by(AdminUnit.code).limit(n))).all())


async def setup_people(app):
    """A member (1) with a village in commune A, an official of A (9), an official of B (8)."""
    a, b = await communes(app)
    async with app.sessions() as session:
        member = await grant_role(session, "console", "1", "team", a)
        village = await find_or_create_village(session, a, "Thôn 3")
        member.village_code = village.code
        await grant_role(session, "console", "9", "official", a)
        await grant_role(session, "console", "8", "official", b)
        await session.commit()
    return a, b


async def start_report(member: Talker, kind="d") -> Talker:
    """/baocao, the kind, its first category, the place confirmed: the wizard asks for the description."""
    await member.say("/baocao")
    await member.press(f"rp:k:{kind}")
    await member.press(member.button_data()[0])
    await member.press("rp:pl:ok")
    return member


async def file_report(member: Talker, text="Bà con không nhận được mã OTP khi đăng nhập VNeID", photo=True,
                      people="12"):
    """Every step of the wizard up to the summary with its send button (not pressed)."""
    await start_report(member)
    await member.say(text)
    if photo:
        await member.send(Incoming("console", member.user_id, member.user_id,
                                   attachments=[Attachment("photo", jpeg())]))
    await member.press("rp:ph")
    await member.say(people)
    return member


async def send_report(member: Talker, **report) -> Talker:
    """A report filed (see file_report) and sent."""
    await file_report(member, **report)
    await member.press("rp:send")
    return member


async def first_report(app, **report) -> Talker:
    """The people of setup_people, and the member's report BC-000001 sent; returns the member."""
    await setup_people(app)
    return await send_report(Talker(app, "1"), **report)


async def open_second_as_duplicate(app, member: Talker) -> Talker:
    """The member sends a second report; official 9 opens BC-000002 and presses "duplicate of…"."""
    await send_report(member, text="Lại không nhận được OTP nữa rồi")
    official = Talker(app, "9")
    await official.say("/reports")
    await official.press("ro:o:2")
    await official.press("ro:d:2")
    return official


async def outbox_for(app, platform_user_id):
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == platform_user_id))
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)
                                           .order_by(OutboxMessage.id))).all())


async def only_report(app) -> Report:
    async with app.sessions() as session:
        return await session.scalar(select(Report))
