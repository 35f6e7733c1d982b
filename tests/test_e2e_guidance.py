"""End to end through the fake Telegram server: browse, ask, did-you-mean, out of scope, 👎 → /unanswered."""

from __future__ import annotations

from tests.e2e import running_bot

CITIZEN, OFFICIAL = 501, 502


def _data(fake, call):
    return [data for row in fake.buttons(call) for _label, data in row]


async def _say(fake, user, text):
    mark = fake.mark()
    fake.user_sends_text(user, text, first_name="Hoa")
    return (await fake.wait_messages(user, 1, since=mark))[-1]


async def _press(fake, user, data):
    mark = fake.mark()
    fake.user_presses(user, data, first_name="Hoa")
    return (await fake.wait_messages(user, 1, since=mark))[-1]


async def test_guidance_end_to_end(tmp_path):
    async with running_bot(tmp_path, admin_telegram_ids=str(OFFICIAL)) as (fake, app):
        start = await _say(fake, CITIZEN, "/start")
        assert "g:cats" in _data(fake, start)
        cats = await _press(fake, CITIZEN, "g:cats")
        assert "g:c:ecopy" in _data(fake, cats)
        topics = await _press(fake, CITIZEN, "g:c:ecopy")
        assert "g:t:ecopy.what" in _data(fake, topics)
        answer = await _press(fake, CITIZEN, "g:t:ecopy.what")
        assert answer.params["parse_mode"] == "HTML" and "g:dn:ecopy.what" in _data(fake, answer)

        # A free-text question without diacritics.
        answer = await _say(fake, CITIZEN, "tra cuu ho so o mo")
        assert "g:up:portal.track" in _data(fake, answer)

        # A "did you mean" choice.
        question = next(q for q in ["bạn có thể làm những gì", "chung thuc", "phi", "ho so"]
                        if app.services.matcher.match(q).suggestions)
        asked = await _say(fake, CITIZEN, question)
        assert asked.text == "Có phải bạn muốn hỏi…?"
        choice = _data(fake, asked)[0]
        chosen = await _press(fake, CITIZEN, choice)
        assert f"g:up:{choice.split(':', 2)[2]}" in _data(fake, chosen)

        # Out of scope.
        refused = await _say(fake, CITIZEN, "Kết quả bóng đá tối qua")
        assert "chỉ biết về dịch vụ công trực tuyến" in refused.text

        # 👎 on an answer shows up for an official.
        await _say(fake, CITIZEN, "lam sao nop phi online")
        await _press(fake, CITIZEN, "g:dn:payment.how")
        inbox = await _say(fake, OFFICIAL, "/unanswered")
        assert "lam sao nop phi online" in inbox.text and "Kết quả bóng đá tối qua" in inbox.text
        assert any(d.startswith("u:ign:") for d in _data(fake, inbox))
