"""Conversation basics: thanks, "ok", a message too short to be a question, a wish for a person.

These messages are no question about a topic, so the guidance handler answers them itself (a
short friendly reply, a question back, or the offer of a person) instead of the matcher. The
word lists are data, in ``content/lexicon/conversation.toml``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from enum import StrEnum
from pathlib import Path

from content.matcher_text import ABBREVIATIONS, _fold_all, is_vietnamese_syllable
from content.text import fold_key, rewrite_phrases

_DATA = tomllib.loads((Path(__file__).parent / "lexicon" / "conversation.toml").read_text(encoding="utf-8"))


def _phrases(key: str) -> list[tuple[str, ...]]:
    """The phrases of one list, longest first (so "cam on nhieu" wins over "cam on")."""
    phrases = [tuple(fold_key(word.replace("_", " ")).split()) for word in _DATA[key].split()]
    return sorted(phrases, key=len, reverse=True)


def _by_first_word(phrases: list[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """The phrases grouped by their first word, each group still longest first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        if phrase:
            index.setdefault(phrase[0], []).append(phrase)
    return index


_THANKS = _by_first_word(_phrases("thanks"))
_ACKS = _by_first_word(_phrases("acknowledgements"))
_GREETINGS = {words[0] for words in _phrases("greetings") if len(words) == 1}
_POLITE = {words[0] for words in _phrases("polite") if len(words) == 1}
_DONE = frozenset(words[0] for words in _phrases("done") if len(words) == 1)
_STILL_ASKING = frozenset(words[0] for words in _phrases("still_asking") if len(words) == 1)
# one alternation instead of a loop over the phrases (same answer: any phrase as whole words)
_PERSON = re.compile(" (?:" + "|".join(re.escape(" ".join(words))
                                     for words in _phrases("wants_a_person") if words) + ") ")
_WORD = re.compile(r"\w+", re.UNICODE)


class Kind(StrEnum):
    THANKS = "thanks"
    ACK = "ack"
    UNCLEAR = "unclear"  # one or two letters, or a lone abbreviation: ask what is meant
    PERSON = "person"  # wants a person to help


def _covered(words: list[str], phrases: dict[str, list[tuple[str, ...]]], hit: list[bool]) -> list[str]:
    """Mark the words covered by one of ``phrases`` (grouped by first word); return the words left."""

    def phrase_at(i: int) -> tuple[int, tuple[()]] | None:  # the first listed phrase at i: dropped, counted
        for phrase in phrases.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                hit.append(True)
                return len(phrase), ()
        return None

    return rewrite_phrases(words, phrase_at)


def wants_person(text: str, words: list[str] | None = None) -> bool:
    """Whether ``text`` asks for a person to help ("có ai đến giúp không"). The words are
    folded one by one (remembered by ``matcher_text._fold``), not the whole text as by
    ``fold_key``: the same key for any text whose letters NFC composes (all Vietnamese).
    ``words``: the words of ``text`` in NFC and lower case, if already found."""
    if words is None:
        words = _WORD.findall(unicodedata.normalize("NFC", text or "").lower())
    return _PERSON.search(f" {' '.join(_fold_all(words))} ") is not None


def classify(text: str) -> Kind | None:
    """Which conversation basic ``text`` is, or None for a real question (or an emoji). Thanks
    with other words is thanks when it says it worked ("done" words) and asks nothing more."""
    raw = _WORD.findall((text or "").lower())
    key = fold_key(text or "")
    words = key.split()
    if not words:
        return None
    if _PERSON.search(f" {key} "):
        return Kind.PERSON
    thanks: list[bool] = []
    acks: list[bool] = []
    left = _covered(_covered(words, _THANKS, thanks), _ACKS, acks)
    if (thanks or acks) and all(word in _POLITE for word in left):
        return Kind.THANKS if thanks else Kind.ACK
    if thanks and "?" not in text and not _DONE.isdisjoint(words) and _STILL_ASKING.isdisjoint(words):
        return Kind.THANKS  # it worked, and nothing more is asked: thanks, not the guide again
    if len(raw) == 1 and not raw[0].isdigit() and key not in _GREETINGS:
        token = raw[0]
        if len(token) <= 2 or token in ABBREVIATIONS and ABBREVIATIONS[token] != token:
            return Kind.UNCLEAR
        if len(key) <= 5 and not is_vietnamese_syllable(key) and not re.search(r"[aeiouy]", key):
            return Kind.UNCLEAR
    return None


ANSWERED_BY_ITSELF = frozenset({Kind.THANKS, Kind.ACK, Kind.UNCLEAR})
"""The kinds the guidance handler answers itself, before the matcher (a person goes to it)."""


def answered_by_itself(text: str) -> Kind | None:
    """The conversation basic of ``text`` that gets its own reply instead of a topic, if any:
    what the bot does before it asks the matcher (``handlers.guidance``, ``bench/faq_accuracy.py``)."""
    kind = classify(text)
    return kind if kind in ANSWERED_BY_ITSELF else None


def meaning(text: str) -> str | None:
    """What a lone abbreviation stands for ("mk" -> "mật khẩu"), if known."""
    raw = _WORD.findall((text or "").lower())
    if len(raw) == 1:
        expanded = ABBREVIATIONS.get(raw[0])
        if expanded and expanded != raw[0]:
            return expanded
    return None
