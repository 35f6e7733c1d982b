"""End to end on Zalo: a team member joins with an invite, files a report with a photo, and the
commune official on Zalo is told through the outbox; all by typed numbers, no buttons."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from sqlalchemy import select

from db import invites
from db.admin import grant_role
from db.models import AdminUnit, DialogState, Role, UnitLevel, User
from db.reports import Report, ReportPhoto
from tests.e2e_zalo import running_zalo_bot

MEMBER = "aa11bb22cc33dd44ee55"
OFFICIAL = "ff00ee11dd22cc33bb44"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


async def _options(app, platform_user_id: str) -> list[str]:
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform == "zalo",
                                                       User.platform_user_id == platform_user_id))
        state = await session.get(DialogState, user.id)
        return list(state.options or [])


class ZaloUser:
    """A Zalo user typing into the fake: text, numbers for options, photos."""

    def __init__(self, fake, app, user_id: str, name: str) -> None:
        self.fake, self.app, self.user_id, self.name = fake, app, user_id, name

    async def say(self, text: str, count: int = 1) -> str:
        mark = self.fake.mark()
        self.fake.user_sends_text(self.user_id, text, display_name=self.name)
        messages = await self.fake.wait_messages(self.user_id, count, since=mark, timeout=10)
        return "\n".join(m.text or "" for m in messages)

    async def choose(self, data_prefix: str) -> str:
        """Type the number of the option whose button data starts with ``data_prefix``."""
        options = await _options(self.app, self.user_id)
        [index] = [i for i, data in enumerate(options, 1) if data.startswith(data_prefix)][:1]
        return await self.say(str(index))

    async def send_photo(self, data: bytes) -> str:
        mark = self.fake.mark()
        url = self.fake.serve_file(f"{self.fake.new_id()}.jpg", data)
        self.fake.user_sends_image(self.user_id, url, display_name=self.name)
        [message] = await self.fake.wait_messages(self.user_id, 1, since=mark, timeout=10)
        return message.text


async def test_a_zalo_member_joins_reports_with_a_photo_and_the_zalo_official_is_told(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        async with app.sessions() as session:
            commune = await session.scalar(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa)
                                           .order_by(AdminUnit.code).limit(1))
            await grant_role(session, "zalo", OFFICIAL, "official", commune)
            code = await invites.create_invite(session, Role.team, commune)
            await session.commit()

        member = ZaloUser(fake, app, MEMBER, "Tổ CNS Thôn 3")
        asked = await member.say(f"/join {code}")
        assert "thôn" in asked.lower()
        await member.say("Thôn 3")
        async with app.sessions() as session:
            user = await session.scalar(select(User).where(User.platform_user_id == MEMBER))
        assert user.role is Role.team and user.unit_code == commune

        text = await member.say("/baocao")
        assert "1. " in text and "(Trả lời bằng một số:" in text
        await member.choose("rp:k:d")
        await member.choose("rp:c:")
        await member.choose("rp:pl:ok")
        await member.say("Bà con không nhận được mã OTP khi đăng nhập VNeID")
        await member.send_photo(jpeg())
        await member.choose("rp:ph")
        summary = await member.say("12")
        assert "Thôn 3" in summary and "12" in summary
        sent = await member.choose("rp:send")
        assert "BC-000001" in sent

        async with app.sessions() as session:
            report = await session.scalar(select(Report))
            photos = (await session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id))).all()
        assert report.people_affected == 12 and len(photos) == 1

        # The outbox sender delivers the notice to the official on Zalo, options numbered.
        [notice] = await fake.wait_messages(OFFICIAL, 1, timeout=10)
        assert "BC-000001" in notice.text and "1. Mở BC-000001" in notice.text

        # The official answers with the number and sees the report.
        official = ZaloUser(fake, app, OFFICIAL, "Cán bộ xã")
        opened = await official.say("1", count=2)  # the photo, then the report with numbered actions
        assert "Hình ảnh này chỉ xem được trên Telegram" in opened  # no public URL set in this test
        assert "BC-000001" in opened and "OTP" in opened and "1. 🙋" in opened


async def test_zalo_officials_get_the_daily_summary_with_the_chart_by_link(tmp_path, running_campaign):
    from datetime import datetime

    import httpx

    from content.campaign import campaign_for, load_campaigns
    from content.progress_import import FigureRow, ParsedFile
    from db.outbox import OutboxMessage
    from db.progress import import_figures
    from handlers.progress.daily import enqueue_daily_summaries
    from tests.e2e_zalo import free_port

    port = free_port()
    quota_hit = "0a0b0c0d0e0f0a0b0c0d"
    async with running_zalo_bot(tmp_path, public_base_url=f"http://127.0.0.1:{port}", port=port) as (fake, app):
        day = datetime.now(app.settings.tz).date()
        campaign = campaign_for(day, load_campaigns())
        async with app.sessions() as session:
            units = list(await session.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.xa)
                                               .order_by(AdminUnit.code).limit(2)))
            rows = [FigureRow(i + 1, u.code, u.name, {m.id: (300 + 37 * i, 1000) for m in campaign.metrics})
                    for i, u in enumerate(units)]
            assert (await import_figures(session, campaign, day, ParsedFile(rows=rows), None, "seed", b"x")).ok
            await grant_role(session, "zalo", OFFICIAL, "official", units[0].code)  # subscribes
            await grant_role(session, "zalo", quota_hit, "official", None)
        fake.fail_next("sendPhoto", chat_id=quota_hit, error_code=429)  # "Quota exceeded"

        assert await enqueue_daily_summaries(app, day) == 2
        [summary] = await fake.wait_messages(OFFICIAL, 1, timeout=10)
        assert summary.method == "sendPhoto" and summary.params["caption"].startswith("📊")
        assert len(summary.params["caption"]) <= 2000
        async with httpx.AsyncClient() as http:
            chart = await http.get(summary.params["photo"])
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")

        # The official over quota keeps the message in the outbox, to be retried later.
        await fake.wait_for(lambda c: c.method == "sendPhoto" and not c.ok)
        await asyncio.sleep(0.2)
        async with app.sessions() as session:
            held = await session.scalar(select(OutboxMessage).join(User, User.id == OutboxMessage.user_id)
                                        .where(User.platform_user_id == quota_hit))
        assert held.status == "pending" and "Quota exceeded" in held.last_error
        assert fake.messages_to(quota_hit) == []
