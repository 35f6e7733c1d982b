"""Reading a count written in a cell, one way only when it can be read one way.

Vietnamese files write "1.234" (dot groups thousands) and "12,5" (comma is the decimal mark);
files from an English Excel write the opposite. "1.234.567", "1.234,5" and "12,5" can only be
Vietnamese; "1,234,567", "1,234.5" and "12.5" only English. "1.234" and "1,234" could be either:
they are read with the convention the other cells of the column (or the file) show, and are an
error naming both readings when nothing shows it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

VI, EN = "vi", "en"  # "." groups thousands / "," groups thousands

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_DIGITS = re.compile(r"^[0-9]+$")


class NumberError(ValueError):
    """A cell that is not a number (``readings`` empty) or could be two (``readings`` both)."""

    def __init__(self, text: str, readings: tuple[float, ...] = ()) -> None:
        super().__init__(text)
        self.text = text
        self.readings = readings


def _grouped(body: str, sep: str) -> bool:
    """ "1.234.567" with ``sep`` ".": 1–3 digits (not a lone 0), then groups of exactly 3."""
    parts = body.split(sep)
    return (len(parts) > 1 and 1 <= len(parts[0]) <= 3 and parts[0] != "0"
            and all(_DIGITS.match(p) for p in parts) and all(len(p) == 3 for p in parts[1:]))


def _clean(text: str) -> tuple[bool, str]:
    text = _SPACES.sub("", text)
    negative = text.startswith(("-", "−"))
    return negative, text[1:] if negative else text


def convention_of(value) -> str | None:
    """What a cell's text shows about the separators: VI, EN or None (nothing, or a plain number)."""
    if not isinstance(value, str):
        return None
    _neg, body = _clean(value.strip())
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return VI if body.rfind(",") > body.rfind(".") else EN
    if dots > 1:
        return VI
    if commas > 1:
        return EN
    if dots == 1 and not _grouped(body, "."):
        return EN  # "12.5": a decimal point
    if commas == 1 and not _grouped(body, ","):
        return VI  # "12,5": a decimal comma
    return None


def column_convention(values: Iterable, fallback: str | None = None) -> str | None:
    """The one convention a column's cells show; ``fallback`` (the file's) when they show none or both."""
    seen = {c for c in (convention_of(v) for v in values) if c}
    return next(iter(seen)) if len(seen) == 1 else fallback


def _number(digits: str) -> float:
    if not re.match(r"^[0-9]+(\.[0-9]+)?$", digits):
        raise ValueError(digits)
    return float(digits)


def parse_number(value, convention: str | None = None) -> float | None:
    """A number from a cell: real numbers, or text in either convention.

    None for an empty cell ("", "-"). Raises :class:`NumberError` when the text is not a number,
    or could be read two ways and ``convention`` (VI/EN) does not say which.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise NumberError(str(value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise NumberError(str(value))
        return float(value)
    text = str(value).strip()
    if not text or text in {"-", "–"}:
        return None
    negative, body = _clean(text)
    dots, commas = body.count("."), body.count(",")
    try:
        if dots and commas:
            decimal, group = (",", ".") if body.rfind(",") > body.rfind(".") else (".", ",")
            whole, _sep, fraction = body.rpartition(decimal)
            if not _grouped(whole, group) and group in whole:
                raise ValueError(body)
            number = _number(whole.replace(group, "") + "." + fraction)
        elif dots > 1 or commas > 1:
            sep = "." if dots else ","
            if not _grouped(body, sep):
                raise ValueError(body)
            number = _number(body.replace(sep, ""))
        elif dots or commas:
            sep = "." if dots else ","
            as_decimal = _number(body.replace(sep, "."))
            if not _grouped(body, sep):
                number = as_decimal  # "12,5", "1.5", "1234,56": only a decimal mark fits
            else:
                as_thousands = _number(body.replace(sep, ""))
                thousands_sep = "." if convention == VI else "," if convention == EN else None
                if thousands_sep is None:
                    readings = (as_thousands, as_decimal)
                    raise NumberError(text, tuple(-r for r in readings) if negative else readings)
                number = as_thousands if sep == thousands_sep else as_decimal
        else:
            number = _number(body)
    except NumberError:
        raise
    except ValueError:
        raise NumberError(text) from None
    return -number if negative else number


def show_number(number: float) -> str:
    """A number as written back in a Vietnamese message: 1.234, 12,5."""
    if number == int(number):
        return f"{int(number):,}".replace(",", ".")
    return f"{number:,.3f}".rstrip("0").rstrip(".").replace(",", " ").replace(".", ",").replace(" ", ".")
