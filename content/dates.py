"""Dates as people write them, and local days as UTC ranges: one place for the whole bot."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from content.text import fold_key

_DATE = re.compile(r"\b(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def local_today(tz: tzinfo) -> date:
    """Today's date in ``tz`` (the bot's TIMEZONE)."""
    return datetime.now(tz).date()


def parse_day(text: str, today: date | None = None) -> date | None:
    """A date written in a message or caption: "25/11/2026", "25-11-2026", "25.11.2026",
    "2026-11-25", and with ``today`` also "hôm qua" / "hôm nay" (yesterday / today); None if none."""
    if today is not None:
        folded = fold_key(text or "")
        if "hom qua" in folded or "yesterday" in folded:
            return today - timedelta(days=1)
        if "hom nay" in folded or "today" in folded:
            return today
    for pattern, order in ((_DATE, (2, 1, 0)), (_ISO_DATE, (0, 1, 2))):
        match = pattern.search(text or "")
        if match:
            parts = [int(g) for g in match.groups()]
            year, month, day = (parts[i] for i in order)
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def day_range(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start 00:00, the day after ``end`` 00:00) in local time, as UTC."""
    begin = datetime.combine(start, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
    return begin, finish
