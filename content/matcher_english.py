"""English questions, matched against the English example questions of each topic.

The Vietnamese ranker knows no English word, so a question that reads as English
(``matcher_text.is_english``) is scored by a linear model learned at start-up from the topics'
``examples_en`` and the heading of their English body (``matcher_learned.LearnedIndex``). The
confidence is calibrated (``matcher_calibration``) from the share of the question's content
words the English examples and bodies use (a question about the weather uses words they never
do), the learned model's probability and lead, and an out-of-scope cue word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from content.matcher_bm25 import tf_parts
from content.matcher_calibration import Calibration
from content.matcher_chargram import CentroidIndex, Vectoriser, encode
from content.matcher_language import LanguageGuess
from content.matcher_learned import LearnedIndex
from content.matcher_text import (
    _ENGLISH_HINTS,
    _TOKEN,
    ABBREVIATIONS,
    ENGLISH_CUES,
    _fold,
    _fold_all,
    _reads_english,
    _strip_html,
    body_sentences,
    english_heading,
    english_tokens,
    untelex,
)

SUGGESTIONS = 3
CENTROID_WEIGHT = 0.5
"""The cosine with each topic's n-gram centroid (of its English questions) is added to the
learned probability, with this weight, to rank the topics."""
BM25_WEIGHT = 0.75
"""Weight of the BM25 score (0..1, a share of the ideal) of each topic's English questions taken
together, added to the rank. 05/12/2026, 5-fold cross-validation over the 1,169 English examples,
ranked first: without it 87.1 %; weight 0.25 88.3 %, 0.5 89.1 %, 0.75 89.1 %, 1.0 89.1 %,
1.5 89.0 % (k1 0.9-2.0 and b 0.5-1.0 within 0.7 point); each example as its own document
instead, taking the topic's best: 88.0-88.3 %."""
BM25_K1, BM25_B = 1.2, 0.75
_DIGITS = re.compile(r"\d+")
BODY_SENTENCE_TOKENS = 3
"""Sentences of the English answers with at least this many words teach the learned model too."""
ENGLISH_SHARE = 0.6
"""Share of English-only words and function words from which a question reads as English."""
MARKED_SHARE = 0.25
"""A question with more of its words written with Vietnamese diacritics reads as Vietnamese."""
WORDS_SHARE = 0.5
"""The letter model reads a question as English only when more than this share of its words read
as English one by one ("check status ho so" stays Vietnamese)."""
TELEX_WORDS = 2
TELEX_SHARE = 0.25
"""A question with at least TELEX_WORDS words (and TELEX_SHARE of its words) typed with Telex or
VNI keys left in is Vietnamese, however English its letters look (06/12/2026, written batch t22)."""
VIETNAMESE_GRAMMAR = frozenset([
    "khong", "ko", "hok", "k", "duoc", "dc", "roi", "cua", "thi", "la", "gi", "j", "nao", "bi",
    "len", "vao", "ra", "voi", "nhu", "minh", "mik", "toi", "em", "oi", "nha", "nhe", "vay", "cho",
    "tren", "trong", "cung", "ma", "cai", "nay", "phai",
])
"""Vietnamese function words whose unaccented spelling is no common English word ("bị", "lên",
"rồi", "không"...). The grammar words tell which language a mixed question is typed in:
"upload file pdf len dvc" and "app bi crash" are Vietnamese with English nouns, "how to get ban
sao dien tu" is English with Vietnamese nouns. With more of these than English function words
(``_ENGLISH_HINTS``), a question is not read as English by its letters."""


class TopicBM25:
    """BM25 over one document per topic (its English questions and heading, as words): the share
    of the ideal score each topic gets for a question's words."""

    def __init__(self, docs: Sequence[tuple[int, Sequence[str]]], n_topics: int) -> None:
        words: list[list[str]] = [[] for _ in range(n_topics)]
        for idx, tokens in docs:
            words[idx].extend(tokens)
        parts = tf_parts(words, BM25_K1, BM25_B)
        self._idf = {word: math.log(1 + (n_topics - len(post) + 0.5) / (len(post) + 0.5))
                     for word, post in parts.items()}
        # each word's postings as a dense row of one matrix (0 for a topic without it): a
        # question's words then add up in one numpy call, not a Python loop over postings
        self._row = {word: row for row, word in enumerate(parts)}
        self._postings = np.zeros((len(parts), n_topics))
        for word, post in parts.items():
            for idx, part in post:
                self._postings[self._row[word], idx] = self._idf[word] * part
        self._n = n_topics

    def scores(self, tokens: Sequence[str]) -> list[float]:
        ideal = sum(self._idf.get(word, 0.0) for word in tokens) * (BM25_K1 + 1)
        rows = [self._row[word] for word in tokens if word in self._row]
        if ideal <= 0.0 or not rows:
            return [0.0] * self._n
        # the words' parts added in their order, as a loop over them would (a 0 adds nothing)
        return np.add.accumulate(self._postings.take(rows, axis=0) / ideal, axis=0)[-1].tolist()


