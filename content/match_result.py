"""What the matcher decided for one question, and the other topics an answer offers one tap away.

Kept apart from ``content.matcher`` on purpose: the bot's handlers need these at import time, and
importing the matcher itself loads numpy and scipy (about 11 MB of the process's
memory at start, measured with ``bench/soak.py``); those wait for the first question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RELATED_BUTTONS = 3
"""An answer offers at most this many other topics one tap away (its "➡️" buttons)."""
RUNNERS_UP = 2
"""A free-text answer offers the question's two runner-up topics first among those buttons:
on the example questions held out, the right topic of a wrong answer was among them and the
answer's related topics 107 times in 124, against 68 with the related topics alone."""


@dataclass(frozen=True)
class MatchResult:
    """What the matcher decided for one question."""

    topic: str | None
    score: float
    suggestions: list[str]
    candidates: list[tuple[str, float]]
    margin: float = 0.0  # the learned model's lead of the best-ranked topic over the next one
    language: str = "vi"  # "en" when the question was read as English (answer with body_en)
    features: tuple[float, ...] = ()  # what the calibrated confidence was computed from


def runners_up(result: MatchResult) -> list[str]:
    """The topics ranked after the answer that an answer to this question offers first."""
    return [topic for topic, score in result.candidates[1 : RUNNERS_UP + 1] if score > 0]


def offered_topics(topic_id: str, related: Sequence[str], also: Sequence[str] = ()) -> list[str]:
    """The other topics an answer of ``topic_id`` offers one tap away: ``also`` (the question's
    runner-ups), then the topic's ``related`` ones, at most RELATED_BUTTONS."""
    return [t for t in dict.fromkeys([*also, *related]) if t != topic_id][:RELATED_BUTTONS]
