"""English questions, matched against the English example questions of each topic.

The Vietnamese ranker knows no English word, so a question that reads as English
(``matcher_text.is_english``) is scored by a linear model learned at start-up from the topics'
``examples_en`` and the heading of their English body (``matcher_learned.LearnedIndex``). The
confidence is the share of the question's content words the English examples and bodies use
(a question about the weather uses words they never do), lowered by a lead of the best topic
over the next that is too small to be sure, and by an out-of-scope cue word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from content.matcher_learned import LearnedIndex
from content.matcher_text import ENGLISH_CUES, _strip_html, english_tokens

EN_ANSWER_THRESHOLD = 0.5
"""Below this confidence an English question is not answered directly."""
EN_CLARIFY_THRESHOLD = 0.35
"""Between this and EN_ANSWER_THRESHOLD the matcher asks "did you mean" with its best topics."""
EN_SURE_MARGIN = 0.30
"""A lead of the best topic's probability over the next this large counts as sure."""
EN_ANSWER_MARGIN = 0.05
"""...and only when the best topic leads the next by at least this much (else "did you mean").
Both set by the cross-validation over the English examples (bench/faq_accuracy.py)."""
EN_CUE_FACTOR = 0.5
EN_SUGGEST_RATIO = 0.5
"""Runners-up with at least this share of the best topic's probability are suggested too."""


def _heading(body_en: str | None) -> str:
    """The first line of an English body (its bold title), without markup."""
    if not body_en:
        return ""
    return _strip_html(body_en.strip().split("\n", 1)[0])


class EnglishMatcher:
    """Topic decision for English questions: (topic, confidence, suggestions)."""

    def __init__(self, items: Sequence, cache_dir: Path | None = None) -> None:
        docs: list[tuple[int, list[str]]] = []
        vocab: set[str] = set()
        for idx, topic in enumerate(items):
            body_en = getattr(topic, "body_en", None)
            texts = [*getattr(topic, "examples_en", ()), _heading(body_en)]
            docs.extend((idx, english_tokens(text)) for text in texts if text)
            for text in (*texts, _strip_html(body_en or "")):
                vocab.update(english_tokens(text))
        self.ready = any(tokens for _idx, tokens in docs)
        self._learned = LearnedIndex(docs, len(items), cache_dir) if self.ready else None
        self._vocab = frozenset(vocab)

    def decide(self, question: str) -> tuple[int | None, float, list[int], list[tuple[int, float]]]:
        """Return (topic index or None, confidence, suggested topic indexes, ranked candidates)."""
        tokens = english_tokens(question)
        if not tokens or self._learned is None:
            return None, 0.0, [], []
        probs = self._learned.probabilities(tokens).tolist()
        order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
        candidates = [(i, round(probs[i], 4)) for i in order[:5]]
        best = order[0]
        if probs[best] <= 0.0:
            return None, 0.0, [], candidates
        known = sum(tok in self._vocab for tok in tokens) / len(tokens)
        margin = probs[best] - probs[order[1]] if len(order) > 1 else probs[best]
        conf = known * (0.6 + 0.4 * min(1.0, margin / EN_SURE_MARGIN))
        if any(tok in ENGLISH_CUES or re.fullmatch(r"\d+", tok) for tok in tokens):
            conf *= EN_CUE_FACTOR
        if conf >= EN_ANSWER_THRESHOLD and margin >= EN_ANSWER_MARGIN:
            return best, conf, [], candidates
        if conf >= EN_CLARIFY_THRESHOLD:
            suggestions = [best] + [i for i in order[1:3] if probs[i] >= EN_SUGGEST_RATIO * probs[best]]
            return None, conf, suggestions, candidates
        return None, conf, [], candidates
