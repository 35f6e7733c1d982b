"""One calibrated confidence per question: the probability that the best-ranked topic is right.

A logistic function of a few numbers the matcher reads in a question (for Vietnamese: the
evidence confidence, the best rank score and its lead, the learned model's probability and
lead, whether the question is a bare subject, how far it is longer than a question usually is
(``matcher.LONG_WORDS``); for English: the share of known words, the
learned model's probability and lead, an out-of-scope cue; for both, the learned model's
probability of its out-of-scope class, learned from ``content/lexicon/out_of_scope.toml``). Its weights, the two thresholds
that turn it into answer / "did you mean" / abstain, and the lead below which a confident answer
is asked back as a "did you mean" (a close call between two topics) are data, in
``content/lexicon/calibration.toml``, fitted by ``bench/calibrate_matcher.py`` on
cross-validated questions (every knowledge-base example held out once, so it is scored by a
matcher that never saw it) and on out-of-scope questions (label: not right).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CALIBRATION_FILE = Path(__file__).parent / "lexicon" / "calibration.toml"

VI_FEATURES = ("evidence", "rank", "rank_lead", "learned", "learned_lead", "bare_subject", "out_of_scope",
               "long")
EN_FEATURES = ("known", "learned", "learned_lead", "cue", "out_of_scope")
LEAD_FEATURE = {"vi": "rank_lead", "en": "learned_lead"}
"""The best topic's lead over the second that the ``lead`` threshold reads, in each language."""


@dataclass(frozen=True)
class Calibration:
    """A logistic model, its two thresholds and its lead threshold for one language."""

    weights: tuple[float, ...]
    bias: float
    answer: float  # at or above: answer
    clarify: float  # at or above (and below ``answer``): "did you mean"; below: abstain
    lead: float = 0.0  # an answer whose topic leads the second by less: "did you mean" instead

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, probability: float, lead: float = math.inf) -> str:
        """"answer", "clarify" or "abstain": a confident answer whose ``lead`` (the best topic's
        over the second, LEAD_FEATURE) is below the lead threshold is a close call, asked back
        (a threshold of 0: no such gate; the English lead can be negative)."""
        if probability >= self.answer:
            return "clarify" if self.lead > 0 and lead < self.lead else "answer"
        return "clarify" if probability >= self.clarify else "abstain"


def load(path: Path = CALIBRATION_FILE) -> dict[str, Calibration]:
    """The calibration of each language ("vi", "en")."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for lang, names in (("vi", VI_FEATURES), ("en", EN_FEATURES)):
        part = data[lang]
        out[lang] = Calibration(tuple(float(part["weights"][name]) for name in names), float(part["bias"]),
                                float(part["answer"]), float(part["clarify"]), float(part["lead"]))
    return out
