"""Issue 12 point 13: one redaction for phones, ID/account numbers and e-mails in the question inbox."""

from __future__ import annotations

import re

from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from content.redact import MASK, looks_like_date, redact
from db import guidance as inbox

SEPARATORS = [" ", ".", "-", "/", "_", ",", ", ", " - ", ") ", "–", "\\"]
WORDS = st.text(alphabet="abcdeghiklmnopqrstuvxyàáảãạăâđêôơưèéòóùúìíỳý ", max_size=30)


def spelled(digits: str, separators: list[str]) -> str:
    out = digits[0]
    for digit, sep in zip(digits[1:], separators, strict=False):
        out += sep + digit
    return out


@st.composite
def numbers(draw):
    """A phone, CCCD or account number as people type it, with any separators."""
    digits = draw(st.text(alphabet="0123456789", min_size=7, max_size=16))
    seps = draw(st.lists(st.sampled_from(["", "", ""] + SEPARATORS), min_size=len(digits) - 1,
                         max_size=len(digits) - 1))
    text = spelled(digits, seps)
    wrap = draw(st.sampled_from(["{}", "({})", "+{}", "{}."]))
    return digits, wrap.format(text)


@st.composite
def emails(draw):
    local = draw(st.from_regex(r"[a-z0-9][a-z0-9._+\-]{0,15}", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z0-9\-]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True))
    return f"{local}@{domain}"


@given(WORDS, numbers(), WORDS)
def test_every_typed_number_is_hidden_and_the_words_stay(before, number, after):
    digits, typed = number
    assume(not looks_like_date(typed.rstrip(".")))  # "12.03.2024" typed as a date is kept, by design
    out = redact(f"{before} {typed} {after}")
    assert before.strip() in out and after.strip() in out
    assert not any(ch.isdigit() for ch in out), out  # the words have no digits: all were the number's
    assert MASK in out and len(digits) >= 7


@given(WORDS, emails(), WORDS)
def test_every_email_is_hidden(before, email, after):
    out = redact(f"{before} {email} {after}")
    assert email not in out and "@" not in out
    assert before.strip() in out and after.strip() in out


@given(st.text())
def test_redact_never_raises_and_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once
    assert not re.search(r"\d{7}", once)  # no run of seven digits survives


def test_the_forms_the_adversarial_run_found():
    for typed in ("0912/345/678", "0912_345_678", "0912,345,678", "(0912) 345678", "0912 345 678",
                  "0912.345.678", "+84 912 345 678", "040123456789", "ba.lan+vneid@gmail.com",
                  "BaLan@yahoo.com.vn"):
        out = redact(f"gọi {typed} giúp tôi")
        assert out == f"gọi {MASK} giúp tôi", (typed, out)
    # What is not personal stays: dates, short numbers, procedures' numbers.
    for kept in ("nộp ngày 12/03/2024", "mất 15 ngày", "lệ phí 50.000 đồng", "Nghị định 63/2024"):
        assert redact(kept) == kept


async def test_the_inbox_keeps_questions_without_phones_ids_or_emails(app, talker):
    await talker.say("cách nấu phở bò, gọi (0912) 345678, 0912_345_678 hoặc mail balan@gmail.com")
    async with app.sessions() as session:
        entry = await session.scalar(select(inbox.UnansweredQuestion))
    assert entry is not None and entry.text.startswith("cách nấu phở bò")
    for leak in ("0912", "345", "678", "balan", "gmail"):
        assert leak not in entry.text and leak not in entry.folded
