"""Issue 12 point 9: long messages are split on entity and tag boundaries (Telegram 4,096, Zalo 2,000)."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.render import split_text, utf16_len
from bot.channels.telegram import TEXT_LIMIT as TELEGRAM_LIMIT
from bot.channels.telegram import send_reply
from bot.channels.zalo import TEXT_LIMIT as ZALO_LIMIT
from handlers.messages import Reply
from tests.fake_telegram import FakeTelegram, check_telegram_html

TEXT = st.lists(st.sampled_from(list("aăbcdđeêg &<>\"'\n") + ["😀", "ệ", "e\u0323\u0302", "\n\n", "word "]),
                max_size=60).map("".join)


def _no_blanks(text: str) -> str:
    return "".join(text.split())


@st.composite
def telegram_html(draw, depth=0):
    """Valid Telegram HTML: escaped text, entities and nested tags."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["text", "text", "tag", "entity"] if depth < 3 else ["text"]))
        if kind == "text":
            parts.append(html.escape(draw(TEXT), quote=False))
        elif kind == "entity":
            parts.append(draw(st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&#8220;", "&#x1F600;"])))
        else:
            tag, attrs = draw(st.sampled_from([("b", ""), ("i", ""), ("code", ""), ("u", ""),
                                               ("a", ' href="https://dichvucong.gov.vn/p/home?a=1&amp;b=2"'),
                                               ("span", ' class="tg-spoiler"'), ("blockquote", "")]))
            parts.append(f"<{tag}{attrs}>{draw(telegram_html(depth + 1))}</{tag}>")
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.lists(telegram_html(), min_size=1, max_size=8), st.integers(min_value=40, max_value=300))
def test_telegram_chunks_are_valid_html_within_the_limit_and_lose_nothing(pieces, limit):
    text = "\n\n".join(pieces)
    chunks = split_text(text, limit, html=True, measure=utf16_len)
    plain = "".join(check_telegram_html(chunk) for chunk in chunks)  # each chunk parses alone
    assert all(utf16_len(chunk) <= limit for chunk in chunks)
    assert _no_blanks(plain) == _no_blanks(check_telegram_html(text))
    if chunks != [text]:  # no empty message made by a cut
        assert all(_no_blanks(check_telegram_html(chunk)) for chunk in chunks)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000), st.integers(min_value=1, max_value=500))
def test_plain_chunks_keep_every_character_and_respect_the_limit(text, limit):
    chunks = split_text(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert _no_blanks("".join(chunks)) == _no_blanks(text)
    assert chunks == [text] or all(chunk.strip() for chunk in chunks)


def test_an_entity_is_never_cut_and_paragraphs_are_preferred():
    text = "x" * 4094 + "&amp;" + " tiếp"
    chunks = split_text(text, TELEGRAM_LIMIT, html=True, measure=utf16_len)
    assert chunks == ["x" * 4094, "&amp; tiếp"]
    text = ("Đoạn một. " * 100).strip() + "\n\n" + ("Đoạn hai. " * 100).strip()
    assert split_text(text, 1500) == [("Đoạn một. " * 100).strip(), ("Đoạn hai. " * 100).strip()]
    bold = "<b>" + "chữ đậm " * 700 + "</b>"
    chunks = split_text(bold, 2000, html=True)
    assert len(chunks) == 3 and all(c.startswith("<b>") and c.endswith("</b>") for c in chunks)
    # A character and its combining marks stay together (Vietnamese typed in NFD).
    chunks = split_text("e\u0323\u0302" * 1000, ZALO_LIMIT)
    assert all(chunk[0] not in "\u0323\u0302" for chunk in chunks)


async def test_a_long_html_message_reaches_telegram_as_valid_messages():
    text = "<b>Hướng dẫn</b>\n" + "Bước &amp; <i>chi tiết</i> &lt;quan trọng&gt; " * 300
    async with FakeTelegram() as fake:
        async with fake.app_builder().build() as application:
            await send_reply(application.bot, 777, Reply(text))
        messages = fake.calls("sendMessage")
    assert len(messages) >= 4 and all(call.ok for call in messages)  # the fake checks the HTML
