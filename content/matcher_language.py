"""Whether a question is typed in English or in Vietnamese, learned from the project's own texts.

People in Hà Tĩnh often type Vietnamese without diacritics ("dang ky tam tru"), and foreigners
type English whose words are often spelled like Vietnamese syllables ("bank", "me", "yet").
Rules over words alone miss many English questions ("bank debited me yet payment shows
failed"), so a naive Bayes model over the character 1- to 3-grams of each folded word (padded
with a space on each side) tells the two apart. It is counted when the matcher is built from the
words of the topics' Vietnamese and English examples, titles and answers and of the out-of-scope
lists (a few milliseconds: the grams of each distinct word once, times its count); nothing is
downloaded. By 5-fold cross-validation over the example questions (04/12/2026) it read 944 of
951 English examples as English and 2 of 1,293 Vietnamese ones as English (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

GRAM_SIZES = (1, 2, 3)
WORDS_AT_MOST = 5_000
"""Words whose part of the score is remembered (typed junk must not grow the process)."""


def _grams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + size] for size in GRAM_SIZES for i in range(len(padded) - size + 1)]


class LanguageGuess:
    """English-versus-Vietnamese score of a question's folded words (> 0: reads as English)."""

    def __init__(self, vietnamese: Counter[str], english: Counter[str]) -> None:
        """``vietnamese``, ``english``: how often each folded, lower-case word occurs in the
        texts of that language."""
        counts: dict[str, Counter[str]] = {"vi": Counter(), "en": Counter()}
        for lang, words in (("vi", vietnamese), ("en", english)):
            for word, count in words.items():
                for gram in _grams(word):
                    counts[lang][gram] += count
        grams = counts["vi"].keys() | counts["en"].keys()
        # add-one smoothing over the grams either language uses
        vi_total = sum(counts["vi"].values()) + len(grams)
        en_total = sum(counts["en"].values()) + len(grams)
        self.ready = bool(counts["vi"]) and bool(counts["en"])
        self._unknown = math.log(vi_total / en_total)  # a gram neither language uses
        self._ratio = {gram: math.log((counts["en"][gram] + 1) / en_total)
                       - math.log((counts["vi"][gram] + 1) / vi_total) for gram in grams}
        self._words: dict[str, tuple[float, int]] = {}

    def _word(self, word: str) -> tuple[float, int]:
        part = self._words.get(word)
        if part is None:
            grams = _grams(word)
            ratio, unknown = self._ratio, self._unknown
            part = (sum(ratio.get(gram, unknown) for gram in grams), len(grams))
            if len(self._words) < WORDS_AT_MOST:
                self._words[word] = part
        return part

    def english_words(self, folded_words: Iterable[str]) -> int:
        """How many of the words read as English on their own (their grams' ratio above 0)."""
        return sum(self._word(word)[0] > 0.0 for word in folded_words)

    def english_score(self, folded_words: Iterable[str]) -> float:
        """The mean log-likelihood ratio (English over Vietnamese) of the words' grams."""
        total = grams = 0.0
        for word in folded_words:
            score, count = self._word(word)
            total += score
            grams += count
        return total / grams if grams else 0.0
