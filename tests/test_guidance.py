"""Guidance: browsing, free-text answers, "did you mean", out of scope, 👎 and the unanswered inbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db import guidance as inbox
from db.admin import grant_role
from tests.conftest import Talker

ROOT = Path(__file__).resolve().parent.parent


async def test_browsing_goes_from_categories_to_topics_to_an_answer(talker):
    await talker.say("/start")
    assert "g:cats" in talker.button_data()
    await talker.press("g:cats")
    assert "g:c:payment" in talker.button_data()
    await talker.press("g:c:payment")
    assert "g:t:payment.how" in talker.button_data()
    await talker.press("g:t:payment.how")
    answer = talker.replies[0]
    assert "dichvucong.gov.vn" in answer.text
    data = talker.button_data()
    assert "g:up:payment.how" in data and "g:dn:payment.how" in data and "menu" in data
    assert any(d.startswith("g:t:payment.") for d in data)  # related topics


async def test_a_question_without_diacritics_is_answered(talker):
    await talker.say("lam sao nop phi online")
    assert "Yêu cầu thanh toán" in talker.text
    assert "g:dn:payment.how" in talker.button_data()


async def test_the_answer_follows_the_users_language_with_vietnamese_fallback(app, talker):
    await talker.say("/language")
    await talker.press("lang:en")
    english = [t for t in app.services.kb.topics.values() if t.body_en]
    vietnamese_only = [t for t in app.services.kb.topics.values() if not t.body_en]
    await talker.say("/guides")
    await talker.press(f"g:c:{english[0].category}")
    await talker.press(f"g:t:{english[0].id}")
    assert talker.replies[0].text == english[0].body_en.strip()
    if vietnamese_only:
        await talker.say("/guides")
        await talker.press(f"g:c:{vietnamese_only[0].category}")
        await talker.press(f"g:t:{vietnamese_only[0].id}")
        assert talker.replies[0].text == vietnamese_only[0].body_vi.strip()


async def test_out_of_scope_is_refused_kindly_with_the_menu_and_logged(app, talker):
    await talker.say("Cách nấu phở bò")
    assert "chỉ biết về dịch vụ công trực tuyến" in talker.text
    assert "g:cats" in talker.button_data() and "g:t:help.contact" in talker.button_data()
    async with app.sessions() as session:
        entries = (await session.scalars(select(inbox.UnansweredQuestion))).all()
    assert [e.text for e in entries] == ["Cách nấu phở bò"]
    assert entries[0].folded == "cach nau pho bo"
    assert len(entries[0].user_hash) == 32 and entries[0].user_hash != "1"


async def test_a_close_call_asks_did_you_mean_with_topic_buttons(app, talker):
    question = next(q for q in ["bạn có thể làm những gì", "chung thuc", "phi", "ho so"]
                    if app.services.matcher.match(q).suggestions)
    await talker.say(question)
    assert talker.text == "Có phải bạn muốn hỏi…?"
    data = talker.button_data()
    assert data[-1] == "g:other" and 2 <= len(data) <= 4
    await talker.press(data[0])
    assert "g:up:" + data[0].split(":", 2)[2] in talker.button_data()


async def test_another_question_logs_the_question_as_unanswered(app, talker):
    question = next(q for q in ["bạn có thể làm những gì", "chung thuc", "phi", "ho so"]
                    if app.services.matcher.match(q).suggestions)
    await talker.say(question)
    await talker.press("g:other")
    async with app.sessions() as session:
        entry = await session.scalar(select(inbox.UnansweredQuestion))
    assert entry.text == question and entry.kind is inbox.InboxKind.unanswered


async def test_dislike_is_logged_and_shown_to_officials_who_can_map_it(app, talker):
    await talker.say("lam sao nop phi online")
    await talker.press("g:dn:payment.how")
    assert "xem lại" in talker.text
    official = Talker(app, "99")
    async with app.sessions() as session:
        await grant_role(session, "console", "99", "official")
    await official.say("/unanswered")
    assert "lam sao nop phi online" in official.text and "👎" in official.text
    map_button = next(d for d in official.button_data() if d.startswith("u:map:"))
    await official.press(map_button)
    assert "Đã gán 1 câu hỏi" in official.text
    async with app.sessions() as session:
        rule = await session.get(inbox.QuestionRule, "lam sao nop phi online")
    assert rule is not None and rule.topic_id == map_button.rsplit(":", 1)[1]


async def test_unanswered_is_refused_to_citizens(talker):
    await talker.say("/unanswered")
    assert "chỉ dành cho" in talker.text


async def test_ignored_groups_never_come_back(app):
    async with app.sessions() as session:
        for text in ("giá vàng hôm nay", "gia vang hom nay"):
            await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text=text, user_hash="h")
        [group] = await inbox.open_groups(session)
        assert group.count == 2
        assert await inbox.resolve_group(session, group.id, None) == 2
        await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text="Giá vàng hôm nay?", user_hash="h")
        assert await inbox.open_groups(session) == []


async def test_a_mapped_question_is_answered_with_its_topic_afterwards(app, talker):
    async with app.sessions() as session:
        await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text="xin giấy xác nhận cư trú", user_hash="h")
        [group] = await inbox.open_groups(session)
        await inbox.resolve_group(session, group.id, "portal.find_procedure")
        await session.commit()
    await talker.say("Xin giay xac nhan cu tru")
    assert "g:up:portal.find_procedure" in talker.button_data()


async def test_similar_questions_group_together(app):
    async with app.sessions() as session:
        for text in ("đổi bằng lái xe", "doi bang lai xe", "đổi bằng lái xe ở đâu", "cách nấu phở"):
            await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text=text, user_hash="h")
        groups = await inbox.open_groups(session)
    assert [g.count for g in groups] == [3, 1]


def _cli(tmp_path, *args, stdin=""):
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)


def test_ask_cli_prints_one_json_object_per_question(tmp_path):
    result = _cli(tmp_path, "ask", "--json", "lam sao nop phi online", "Cách nấu phở bò")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["topic"] == "payment.how" and lines[0]["question"] == "lam sao nop phi online"
    assert lines[1]["topic"] is None and lines[1]["suggestions"] == []
    assert set(lines[0]) == {"question", "topic", "score", "suggestions"}


def test_ask_cli_reads_one_question_per_line_from_stdin(tmp_path):
    result = _cli(tmp_path, "ask", "--json", stdin="tra cuu ho so o mo\n\nCách nấu phở bò\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["topic"] for line in lines] == ["portal.track", None]


def test_ask_cli_shows_thanks_answered_as_the_bot_does_before_the_matcher(tmp_path):
    result = _cli(tmp_path, "ask", "--json", "thank you so much", "ok")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["topic"], line["suggestions"], line["small_talk"]) for line in lines] == [
        (None, [], "thanks"), (None, [], "ack")]


def test_content_check_cli_is_clean(tmp_path):
    result = _cli(tmp_path, "content", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 29 topics" in result.stdout


def test_unanswered_cli_lists_maps_and_ignores(tmp_path):
    import asyncio

    from bot.app import App
    from tests.conftest import make_settings

    async def seed():
        app = App(make_settings(tmp_path).model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/cli.db"}))
        await app.prepare()
        async with app.sessions() as session:
            await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text="đổi bằng lái xe", user_hash="h")
            await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text="cách nấu phở", user_hash="h")
            await session.commit()
        await app.aclose()

    asyncio.run(seed())
    listing = _cli(tmp_path, "unanswered")
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    assert {row[-1] for row in rows} == {"đổi bằng lái xe", "cách nấu phở"}
    group = next(row[0] for row in rows if row[-1] == "cách nấu phở")
    assert _cli(tmp_path, "unanswered", "ignore", group).returncode == 0
    assert "cách nấu phở" not in _cli(tmp_path, "unanswered").stdout
    assert _cli(tmp_path, "unanswered", "map", group, "no.such.topic").returncode == 2


async def test_long_numbers_are_hidden_before_a_question_is_logged(app, talker):
    await talker.say("cách nấu phở bò, gọi 0912 345 678 hoặc 040123456789")
    async with app.sessions() as session:
        entry = await session.scalar(select(inbox.UnansweredQuestion))
    assert entry is not None and entry.text.startswith("cách nấu phở bò")
    assert "040123456789" not in entry.text and "345" not in entry.text and "0912" not in entry.folded


async def test_delete_my_data_also_deletes_my_logged_questions(app, talker):
    await talker.say("Cách nấu phở bò")
    other = Talker(app, "2")
    await other.say("giá vàng hôm nay")
    await talker.say("/deletemydata")
    await talker.press("dd:yes")
    async with app.sessions() as session:
        texts = [e.text for e in (await session.scalars(select(inbox.UnansweredQuestion))).all()]
    assert texts == ["giá vàng hôm nay"]


async def test_thanks_and_ok_get_a_short_friendly_answer_and_are_not_logged(app, talker):
    await talker.say("cảm ơn nhiều")
    assert "Không có chi" in talker.text
    await talker.say("dạ vâng")
    assert talker.text.startswith("Dạ vâng")
    async with app.sessions() as session:
        assert (await session.execute(select(inbox.UnansweredQuestion))).scalars().all() == []


async def test_a_lone_abbreviation_or_letter_gets_a_question_back(talker):
    await talker.say("mk")
    assert "mật khẩu" in talker.text and "gõ cả câu hỏi" in talker.text
    assert "g:up:" not in " ".join(talker.button_data())
    await talker.say("a")
    assert "Tôi chưa hiểu" in talker.text
    await talker.say("hi")  # a greeting, not a stray letter: the bot says what it does
    assert "Tôi chưa hiểu" not in talker.text and "g:up:bot.about" in talker.button_data()


async def test_laughing_or_thanks_with_a_word_for_the_bot_is_not_taken_for_a_question(talker):
    await talker.say("hihi")
    assert talker.text.startswith("Dạ vâng")
    await talker.say("Hihi cảm ơn bot nha 🥰")
    assert "Không có chi" in talker.text


async def test_asking_for_a_person_offers_the_help_request_when_it_exists(app, talker):
    await talker.say("có ai đến giúp không")
    assert "hr:new" in talker.button_data() and "g:up:help.contact" in talker.button_data()
    assert "🙋 Nhờ tổ công nghệ số giúp" in talker.button_labels()
    app.router.registry.buttons.pop("hr")  # a bot without the help-request feature
    await talker.say("tôi không tự làm được, ai đến nhà giúp với")
    assert "hr:new" not in talker.button_data() and "g:up:help.contact" in talker.button_data()


async def test_an_english_question_is_answered_in_english(talker):
    await talker.say("steps for paying a fee through the public service portal")
    assert "g:up:payment.how" in talker.button_data()
    assert talker.text.startswith("<b>Paying fees online</b>")


async def test_a_free_text_answer_offers_the_questions_runners_up_first(app, talker):
    """A wrong answer is one tap from the right one: the matcher's runner-ups come first among
    the "➡️" buttons, then the answer's own related topics, three in all."""
    question = "ra đâu để chứng thực bản sao điện tử"
    result = app.services.matcher.match(question)
    assert result.topic is not None
    runners_up = [t for t, score in result.candidates[1:3] if score > 0]
    assert runners_up
    await talker.say(question)
    topics = [d.removeprefix("g:t:") for d in talker.button_data() if d.startswith("g:t:")]
    related = app.services.kb.get(result.topic).related
    expected = [t for t in dict.fromkeys([*runners_up, *related]) if t != result.topic][:3]
    assert topics == expected and topics[: len(runners_up)] == runners_up


