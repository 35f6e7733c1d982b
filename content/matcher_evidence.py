"""The matcher's evidence: how well a topic explains a question's domain words, and the
out-of-scope cues; plus the blend of the three ranking signals. A mixin of ``Matcher``.

Ranking uses every word; the confidence only the question's domain words (see
``content.matcher``'s docstring).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from content.matcher_text import (
    _ANCHORS,
    _ANCHORS_ACCENTED,
    _THIRD_PARTY,
    _fold,
    _has_marks,
    _is_generic,
    is_vietnamese_syllable,
)

KINDS_AT_MOST = 20_000  # terms whose evidence kind is memoised (typed junk adds terms)
FOLD_SYLLABLE_CREDIT = 0.6
"""Evidence credit of a single syllable typed without diacritics ("gia" is giá, giả, già, gia):
a bigram or a non-Vietnamese token ("vneid", "otp") typed the same way keeps full credit."""
EVIDENCE_FLOOR = 0.6
"""The domain words of a question weigh at least this share of an unknown word's idf when the
confidence divides what the best topic explains by what there is to explain."""
EVIDENCE_BIGRAM_SHARE = 0.5
"""An unknown bigram of two known domain words ("thời tiết": "thời" as in "thời gian", "tiết" as
in "chi tiết") counts this share of an unknown word against the confidence."""

# --- ranking weights -------------------------------------------------------------------------

K1 = 1.2
IDF_POWER = 1.0  # > 1 sharpens the weight of the words that tell close topics apart
B = 0.75
FIELD_WEIGHTS = {"title": 1.5, "examples": 3.0, "body": 0.6}
BIGRAM_WEIGHT = 1.3
TOPIC_WEIGHT = 0.35
EXAMPLE_WEIGHT = 0.35
FUZZY_WEIGHT = 0.30
TOPIC_SHARE_FULL = 0.40  # BM25 shares at which the lexical evidence counts as complete
EXAMPLE_SHARE_FULL = 0.60
FUZZY_FLOOR = 0.45  # token-sort ratios below this are what unrelated sentences score
FOLDED_FALLBACK = 0.5  # an accented term unknown as written, found only once folded
TYPO_WEIGHT = 0.7  # a term found only after typo correction



class DomainTerms(NamedTuple):
    """Sums over a question's domain terms (``EvidenceMixin._domain_terms``)."""

    ideal: float
    ex_ideal: float
    mass: float
    known: float
    cover: float
    ex_cover: float
    missing: float
    ex_missing: float
    weights: list[float]  # per term of the question: its weight as evidence (0: none)


