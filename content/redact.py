"""The one function that hides phone numbers, ID and account numbers and e-mail addresses.

Used wherever text people typed is kept for others to read (the unanswered-question inbox).
"""

from __future__ import annotations

import re

MASK = "…"
MIN_DIGITS = 7  # phone numbers have 10, CCCD 12, bank accounts 8 to 16

# A digit, then at least six more, each after at most three separators: "0912 345 678",
# "0912/345/678", "0912_345_678", "0912,345,678", "(0912) 345678", "+84 912-345-678".
_NUMBER = re.compile(rf"[+(]?\d(?:[\s.,/_\\()\-–]{{0,3}}\d){{{MIN_DIGITS - 1},}}\)?")
_DATE = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2\d{2,4}")  # 12/03/2024 is a date, kept
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def redact(text: str) -> str:
    """``text`` with e-mail addresses and long numbers (but not dates) replaced by "…"."""
    text = _EMAIL.sub(MASK, text)
    return _NUMBER.sub(lambda m: m.group() if looks_like_date(m.group()) else MASK, text)


def looks_like_date(text: str) -> bool:
    """A day and month that exist on some calendar ("00.0.0000" is a number typed with dots)."""
    match = _DATE.fullmatch(text)
    return bool(match) and 1 <= int(match.group(1)) <= 31 and 1 <= int(match.group(3)) <= 12