class EnglishMatcher:
    """Topic decision for English questions: (topic, confidence, suggestions)."""

    def __init__(self, items: Sequence, cache_dir: Path | None = None,
                 out_of_scope: Sequence[str] = (), out_of_scope_vi: Sequence[str] = ()) -> None:
        """``out_of_scope``: English questions the bot does not answer, one more class;
        ``out_of_scope_vi``: the Vietnamese ones (they teach only which language is which)."""
        docs: list[tuple[int, list[str]]] = []
        vocab: set[str] = set()
        for idx, topic in enumerate(items):
            body_en = getattr(topic, "body_en", None)
            texts = [*getattr(topic, "examples_en", ()), english_heading(body_en)]
            docs.extend((idx, english_tokens(text)) for text in texts if text)
            for text in (*texts, _strip_html(body_en or "")):
                vocab.update(english_tokens(text))
        self.ready = any(tokens for _idx, tokens in docs)
        self._n = len(items)
        self._bm25 = TopicBM25(docs, self._n)
        docs.extend((self._n, english_tokens(text)) for text in out_of_scope)
        centred = len(docs)  # the centroids are the questions'; the answers' sentences teach too
        for idx, topic in enumerate(items):
            for sentence in body_sentences(getattr(topic, "body_en", None)):
                tokens = english_tokens(sentence)
                if len(tokens) >= BODY_SENTENCE_TOKENS:
                    docs.append((idx, tokens))
        self._learned = self._centroids = self._vectoriser = None
        if self.ready:
            encoded = encode(docs)
            self._learned = LearnedIndex(docs, self._n + 1, cache_dir, encoded)
            self._centroids = CentroidIndex(encoded, self._n + 1, centred)
            self._centroids.adopt(self._centroids.matrix.astype(np.float32))
            if self._learned.same_features(encoded.vocab, encoded.idf):
                self._vectoriser = Vectoriser(encoded.vocab, encoded.idf)  # one vector for both
                self._learned.adopt(self._learned.weights.astype(np.float32), encoded.vocab)  # half the memory
            del encoded
        self._vocab = frozenset(vocab)
        # words of the English examples and answers that no Vietnamese text of the topics uses
        # ("pay", "refund", "receipt"): a question made mostly of them reads as English even
        # when each one is spelled like a Vietnamese syllable
        vietnamese: Counter[str] = Counter()
        for topic in items:
            for text in (topic.title, *topic.examples, _strip_html(getattr(topic, "body_vi", "") or "")):
                vietnamese.update(_fold(w) for w in _TOKEN.findall(text.lower()))
        english: Counter[str] = Counter()
        for topic in items:
            for text in (*getattr(topic, "examples_en", ()), _strip_html(getattr(topic, "body_en", None) or "")):
                english.update(_TOKEN.findall(text.lower()))
        self._english_only = frozenset(english.keys() - vietnamese.keys())
        # which language a question is typed in, from the same words (and the out-of-scope ones)
        for text in out_of_scope_vi:
            vietnamese.update(_fold(w) for w in _TOKEN.findall(text.lower()))
        folded: Counter[str] = Counter()
        for word, count in english.items():
            folded[_fold(word)] += count
        for text in out_of_scope:
            folded.update(_fold(w) for w in _TOKEN.findall(text.lower()))
        self._language = LanguageGuess(vietnamese, folded)
        # a word no English text uses that spells a Vietnamese word with its Telex or VNI keys
        # left in ("tooi", "muoons", "thanh toasn"): Vietnamese typed with the keyboard off
        self._english_words = frozenset(folded)
        self._vietnamese_words = frozenset(vietnamese)
        # the Vietnamese shorthands no English text uses ("ko", "dc", "ntn"): Vietnamese typed
        self._shorthands = frozenset(_fold(a) for a in ABBREVIATIONS) - folded.keys()

    def reads_english(self, question: str, words: list[str] | None = None) -> bool:
        """Whether a question reads as English (``matcher_text.is_english``); or most words of
        an unaccented one are words only the English side uses (or English function words):
        "portal not working", "dvc website error"; or, with at most a quarter of its words
        written with diacritics, its letters read as English (``matcher_language``): "bank
        debited me yet payment shows failed", "goals of the Hà Tĩnh online services campaign".
        ``words``: the question's lower-case words, if already found."""
        if words is None:
            words = _TOKEN.findall(question.lower())  # once, for both readings
        return self._reads_english_words(question, words) and not self._typed_with_telex(words)

    def _typed_with_telex(self, words: list[str]) -> bool:
        """Whether at least TELEX_WORDS of ``words`` (and TELEX_SHARE of them) are words no English
        text of the topics uses that spell a Vietnamese word of the topics with their Telex or VNI
        keys left in (``untelex``): "tooi muoons nooj hoof sow" is Vietnamese, not English."""
        keyed = sum(w not in self._english_words and untelex(w) in self._vietnamese_words for w in words)
        return keyed >= TELEX_WORDS and keyed >= TELEX_SHARE * len(words)

    def _reads_english_words(self, question: str, words: list[str]) -> bool:
        """``reads_english`` without the Telex check."""
        if _reads_english(words):
            return True
        if len(words) < 2:
            return False
        folded = _fold_all(words)  # remembered: a second look-up of what _reads_english folded
        marked = sum(map(str.__ne__, folded, words))  # _has_marks of each word
        if not marked and (sum(w in self._english_only or w in _ENGLISH_HINTS for w in words)
                           >= ENGLISH_SHARE * len(words)):
            return True
        if marked > MARKED_SHARE * len(words) or not self._language.ready:
            return False
        if sum(map(VIETNAMESE_GRAMMAR.__contains__, folded)) > sum(map(_ENGLISH_HINTS.__contains__, words)):
            return False  # Vietnamese grammar, English nouns: "app bi crash"
        return (not any(w in self._shorthands for w in folded)
                and self._language.english_score(folded) > 0.0
                and self._language.english_words(folded) > WORDS_SHARE * len(folded))

    def decide(self, question: str, calibration: Calibration
               ) -> tuple[int | None, float, list[int], list[tuple[int, float]], tuple[float, ...]]:
        """Return (topic index or None, calibrated confidence, suggested topic indexes, ranked
        candidates, the features the confidence was computed from)."""
        tokens = english_tokens(question)
        if not tokens or self._learned is None:
            return None, 0.0, [], [], ()
        vector = self._vectoriser.vector(tokens) if self._vectoriser is not None else None
        learned = self._learned.probabilities(tokens, vector)
        outside = float(learned[self._n]) if learned.any() else 0.0
        probs = (learned[: self._n] / (1.0 - outside) if 0.0 < outside < 1.0 else learned[: self._n]).tolist()
        cosines = self._centroids.scores(tokens, vector)[: self._n].tolist()
        bm25 = self._bm25.scores(tokens)
        rank = [p + CENTROID_WEIGHT * c + BM25_WEIGHT * s for p, c, s in zip(probs, cosines, bm25)]
        order = sorted(range(len(rank)), key=rank.__getitem__, reverse=True)  # stable: ties by index
        candidates = [(i, round(probs[i], 4)) for i in order[:5]]
        best = order[0]
        if rank[best] <= 0.0:
            return None, 0.0, [], candidates, ()
        known = sum(tok in self._vocab for tok in tokens) / len(tokens)
        margin = probs[best] - probs[order[1]] if len(order) > 1 else probs[best]
        cue = float(any(tok in ENGLISH_CUES or _DIGITS.fullmatch(tok) for tok in tokens))
        features = (known, probs[best], margin, cue, outside)
        probability = calibration.probability(features)
        decision = calibration.decide(probability, margin)  # a close call: ask
        if decision == "answer":
            return best, probability, [], candidates, features
        if decision == "clarify":
            return None, probability, order[:SUGGESTIONS], candidates, features
        return None, probability, [], candidates, features