class EvidenceMixin:
    """Evidence and cue methods; ``Matcher`` provides the index they read."""

    def _cue_spans(self, tokens: list[str]) -> list[tuple[int, int]]:
        """The (start, end) token spans of the out-of-scope cues in ``tokens``."""
        spans = []
        cues_acc, cues_fold = self._cues_acc, self._cues_fold
        marked = [_has_marks(tok) for tok in tokens]
        for i, tok in enumerate(tokens):
            if (tok in cues_acc) if marked[i] else (tok in cues_fold):
                spans.append((i, i + 1))
            if i + 1 < len(tokens):
                gram = f"{tok} {tokens[i + 1]}"  # marked when either word is
                if (gram in cues_acc) if marked[i] or marked[i + 1] else (gram in cues_fold):
                    spans.append((i, i + 2))
        return spans

    def _has_cue(self, tokens: list[str], expanded: list[str] | None = None) -> bool:
        """Whether the question uses an out-of-scope cue: a cue word or compound (looked for
        before the phrase synonyms too), or the name of another company's service when the
        question names none of the things this bot is about."""
        if self._cue_spans(tokens):
            return True
        # only compounds before the synonyms: a single word they rewrite away ("cộng" of "tổ
        # công nghệ số cộng đồng") is no cue
        if expanded is not None and any(end - start > 1 for start, end in self._cue_spans(expanded)):
            return True
        if not any(_fold(tok) in _THIRD_PARTY for tok in tokens):
            return False
        if expanded is None:
            expanded = tokens
        return not self._anchored(expanded, [_fold(tok) for tok in expanded], [])

    @staticmethod
    def _anchored(tokens: list[str], folded: list[str], cue_spans: list[tuple[int, int]]) -> bool:
        """Whether the question names one of DOMAIN_ANCHORS outside its out-of-scope compounds
        (the "phí" of "học phí" is no anchor). ``tokens`` as typed, abbreviations expanded."""
        inside = {i for start, end in cue_spans for i in range(start, end)}
        for i, ftok in enumerate(folded):
            if i in inside:
                continue
            if ftok in _ANCHORS or tokens[i] in _ANCHORS_ACCENTED:
                return True
            if i + 1 < len(folded) and i + 1 not in inside and f"{ftok} {folded[i + 1]}" in _ANCHORS:
                return True
        return False

    def _evidence_kind(self, space: str, term: str) -> tuple[float, float] | None:
        """None if ``term`` is no evidence either way, else (its share of the ideal if unknown,
        its credit if matched); memoised."""
        key = (space, term)
        kind = self._kinds.get(key, False)
        if kind is not False:
            return kind
        folded_space = space == "fold"
        kind = (1.0, 1.0)
        if " " not in term:
            if _is_generic(term, folded_space):
                kind = None
            elif folded_space and is_vietnamese_syllable(term):
                kind = (1.0, FOLD_SYLLABLE_CREDIT)
        else:
            first, second = term.split(" ")
            generic = (_is_generic(first, folded_space), _is_generic(second, folded_space))
            known = term in self._postings.rows[space]
            fold_known = self._postings.rows["fold"]
            if all(generic) or (any(generic) and not known):
                kind = None  # "hôm nay"; "nấu canh" half generic and unknown: no evidence either way
            elif not known and not (_fold(first) in fold_known and _fold(second) in fold_known):
                kind = None  # an unknown word already counts against; do not count it twice
            else:
                kind = (EVIDENCE_BIGRAM_SHARE, 1.0)
        if len(self._kinds) < KINDS_AT_MOST:  # typed junk must not grow the process
            self._kinds[key] = kind
        return kind

    def _domain_terms(self, terms: list[tuple[str, str, float, str]]) -> DomainTerms:
        """What the evidence needs of a question's terms, whichever topic ranks first."""
        ideal = ex_ideal = mass = known = cover = ex_cover = missing = ex_missing = 0.0
        weights: list[float] = []
        unknown_idf, ex_unknown_idf = self._unknown_idf, self._ex_unknown_idf
        table = self._postings.rows
        kinds = self._kinds
        for space, term, weight, typed in terms:
            # an accented term known only once folded is judged as typed ("thời tiết", not "thoi")
            key = ("acc", typed) if weight < 0 else (space, term)
            kind = kinds.get(key, False)
            if kind is False:
                kind = self._evidence_kind(*key)
            if kind is None:
                weights.append(0.0)
                continue
            share, credit = kind
            accented_unknown = weight < 0
            if weight < 0:  # accented, unknown as written, known folded: as if typed folded
                weight = -weight / FOLDED_FALLBACK
                credit = FOLD_SYLLABLE_CREDIT
            post = table[space].get(term)
            idf = post.idf if post is not None else None
            if share == 1.0:
                # an accented word unknown as written ("đơ") weighs what an unknown word does,
                # though its folded spelling ("do") is known
                mass += unknown_idf if idf is None or accented_unknown else idf
                if idf is not None:
                    known += credit * idf
            add_ideal, add_missing, add_cover = _term_share(
                idf, unknown_idf, post.topic_max if idf is not None else 0.0, weight, share, credit)
            ideal, missing, cover = ideal + add_ideal, missing + add_missing, cover + add_cover
            ex_idf = post.ex_idf if post is not None else None
            add_ideal, add_missing, add_cover = _term_share(
                ex_idf, ex_unknown_idf, post.example_max if ex_idf is not None else 0.0, weight, share, credit)
            ex_ideal, ex_missing, ex_cover = ex_ideal + add_ideal, ex_missing + add_missing, ex_cover + add_cover
            weights.append(credit * weight)
        return DomainTerms(ideal, ex_ideal, mass, known, cover, ex_cover, missing, ex_missing, weights)

    def _evidence(self, domain: DomainTerms, topic_scores: np.ndarray, ex_scores: np.ndarray,
                  folded: list[str], best: int) -> tuple[float, float, float, float, float]:
        """How well topic ``best`` explains the question's domain words, ignoring generic ones.

        ``topic_scores`` and ``ex_scores``: the BM25 sums of the question's domain terms
        (weighted by ``domain.weights``) per topic and per example. Return the same three
        features as the ranking (topic BM25 share, best example share, fuzzy ratio), computed
        over the non-generic terms only, the idf-weighted share of those terms the knowledge
        base knows, and the rank score the whole knowledge base would get (each term explained
        by whichever topic explains it best). A question made of generic words only ("hôm nay
        bao nhiêu") scores 0. A single syllable typed without diacritics earns only
        FOLD_SYLLABLE_CREDIT: "gia" in "gia vang" matching "giá trị" or "giả mạo" is weak evidence.
        """
        ideal, ex_ideal, mass, known = domain.ideal, domain.ex_ideal, domain.mass, domain.known
        score = float(topic_scores[best])
        if ideal <= 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        # a question needs about one distinctive word's worth of domain words to be sure of
        # anything: "12 nhân 12" is all explained by "nhận" but that is not enough
        floor = EVIDENCE_FLOOR * self._unknown_idf
        topic_share = score / (max(ideal, floor) * self._max_field_weight)
        ex_floor = EVIDENCE_FLOOR * self._ex_unknown_idf
        best_example = float(ex_scores[self._postings.examples_of(best)].max(initial=0.0))
        example_share = best_example / (max(ex_ideal, ex_floor) * (K1 + 1))
        query = " ".join(tok for tok in folded if not _is_generic(tok))
        # token_sort_ratio against the examples, their tokens sorted once when the index was built
        hit = process.extractOne(" ".join(sorted(query.split())), self._sorted_domain[best],
                                 scorer=fuzz.ratio, score_cutoff=30) if query else None
        fuzzy = hit[1] / 100.0 * min(1.0, ideal / floor) if hit else 0.0
        # the whole knowledge base explains more than any one topic, so it gets no benefit of
        # the doubt: an unknown pair of known words ("thời tiết") counts as fully unknown
        coverage = _rank_score(domain.cover / (max(ideal + domain.missing, floor) * self._max_field_weight),
                               domain.ex_cover / (max(ex_ideal + domain.ex_missing, ex_floor) * (K1 + 1)),
                               fuzzy)
        return topic_share, example_share, fuzzy, known / mass if mass else 0.0, coverage


