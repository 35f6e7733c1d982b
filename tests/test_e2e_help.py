"""Help requests end to end (issue 13), through the fake Telegram server and the real bot."""

from __future__ import annotations

from datetime import timedelta

from content.dates import local_today
from db.admin import grant_role
from db.help_requests import HelpRequest
from handlers.progress.summary import summary_extras
from tests.e2e import running_bot

CAM_XUYEN, VIET_XUYEN = "18673", "18601"
CITIZEN, HUNG, MAI, OFFICIAL, NEIGHBOUR, OTHER_OFFICIAL = 11, 12, 13, 14, 15, 16
NAMES = {CITIZEN: ("Lan", "ba_lan_cx"), HUNG: ("Hùng", "hung_tcn"), MAI: ("Mai", "mai_tcn"),
         OFFICIAL: ("Nam", "nam_canbo"), NEIGHBOUR: ("Tâm", None), OTHER_OFFICIAL: ("Vinh", None)}


async def say(fake, user, text, count=1):
    mark = fake.mark()
    name, username = NAMES[user]
    fake.user_sends_text(user, text, first_name=name, username=username)
    return await fake.wait_messages(user, count, since=mark, timeout=10)


async def press(fake, user, data, count=1):
    mark = fake.mark()
    fake.user_presses(user, data, first_name=NAMES[user][0])
    return await fake.wait_messages(user, count, since=mark, timeout=10)


def data_of(fake, message) -> list[str]:
    return [d for row in fake.buttons(message) for _, d in row]


async def told(fake, user, words: str, since: int):
    """The outbox's message to ``user`` containing ``words``."""
    return await fake.wait_for(lambda c: c.chat_id == user and words in (c.text or ""), since=since, timeout=10)


async def ask_for_help(fake, user, commune: str):
    [menu] = await say(fake, user, "/menu")
    assert ("🙋 Nhờ tổ công nghệ số giúp", "hr:new") in [b for row in fake.buttons(menu) for b in row]
    await press(fake, user, "hr:new")
    await say(fake, user, commune)
    await press(fake, user, "hr:v:0")
    await press(fake, user, "hr:k:portal.submit")
    await press(fake, user, "hr:w:any")
    await press(fake, user, "hr:c:bot")
    [sent] = await press(fake, user, "hr:send")
    return sent


async def test_a_citizen_gets_help_from_one_of_two_members_and_rates_it(tmp_path):
    async with running_bot(tmp_path) as (fake, app):
        for user in (HUNG, MAI, OFFICIAL):
            await say(fake, user, "/start")
        async with app.sessions() as session:
            await grant_role(session, "telegram", str(HUNG), "team", CAM_XUYEN)
            await grant_role(session, "telegram", str(MAI), "team", CAM_XUYEN)
            await grant_role(session, "telegram", str(OFFICIAL), "official", CAM_XUYEN)

        # The citizen asks; both members of the commune are told through the outbox.
        mark = fake.mark()
        sent = await ask_for_help(fake, CITIZEN, "cam xuyen")
        assert "HT-000001" in sent.text and "2 thành viên" in sent.text
        for member in (HUNG, MAI):
            notice = await told(fake, member, "HT-000001", mark)
            assert data_of(fake, notice) == ["hr:t:1"]

        # Both press "Tôi nhận" at once: one wins, the other is told it is taken.
        mark = fake.mark()
        fake.user_presses(HUNG, "hr:t:1", first_name="Hùng")
        fake.user_presses(MAI, "hr:t:1", first_name="Mai")
        [hung] = await fake.wait_messages(HUNG, 1, since=mark, timeout=10)
        [mai] = await fake.wait_messages(MAI, 1, since=mark, timeout=10)
        winners = [(user, m) for user, m in ((HUNG, hung), (MAI, mai)) if "Bạn đã nhận HT-000001" in m.text]
        losers = [m for m in (hung, mai) if "đã được thành viên khác nhận" in m.text]
        assert len(winners) == 1 and len(losers) == 1
        helper, taken = winners[0]
        helper_name = NAMES[helper][0]
        assert "hr:m:1" in data_of(fake, taken)
        news = await told(fake, CITIZEN, "sẽ giúp", mark)
        assert helper_name in news.text and "qua bot" in news.text

        # One message each way through the bot; neither side sees the other's account.
        await press(fake, helper, "hr:m:1")
        mark = fake.mark()
        await say(fake, helper, "Chiều mai 3 giờ tôi qua nhà bác nhé")
        message = await told(fake, CITIZEN, "Chiều mai", mark)
        assert helper_name in message.text and data_of(fake, message) == ["hr:r:1"]
        await press(fake, CITIZEN, "hr:r:1")
        mark = fake.mark()
        await say(fake, CITIZEN, "Được, cảm ơn chú")
        answer = await told(fake, helper, "cảm ơn chú", mark)
        assert "Lan" in answer.text and data_of(fake, answer) == ["hr:m:1"]
        for text in (message.text, answer.text):
            assert not any(username in text for _, username in NAMES.values() if username)
            assert str(CITIZEN) not in text and str(helper) not in text

        # The member closes it; the citizen rates it.
        mark = fake.mark()
        await press(fake, helper, "hr:d:1")
        asked = await told(fake, CITIZEN, "đã xong", mark)
        assert "hr:s:1:5" in data_of(fake, asked)
        [thanks] = await press(fake, CITIZEN, "hr:s:1:5")
        assert "Cảm ơn" in thanks.text
        await press(fake, CITIZEN, "hr:sk")

        # The official's summary counts it.
        [summary] = await say(fake, OFFICIAL, "/yeucau")
        assert "Xã Cẩm Xuyên: 1 yêu cầu · 1 đã nhận · 1 đã xong" in summary.text and "5/5" in summary.text
        async with app.sessions() as session:
            request = await session.get(HelpRequest, 1)
            # ...and so does tomorrow's daily summary for the commune.
            tomorrow = local_today(app.settings.tz) + timedelta(days=1)
            lines = [line.short for line in await summary_extras(session, {CAM_XUYEN}, tomorrow)]
        assert request.status == "done" and request.rating == 5
        assert "🙋 Tổ CNS đã hỗ trợ 1 người dân hôm qua" in lines


