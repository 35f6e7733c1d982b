"""Issue 12 point 8: one reader for typed numbers; "²", "①" and other non-ASCII digits never raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from content.text import read_int
from db import reports as repo
from db.models import DialogState
from db.reports import Report
from tests.conftest import Talker
from tests.reporting import file_report, open_second_as_duplicate, setup_people

TRICKY = ["²", "①", "٣", "１", "3²", "1①", "𝟕", "⁵", "½", "Ⅻ", "߃", "-1", "+1", "1e3", " ", ""]


@given(st.text())
def test_read_int_never_raises_and_accepts_only_ascii_digits(text):
    value = read_int(text)
    stripped = text.strip()
    if value is None:
        assert not (stripped and len(stripped) <= 9 and all(ch in "0123456789" for ch in stripped))
    else:
        assert stripped == str(value).zfill(len(stripped)) and len(stripped) <= 9


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_read_int_reads_every_ascii_number(number):
    assert read_int(f" {number} ") == number


@given(st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4))
def test_unicode_digits_are_not_numbers_unless_ascii(text):
    assert (read_int(text) is None) == (not all(ch in "0123456789" for ch in text))


def test_separators_and_limits():
    assert read_int("1.234", ignore=".") == 1234
    assert read_int("12 345", ignore=" ") == 12345
    assert read_int("1234567890") is None  # more than nine digits
    assert read_int("123", max_digits=2) is None
    for text in TRICKY:
        assert read_int(text) is None, text


@given(st.text(max_size=30))
def test_report_numbers_never_raise(text):
    number = repo.parse_number(text)
    assert number is None or 0 <= number < 10**9
    assert repo.parse_number("BC-000123") == repo.parse_number("bc 123") == repo.parse_number("#123") == 123


async def test_the_menu_the_people_step_and_the_duplicate_step_refuse_unicode_digits(app):
    await setup_people(app)
    talker = Talker(app, "5")
    await talker.say("/menu")
    assert talker.button_data()
    for text in TRICKY:  # the menu's options: a clear answer, no error
        await talker.say(text)
        assert "trục trặc" not in talker.text

    member = await file_report(Talker(app, "1"), people="²")  # the "people affected" step
    assert "ví dụ 5" in member.text  # "Please type a number, for example 5 …"
    await member.say("①")
    assert "ví dụ 5" in member.text
    async with app.sessions() as session:
        steps = (await session.scalars(select(DialogState.step).where(DialogState.dialog == "report"))).all()
    assert steps == ["people"]
    await member.say("1.200")
    await member.press("rp:send")
    async with app.sessions() as session:
        report = await session.scalar(select(Report))
    assert report.people_affected == 1200

    official = await open_second_as_duplicate(app, member)
    for text in ("BC-①", "²", "BC-00000①"):  # the duplicate-number step
        await official.say(text)
        assert "BC-000123" in official.text  # "type a number like BC-000123"
    await official.say("BC-000001")
    async with app.sessions() as session:
        assert (await session.get(Report, 2)).duplicate_of_id == 1