async def test_an_english_answer_names_its_buttons_in_english(app, talker):
    kb = app.services.kb
    assert kb.get("payment.methods").title_in("en") == "Which ways can I pay?"
    assert kb.get("payment.methods").title_in("vi") == kb.get("payment.methods").title
    assert kb.get("bot.about").title_in("en") == kb.get("bot.about").title  # a long heading is no title
    question = "bank debited me yet payment shows failed"
    result = app.services.matcher.match(question)
    assert result.language == "en" and result.topic is not None
    await talker.say(question)
    labels = [label.removeprefix("➡️ ") for label in talker.button_labels() if label.startswith("➡️")]
    ids = [d.removeprefix("g:te:") for d in talker.button_data() if d.startswith("g:te:")]
    assert labels and labels == [kb.get(t).title_in("en") for t in ids]
    assert any(label != kb.get(t).title for label, t in zip(labels, ids))  # English, not the Vietnamese titles
    assert "👍 Helpful" in talker.button_labels()  # and the other buttons too
    await talker.press(f"g:te:{ids[0]}")  # the next topic stays in English for this Vietnamese user
    assert talker.replies[0].text == kb.get(ids[0]).body_en.strip()
    await talker.say("/guides")  # a topic chosen from the menu: the user's language
    await talker.press(f"g:c:{kb.get(ids[0]).category}")
    await talker.press(f"g:t:{ids[0]}")
    assert talker.replies[0].text == kb.get(ids[0]).body_vi.strip()
