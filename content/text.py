"""Vietnamese text normalisation shared by the matcher, unit look-ups and importers."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)


def nfc_lower(text: str) -> str:
    """Return ``text`` in Unicode NFC, lower case, with runs of spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()


def fold_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics (đ → d) so "Thôn 3" and "thon 3" compare equal."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def fold_key(text: str) -> str:
    """A comparison key: lower case, no diacritics, no punctuation, single spaces."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", fold_diacritics(nfc_lower(text)))).strip()