async def test_a_request_in_a_commune_without_a_team_reaches_its_officials(tmp_path):
    async with running_bot(tmp_path) as (fake, app):
        await say(fake, OTHER_OFFICIAL, "/start")
        async with app.sessions() as session:
            await grant_role(session, "telegram", str(OTHER_OFFICIAL), "official", VIET_XUYEN)
        mark = fake.mark()
        sent = await ask_for_help(fake, NEIGHBOUR, "Việt Xuyên")
        assert "chưa dùng bot" in sent.text and "cán bộ Xã Việt Xuyên" in sent.text
        notice = await told(fake, OTHER_OFFICIAL, "HT-000001", mark)
        assert data_of(fake, notice) == ["hr:t:1"]
        mark = fake.mark()
        await press(fake, OTHER_OFFICIAL, "hr:t:1")
        news = await told(fake, NEIGHBOUR, "sẽ giúp", mark)
        assert "Vinh" in news.text


async def test_on_zalo_a_member_takes_a_request_by_typing_the_number_of_its_option(tmp_path):
    from tests.e2e_zalo import running_zalo_bot

    citizen, member = "zc1", "zm2"

    async def say_zalo(fake, user, text):
        mark = fake.mark()
        fake.user_sends_text(user, text, display_name="Lan" if user == citizen else "Hùng")
        [reply] = await fake.wait_messages(user, 1, since=mark, timeout=10)
        return reply

    async with running_zalo_bot(tmp_path) as (fake, app):
        await say_zalo(fake, member, "/start")
        async with app.sessions() as session:
            await grant_role(session, "zalo", member, "team", CAM_XUYEN)
        # Every answer typed: a number picks an option (Zalo has no buttons).
        for text in ("/hotro", "cam xuyen", "Thôn 3", "1", "1", "1"):
            await say_zalo(fake, citizen, text)
        mark = fake.mark()
        sent = await say_zalo(fake, citizen, "1")
        assert "HT-000001" in sent.text
        notice = await fake.wait_for(lambda c: c.chat_id == member and "HT-000001" in (c.text or ""),
                                     since=mark, timeout=10)
        assert "1. 🙋 Tôi nhận" in notice.text
        taken = await say_zalo(fake, member, "1")
        assert "Bạn đã nhận HT-000001" in taken.text
        news = await fake.wait_for(lambda c: c.chat_id == citizen and "Tin vui" in (c.text or ""),
                                   since=mark, timeout=10)
        assert "Hùng" in news.text and "1. 💬 Nhắn cho người giúp bạn" in news.text