def _rank_score(topic_share, example_share, fuzzy):
    """Blend the three pieces of evidence into one score; about 0..1, above 1 for sure hits
    (floats, or numpy arrays of one value per topic).

    ``topic_share`` is the topic's BM25F score over the score of a topic matching every query
    term at saturation in every field (unknown terms count fully), so it falls when a question
    is about something the knowledge base never mentions; ``example_share`` is the same for the
    single best example question; ``fuzzy`` the best token-sort ratio against the examples.
    """
    fz = (fuzzy - FUZZY_FLOOR) / (1.0 - FUZZY_FLOOR)
    fz = np.maximum(0.0, fz) if isinstance(fz, np.ndarray) else max(0.0, fz)
    return (TOPIC_WEIGHT * topic_share / TOPIC_SHARE_FULL
            + EXAMPLE_WEIGHT * example_share / EXAMPLE_SHARE_FULL
            + FUZZY_WEIGHT * fz)


def _term_share(idf: float | None, unknown_idf: float, best: float, weight: float, share: float,
                credit: float) -> tuple[float, float, float]:
    """One term's part of (ideal, missing, cover), for topics or for example questions.

    A known term adds its weight × idf to the ideal and what the best document scores on it to
    the cover; an unknown one adds its known ``share`` of the unknown idf to the ideal and the
    rest to what is missing."""
    if idf is None:
        return weight * share * unknown_idf, weight * (1.0 - share) * unknown_idf, 0.0
    return weight * idf, 0.0, credit * weight * best
