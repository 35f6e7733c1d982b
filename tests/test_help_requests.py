"""Help requests through the router: the citizen's form, who is told, taking, talking, closing, rating."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from db import help_requests as repo
from db.admin import grant_role
from db.base import utcnow
from db.help_requests import HelpRequest
from db.invites import find_or_create_village
from db.models import User
from db.outbox import OutboxMessage
from handlers.help import escalate_due, forget_user_data
from handlers.messages import Incoming
from tests.conftest import Talker, on_app

NAMES = {"1": "Bà Lan", "2": "Anh Hùng", "3": "Chị Mai", "9": "Ông Nam"}


class Person(Talker):
    """A console user with a name of their own (the router keeps the latest display name)."""

    async def say(self, text: str):
        return await self.send(Incoming.from_text(self.platform, self.user_id, self.user_id, text,
                                                  display_name=NAMES.get(self.user_id, "")))

    async def press(self, data: str):
        return await self.send(Incoming(self.platform, self.user_id, self.user_id,
                                        display_name=NAMES.get(self.user_id, ""), button=data))

CAM_XUYEN, VIET_XUYEN, THACH_HA = "18673", "18601", None  # unit codes of vietnam-provinces


async def people(app, village_member=True, official=True):
    """Members 2 and 3 of Xã Cẩm Xuyên (2 lives in Thôn 3), official 9 of it; citizen 1 is new."""
    async with app.sessions() as session:
        village = await find_or_create_village(session, CAM_XUYEN, "Thôn 3")
        first = await grant_role(session, "console", "2", "team", CAM_XUYEN)
        if village_member:
            first.village_code = village.code
        await grant_role(session, "console", "3", "team", CAM_XUYEN)
        if official:
            await grant_role(session, "console", "9", "official", CAM_XUYEN)
        await session.commit()


async def ask(citizen: Person, commune="cam xuyen", village="thon 3", need="hr:k:vneid.activate", when="hr:w:morning",
              phone: str | None = None, send=True):
    await citizen.say("/hotro")
    if "hr:new" in citizen.button_data():  # /hotro lists the open requests first
        await citizen.press("hr:new")
    await citizen.say(commune)
    await citizen.say(village)
    if need.startswith("hr:"):
        await citizen.press(need)
    else:
        await citizen.say(need)
    await citizen.press(when)
    if phone:
        await citizen.press("hr:c:phone")
        await citizen.say(phone)
    else:
        await citizen.press("hr:c:bot")
    if send:
        await citizen.press("hr:send")
    return citizen


async def taken_by_member(app, **request) -> tuple[Person, Person]:
    """The people of people(); citizen 1 asks (see ask) and member 2 takes HT-000001."""
    await people(app)
    citizen = await ask(Person(app, "1"), **request)
    member = Person(app, "2")
    await member.press("hr:t:1")
    return citizen, member


async def outbox_of(app, platform_user_id: str) -> list[OutboxMessage]:
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == platform_user_id))
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)
                                           .order_by(OutboxMessage.id))).all())


async def the_request(app, request_id=1) -> HelpRequest:
    async with app.sessions() as session:
        return await session.get(HelpRequest, request_id)


async def test_a_citizen_asks_and_only_the_team_of_their_village_is_told(app):
    await people(app)
    citizen = await ask(Person(app, "1"))
    assert "HT-000001" in citizen.text and "1 thành viên" in citizen.text
    assert "sau 24 giờ chưa ai nhận, cán bộ Xã Cẩm Xuyên" in citizen.text  # an official is there to be told
    [notice] = await outbox_of(app, "2")
    assert "HT-000001" in notice.text and "Thôn 3" in notice.text and "Xã Cẩm Xuyên" in notice.text
    assert ["🙋 Tôi nhận", "hr:t:1"] in notice.buttons[0]
    assert await outbox_of(app, "3") == []  # the other village's member is not disturbed
    request = await the_request(app)
    assert request.routed == "village" and request.topic_id == "vneid.activate" and request.phone is None


async def test_without_a_team_in_the_village_every_member_of_the_commune_is_told(app):
    await people(app, village_member=False)
    await ask(Person(app, "1"), village="Xóm Chợ", need="Tôi muốn nộp hồ sơ cấp đổi giấy phép lái xe")
    assert len(await outbox_of(app, "2")) == len(await outbox_of(app, "3")) == 1
    request = await the_request(app)
    assert request.routed == "commune" and request.village_code is None and request.village_text == "Xóm Chợ"
    assert request.need.startswith("Tôi muốn nộp")


async def test_a_commune_name_typed_in_part_offers_the_choices(app):
    citizen = Person(app, "1")
    await citizen.say("/hotro")
    await citizen.say("xuyen")
    assert set(citizen.button_data()) >= {f"hr:u:{CAM_XUYEN}", f"hr:u:{VIET_XUYEN}"}
    await citizen.say("1")  # a typed number picks the option on text-only channels
    assert "Bước 2" in citizen.text
    await citizen.say("/cancel")
    await citizen.say("/hotro")
    await citizen.say("Không có xã này")
    assert "không tìm thấy" in citizen.text.lower()


async def test_two_members_press_take_at_once_and_only_one_gets_it(app):
    await people(app, village_member=False)
    await ask(Person(app, "1"))
    first, second = Person(app, "2"), Person(app, "3")
    await asyncio.gather(first.press("hr:t:1"), second.press("hr:t:1"))
    texts = [first.text, second.text]
    assert sum("Bạn đã nhận" in t for t in texts) == 1
    assert sum("đã được thành viên khác nhận" in t for t in texts) == 1
    request = await the_request(app)
    winner = "2" if "Bạn đã nhận" in first.text else "3"
    async with app.sessions() as session:
        taker = await session.get(User, request.taker_id)
    assert request.status == "taken" and taker.platform_user_id == winner
    [news] = [m for m in await outbox_of(app, "1") if "sẽ giúp" in m.text]
    assert taker.display_name in news.text and "qua bot" in news.text


async def test_member_and_citizen_talk_through_the_bot_without_seeing_accounts(app):
    citizen, member = await taken_by_member(app)
    await member.press("hr:m:1")
    await member.say("Chiều mai 3 giờ tôi qua nhà bác nhé")
    assert "Đã gửi" in member.text
    [message] = [m for m in await outbox_of(app, "1") if "Chiều mai" in m.text]
    assert "Anh Hùng" in message.text and ["↩️ Trả lời", "hr:r:1"] in message.buttons[0]
    await citizen.press("hr:r:1")
    await citizen.say("Được, cảm ơn chú <b>nhiều</b>")
    [answer] = [m for m in await outbox_of(app, "2") if "cảm ơn" in m.text]
    assert "&lt;b&gt;nhiều&lt;/b&gt;" in answer.text  # escaped like everything a user types
    assert "Bà Lan" in answer.text and "console" not in answer.text and ":1" not in answer.text


async def test_done_is_rated_by_the_citizen_and_counted_for_the_official(app):
    citizen, member = await taken_by_member(app)
    await member.press("hr:d:1")
    assert "HT-000001" in member.text
    [asked] = [m for m in await outbox_of(app, "1") if "đã xong" in m.text]
    assert ["5⭐", "hr:s:1:5"] in asked.buttons[0]
    await citizen.press("hr:s:1:5")
    await citizen.say("Chú Hùng chỉ rất dễ hiểu")
    request = await the_request(app)
    assert request.status == "done" and request.rating == 5 and request.rating_comment.startswith("Chú Hùng")
    assert any("5/5" in m.text for m in await outbox_of(app, "2"))  # the helper hears the rating
    await citizen.press("hr:s:1:1")
    assert (await the_request(app)).rating == 5  # rated once
    official = Person(app, "9")
    await official.say("/yeucau")
    assert "Xã Cẩm Xuyên: 1 yêu cầu · 1 đã nhận · 1 đã xong" in official.text and "5/5" in official.text
    async with app.sessions() as session:
        helped = await repo.helped_between(session, utcnow() - timedelta(days=1), utcnow() + timedelta(seconds=1))
    assert helped == 1


async def test_not_possible_needs_a_reason_and_not_done_yet_goes_back_to_the_helper(app):
    citizen, member = await taken_by_member(app)
    await member.press("hr:d:1")
    await citizen.press("hr:nd:1")
    assert (await the_request(app)).status == "taken"
    assert any("chưa xong" in m.text for m in await outbox_of(app, "2"))
    await member.press("hr:o:1")
    await member.press("hr:n:1")
    await member.say("Cần mang CCCD gốc ra xã")
    request = await the_request(app)
    assert request.status == "not_possible" and request.close_note == "Cần mang CCCD gốc ra xã"
    assert any("CCCD gốc" in m.text for m in await outbox_of(app, "1"))


async def test_a_phone_number_is_kept_only_with_consent_shown_only_to_the_taker_and_deleted(app):
    await people(app, village_member=False)
    await ask(Person(app, "1"), phone="0912 345 678")
    request = await the_request(app)
    assert request.contact == "phone" and request.phone == "0912345678"
    assert all("0912345678" not in m.text for m in await outbox_of(app, "2") + await outbox_of(app, "3"))
    member = Person(app, "2")
    await member.press("hr:t:1")
    assert "0912345678" in member.text
    other = Person(app, "3")
    await other.press("hr:t:1")
    assert "0912345678" not in other.text
    citizen = Person(app, "1")
    await citizen.say("/xoadulieu")
    await citizen.press("dd:yes")
    request = await the_request(app)
    assert request.phone is None and request.citizen_id is None and request.status == "cancelled"
    assert any("đã rút lại HT-000001" in m.text for m in await outbox_of(app, "2"))  # the helper is told


async def test_a_helper_who_deletes_their_data_gives_the_request_back_to_the_commune(app):
    await taken_by_member(app)
    async with app.sessions() as session:
        helper = await session.scalar(select(User).where(User.platform_user_id == "2"))
        await forget_user_data(session, helper)
        await session.commit()
    request = await the_request(app)
    assert request.status == "open" and request.taker_id is None


async def test_the_officials_excel_export_has_the_help_request_sheets(app):
    import io

    from openpyxl import load_workbook

    await taken_by_member(app, phone="0912345678")
    official = Person(app, "9")
    await official.say("/export")
    [document] = [r for r in official.replies if r.document]
    workbook = load_workbook(io.BytesIO(document.document))
    assert workbook.sheetnames == ["Báo cáo", "Hỗ trợ theo xã", "Yêu cầu hỗ trợ"]
    figures = list(workbook["Hỗ trợ theo xã"].values)
    assert figures[1][:4] == ("Xã Cẩm Xuyên", 1, 1, 0)
    rows = list(workbook["Yêu cầu hỗ trợ"].values)
    assert rows[1][0] == "HT-000001" and rows[1][2] == "Thôn 3" and rows[1][6] == "Đang có thành viên tổ giúp"
    assert "0912345678" not in str(rows) and "Bà Lan" not in str(rows)


async def test_a_wrong_phone_number_is_asked_again(app):
    await people(app)
    citizen = await ask(Person(app, "1"), phone="12345", send=False)
    assert "10 chữ số" in citizen.text
    await citizen.press("hr:c:bot")
    await citizen.press("hr:send")
    assert (await the_request(app)).contact == "bot"


async def test_a_citizen_has_at_most_three_open_requests(app):
    await people(app)
    citizen = Person(app, "1")
    for _ in range(3):
        await ask(citizen)
    await citizen.say("/hotro")
    assert "3 yêu cầu" in citizen.text and "hr:wd:1" in citizen.button_data()
    await citizen.press("hr:wd:1")
    await ask(citizen)
    async with app.sessions() as session:
        assert len(await repo.open_requests_of(session, (await the_request(app, 2)).citizen_id)) == 3


async def test_a_request_nobody_takes_goes_to_the_officials_after_the_set_hours(app):
    await people(app)
    await ask(Person(app, "1"))
    async with app.sessions() as session:
        assert await escalate_due(session, app.services.kb, 24) == 0
        await session.execute(update(HelpRequest).values(created=utcnow() - timedelta(hours=25)))
        await session.commit()
        assert await escalate_due(session, app.services.kb, 24) == 1
        assert await escalate_due(session, app.services.kb, 24) == 0  # once
    [notice] = await outbox_of(app, "9")
    assert "24 giờ" in notice.text and ["🙋 Tôi nhận", "hr:t:1"] in notice.buttons[0]
    assert any("cán bộ" in m.text for m in await outbox_of(app, "1"))
    official = Person(app, "9")
    await official.press("hr:t:1")
    assert (await the_request(app)).status == "taken"


async def test_a_commune_without_a_team_sends_the_request_to_its_officials_at_once(app):
    async with app.sessions() as session:
        await grant_role(session, "console", "8", "official", VIET_XUYEN)
    citizen = await ask(Person(app, "1"), commune="Việt Xuyên", village="hr:v:0")
    assert "cán bộ" in citizen.text and "Xã Việt Xuyên" in citizen.text
    [notice] = await outbox_of(app, "8")
    assert "HT-000001" in notice.text and "hr:t:1" in [d for row in notice.buttons for _, d in row]
    assert (await the_request(app)).routed == "officials"


async def test_with_nobody_on_the_bot_the_citizen_is_told_plainly(app):
    citizen = await ask(Person(app, "1"), village="hr:v:0")
    assert "chưa có ai" in citizen.text.lower() and "Một cửa" in citizen.text
    assert (await the_request(app)).routed == "nobody"


async def test_a_member_of_another_commune_cannot_take_or_open_it(app):
    await people(app)
    await ask(Person(app, "1"))
    async with app.sessions() as session:
        await grant_role(session, "console", "7", "team", VIET_XUYEN)
        user = await session.scalar(select(User).where(User.platform_user_id == "7"))
        from db.outbox import enqueue_message

        await enqueue_message(session, user.id, "x", [[("take", "hr:t:1")]], "test")  # a button it was shown
        await session.commit()
    stranger = Person(app, "7")
    await stranger.press("hr:t:1")
    assert "không thuộc xã" in stranger.text
    assert (await the_request(app)).status == "open"


async def test_yeucau_lists_the_open_requests_of_the_members_commune(app):
    await people(app)
    await ask(Person(app, "1"))
    member = Person(app, "3")
    await member.say("/yeucau")
    assert "HT-000001" in member.text and "hr:t:1" in member.button_data()
    citizen = Person(app, "4")
    await citizen.say("/yeucau")
    assert "HT-000001" not in citizen.text


def test_the_cli_lists_figures_per_commune_as_json_without_names_or_phones(tmp_path, cli_env, capsys):
    import json

    from bot.__main__ import main

    async def setup(app):
        await people(app)
        await ask(Person(app, "1"), phone="0912345678")
        await ask(Person(app, "1"))
        member = Person(app, "2")
        await member.press("hr:t:1")
        await member.press("hr:d:1")
        await Person(app, "1").press("hr:s:1:4")

    on_app(tmp_path, setup)
    assert main(["help-requests", "list", "--unit", "cam xuyen", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    [commune] = data["communes"]
    assert commune["unit_name"] == "Xã Cẩm Xuyên" and commune["opened"] == 2 and commune["taken"] == 1
    assert commune["done"] == 1 and commune["still_open"] == 1 and commune["rating_average"] == 4
    assert commune["median_hours_to_take"] is not None and commune["median_hours_to_finish"] is not None
    assert [r["number"] for r in data["requests"]] == ["HT-000001", "HT-000002"]
    assert "0912345678" not in out and "Bà Lan" not in out and "Anh Hùng" not in out
    assert main(["help-requests", "list", "--status", "open", "--json"]) == 0
    assert [r["number"] for r in json.loads(capsys.readouterr().out)["requests"]] == ["HT-000002"]
    assert main(["help-requests", "list", "--unit", "xuyen"]) == 2  # two communes match: choose
    assert "18673" in capsys.readouterr().err


async def test_the_daily_summary_says_how_many_people_the_teams_helped_yesterday(app):
    from content.dates import local_today
    from handlers.progress.summary import summary_extras

    today = local_today(app.settings.tz)
    async with app.sessions() as session:
        assert not [line for line in await summary_extras(session, None, today) if "Tổ CNS" in line.full]
    await people(app)
    await ask(Person(app, "1"))
    await ask(Person(app, "1"))
    member = Person(app, "2")
    await member.press("hr:t:1")
    await member.press("hr:d:1")
    async with app.sessions() as session:
        [tomorrow] = [line for line in await summary_extras(session, None, today + timedelta(days=1))
                      if "Tổ CNS" in line.full]
        [today_line] = [line for line in await summary_extras(session, {CAM_XUYEN}, today) if "Tổ CNS" in line.full]
        elsewhere = [line for line in await summary_extras(session, {VIET_XUYEN}, today) if "Tổ CNS" in line.full]
    assert tomorrow.short == "🙋 Tổ CNS đã hỗ trợ 1 người dân hôm qua"
    assert "1 yêu cầu đang chờ" in tomorrow.full
    assert "hỗ trợ 0 người dân hôm qua" in today_line.short  # yesterday nobody was helped yet
    assert elsewhere == []  # a commune without requests gets no line


async def test_what_a_citizen_types_is_escaped_and_too_short_a_need_is_asked_again(app):
    await people(app)
    citizen = Person(app, "1")
    for text in ("/hotro", "cam xuyen", "thon 3", "Cài"):
        await citizen.say(text)
    assert "Ngắn quá" in citizen.text
    await citizen.say("Cài <b>VNeID</b> & nộp hồ sơ cho mẹ tôi")
    await citizen.press("hr:w:any")
    await citizen.press("hr:c:bot")
    await citizen.press("hr:send")
    [notice] = await outbox_of(app, "2")
    assert "Cài &lt;b&gt;VNeID&lt;/b&gt; &amp; nộp hồ sơ" in notice.text


async def test_known_villages_are_offered_as_buttons(app):
    await people(app)
    citizen = Person(app, "1")
    await citizen.say("/hotro")
    await citizen.say("Cẩm Xuyên")
    [village] = [d for d in citizen.button_data() if d.startswith("hr:v:") and d != "hr:v:0"]
    await citizen.press(village)
    assert "Bước 3" in citizen.text


async def test_a_withdrawn_request_is_closed_and_its_helper_told(app):
    await people(app)
    citizen = await ask(Person(app, "1"))
    await Person(app, "2").press("hr:t:1")
    await citizen.say("/hotro")
    await citizen.press("hr:wd:1")
    assert (await the_request(app)).status == "cancelled"
    assert any("đã rút lại" in m.text for m in await outbox_of(app, "2"))
    member = Person(app, "2")
    await member.press("hr:d:1")
    assert (await the_request(app)).status == "cancelled"  # too late to close it


async def test_a_form_left_for_a_day_lets_the_next_question_reach_the_guides(app):
    citizen = Person(app, "1")
    await citizen.say("/hotro")
    async with app.sessions() as session:
        from db.models import DialogState

        await session.execute(update(DialogState).values(data={"ts": (utcnow() - timedelta(hours=25)).isoformat()}))
        await session.commit()
    await citizen.say("lam sao nop phi online")
    assert "Nộp phí" in citizen.text
    async with app.sessions() as session:
        assert await session.scalar(select(HelpRequest.id)) is None


async def test_help_lists_hotro_for_everyone_and_yeucau_for_team_members(app):
    await people(app)
    citizen_help = Person(app, "1")
    await citizen_help.say("/help")
    assert "/hotro – Nhờ tổ công nghệ số cộng đồng giúp" in citizen_help.text and "/yeucau" not in citizen_help.text
    member = Person(app, "2")
    await member.say("/help")
    assert "/yeucau – Yêu cầu hỗ trợ của người dân trong xã" in member.text


async def test_no_escalation_is_promised_when_no_official_uses_the_bot(app):
    await people(app, official=False)
    citizen = await ask(Person(app, "1"))
    assert "HT-000001" in citizen.text and "giờ chưa ai nhận" not in citizen.text


async def test_an_open_terminal_prints_a_message_queued_for_its_user_while_waiting_for_input(app):
    import io
    import queue

    from bot.channels.console import run_console
    from bot.outbox import OutboxSender
    from handlers.messages import Reply
    from handlers.notify import enqueue

    class Keyboard:
        """A terminal's input: lines arrive when the test types them; "" is Ctrl+D."""

        def __init__(self) -> None:
            self.lines: queue.Queue[str] = queue.Queue()

        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return self.lines.get(timeout=20)

    await people(app)
    keyboard, screen = Keyboard(), io.StringIO()
    terminal = asyncio.create_task(run_console(
        app, user_id="2", stdin=keyboard, stdout=screen,
        outbox=lambda deliver: OutboxSender(app, {"console": deliver}, rate=0, idle=0.05, only_users={"2"})))
    async with app.sessions() as session:
        member = await session.scalar(select(User).where(User.platform_user_id == "2"))
        other = await session.scalar(select(User).where(User.platform_user_id == "3"))
        await enqueue(session, member.id, Reply("Có yêu cầu mới", buttons=[]), "test")
        await enqueue(session, other.id, Reply("Tin của người khác"), "test")
        await session.commit()
    for _ in range(100):  # printed while the terminal waits for a line, without any typing
        if "Có yêu cầu mới" in screen.getvalue():
            break
        await asyncio.sleep(0.05)
    keyboard.lines.put("")
    await asyncio.wait_for(terminal, timeout=10)
    assert "📨 Tin nhắn mới:\nCó yêu cầu mới" in screen.getvalue()
    assert "Tin của người khác" not in screen.getvalue()


async def test_a_taker_whose_role_is_revoked_mid_message_cannot_write_to_the_citizen(app):
    await people(app)
    await ask(Person(app, "1"))
    member = Person(app, "2")
    await member.press("hr:t:1")
    await member.press("hr:m:1")
    async with app.sessions() as session:  # the commune revokes the member while they type
        await grant_role(session, "console", "2", "citizen", None)
        await session.commit()
    await member.say("Chiều mai 3 giờ tôi qua nhà bác nhé")
    assert "Đã gửi" not in member.text
    assert not [m for m in await outbox_of(app, "1") if "Chiều mai" in m.text]
