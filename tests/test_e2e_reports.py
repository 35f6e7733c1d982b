"""Done means (issue 4), end to end through the fake Telegram server and the real bot."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.models import AdminUnit, UnitLevel
from db.reports import Report
from tests.e2e import running_bot

ADMIN, MEMBER, OFFICIAL, OTHER = 1, 2, 3, 4


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


async def say(fake, user, text, count=1, timeout=10):
    mark = fake.mark()
    fake.user_sends_text(user, text)
    return await fake.wait_messages(user, count, since=mark, timeout=timeout)


async def press(fake, user, data, count=1, timeout=10):
    mark = fake.mark()
    fake.user_presses(user, data)
    return await fake.wait_messages(user, count, since=mark, timeout=timeout)


def code_of(message) -> str:
    return message.text.split("/join ")[1].split()[0]


def data_of(fake, message) -> list[str]:
    return [d for row in fake.buttons(message) for _, d in row]


async def test_invite_report_handle_resolve_reopen_scope_and_export(tmp_path):
    async with running_bot(tmp_path, admin_telegram_ids=str(ADMIN)) as (fake, app):
        async with app.sessions() as session:
            commune, other_commune = (await session.scalars(select(AdminUnit.code).where(
                AdminUnit.level == UnitLevel.xa).order_by(AdminUnit.code).limit(2))).all()

        # The admin creates invites; the member joins by the deep link, the officials by /join.
        [invite] = await say(fake, ADMIN, f"/invite team {commune}")
        [joined] = await say(fake, MEMBER, f"/start {code_of(invite)}")
        assert "Thôn 3" in joined.text  # asked for the village
        await say(fake, MEMBER, "thon 3")
        [invite] = await say(fake, ADMIN, f"/invite official {commune}")
        await say(fake, OFFICIAL, f"/join {code_of(invite)}")
        [invite] = await say(fake, ADMIN, f"/invite official {other_commune}")
        await say(fake, OTHER, f"/join {code_of(invite)}")

        # The member files a report with a photo.
        [menu] = await say(fake, MEMBER, "/menu")
        assert ("📝 Báo cáo khó khăn", "rp:new") in [b for row in fake.buttons(menu) for b in row]
        await press(fake, MEMBER, "rp:new")
        [step] = await press(fake, MEMBER, "rp:k:d")
        await press(fake, MEMBER, data_of(fake, step)[0])
        await press(fake, MEMBER, "rp:pl:ok")
        await say(fake, MEMBER, "Bà con không nhận được mã OTP khi kích hoạt VNeID mức 2")
        mark = fake.mark()
        fake.user_sends_photo(MEMBER, jpeg())
        await fake.wait_messages(MEMBER, 1, since=mark)
        await press(fake, MEMBER, "rp:ph")
        [summary] = await say(fake, MEMBER, "7")
        assert "rp:send" in data_of(fake, summary)
        [sent] = await press(fake, MEMBER, "rp:send")
        assert "BC-000001" in sent.text

        # The commune official is notified (through the outbox), opens, takes and resolves it.
        [notice] = await fake.wait_messages(OFFICIAL, 1, since=mark, timeout=10) and [
            m for m in fake.messages_to(OFFICIAL, since=mark) if "BC-000001" in (m.text or "")]
        assert "ro:o:1" in data_of(fake, notice)
        opened = await press(fake, OFFICIAL, "ro:o:1", count=2)
        assert opened[0].method == "sendPhoto" and "Thon 3" in opened[1].text
        await press(fake, OFFICIAL, "ro:t:1", count=2)
        await press(fake, OFFICIAL, "ro:f:1")
        mark = fake.mark()
        await say(fake, OFFICIAL, "Đã hướng dẫn bà con cập nhật số điện thoại", count=2)

        # The member is told, and reopens it.
        told = await fake.wait_for(lambda c: c.chat_id == MEMBER and "đã được" in (c.text or "")
                                   and "giải quyết" in (c.text or ""), since=mark, timeout=10)
        assert "BC-000001" in told.text and "cập nhật số điện thoại" in told.text
        mark = fake.mark()
        [reopened] = await press(fake, MEMBER, "rp:re:1")
        assert "mở lại" in reopened.text
        await fake.wait_for(lambda c: c.chat_id == OFFICIAL and "mở lại" in (c.text or ""), since=mark, timeout=10)

        # The other commune's official cannot see it; a forged press is refused.
        [listing] = await say(fake, OTHER, "/phananh")
        assert "BC-000001" not in listing.text
        [refused] = await press(fake, OTHER, "ro:t:1")
        assert "không còn" in refused.text.lower() or "không thuộc" in refused.text.lower()

        # The export contains it.
        mark = fake.mark()
        fake.user_sends_text(OFFICIAL, "/export")
        document = await fake.wait_for(lambda c: c.method == "sendDocument", since=mark, timeout=10)
        rows = list(load_workbook(io.BytesIO(document.files["document"])).active.values)
        header = rows[0]
        row = dict(zip(header, rows[1]))
        assert row["Số báo cáo"] == "BC-000001" and row["Trạng thái"] == "Mở lại"
        assert row["Xã/phường"] == row["Đơn vị xử lý"] and row["Thôn/tổ dân phố"] == "Thon 3"
        assert row["Người xử lý"]  # the official who took it, by name
        assert isinstance(row["Gửi lúc"], datetime) and isinstance(row["Giải quyết lúc"], datetime)
        assert row["Gửi lúc"] <= row["Giải quyết lúc"]

        async with app.sessions() as session:
            report = await session.get(Report, 1)
        assert report.status == "reopened" and report.fixed_at is not None
