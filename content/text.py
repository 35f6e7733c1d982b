"""Vietnamese text normalisation shared by the matcher, unit look-ups and importers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)


def nfc_lower(text: str) -> str:
    """Return ``text`` in Unicode NFC, lower case, with runs of spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()


def _fold_slowly(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


_FOLD_TABLE = {code: folded for code in range(0x80, 0x2000)
               if unicodedata.category(chr(code)).startswith("L")
               and len(folded := _fold_slowly(chr(code))) == 1 and folded.isascii()}
"""Each precomposed Latin letter (Vietnamese ones among them) -> its letter without marks."""


def fold_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics (đ → d) so "Thôn 3" and "thon 3" compare equal."""
    if text.isascii():
        return text
    # one table lookup per character; when that leaves no character outside ASCII, it is what
    # the decomposition below gives (each letter of the table folds on its own to one ASCII
    # letter); anything else (a combining mark typed apart, another script) takes the long way
    folded = text.translate(_FOLD_TABLE)
    return folded if folded.isascii() else _fold_slowly(text)


def fold_key(text: str) -> str:
    """A comparison key: lower case, no diacritics, no punctuation, single spaces."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", fold_diacritics(nfc_lower(text)))).strip()


# Control characters (tab, newline and carriage return stay), DEL, and lone surrogates: nothing a
# person types, and what spreadsheets (openpyxl: IllegalCharacterError) and some clients refuse.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without control characters and lone surrogates; everything else as it was."""
    return _CONTROL.sub("", text) if text else text


_ASCII_DIGITS = frozenset("0123456789")


def read_int(text: str, *, ignore: str = "", max_digits: int = 9) -> int | None:
    """The whole number ``text`` is, written in ASCII digits 0-9, or None.

    The one reader for numbers people type (an option number, how many people, a report
    number). ``str.isdigit`` is also true for "²", "①" or "٣", which ``int()`` refuses or reads
    as another number; only 0-9 count here. Characters in ``ignore`` (say thousands
    separators) are dropped first; more than ``max_digits`` digits is not a number either.
    """
    digits = "".join(ch for ch in text.strip() if ch not in ignore) if ignore else text.strip()
    if not digits or len(digits) > max_digits or not _ASCII_DIGITS.issuperset(digits):
        return None
    return int(digits)


def rewrite_phrases(words: Sequence[str], find: Callable[[int], tuple[int, Sequence[str]] | None],
                    starts: Iterable[int] | None = None) -> list[str]:
    """``words`` left to right with each phrase replaced: where ``find(i)`` gives ``(size,
    replacement)`` the ``size`` words from ``i`` become ``replacement`` (possibly none);
    elsewhere the word stays. ``starts``: the only places, in increasing order, where a phrase
    may start (``find`` is asked nowhere else and the words between are copied as they are):
    the same result, fewer calls when phrases are rare."""
    if starts is None:
        starts = range(len(words))
    out: list[str] = []
    done = 0  # the words before are rewritten
    for i in starts:
        if i < done:
            continue  # inside a phrase already replaced
        found = find(i)
        if found is not None:
            out.extend(words[done:i])
            out.extend(found[1])
            done = i + found[0]
    out.extend(words[done:])
    return out
