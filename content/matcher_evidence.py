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
    _GENERIC_FOLDED,
    _THIRD_PARTY,
    _fold,
    _fold_all,
    _has_marks,
    _is_generic_word,
    is_vietnamese_syllable,
)

PARTS_AT_MOST = 10_000  # (term, weight)s whose parts of the sums are remembered (typed junk adds terms)
_PART_COLUMNS = ("weight", "evidence weight", "ideal", "ex_ideal", "mass", "known", "domain ideal",
                 "missing", "cover", "domain ex_ideal", "ex_missing", "ex_cover")
"""A term's parts of ``_term_sums`` (``_weighted_part``): its weight in the ranking and as
evidence, then what it adds to each sum."""
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


class TermPart(NamedTuple):
    """One term's part of the sums, per unit of its weight (``EvidenceMixin._term_part``)."""

    row: int  # its postings row, -1 if the index does not know it
    rank_scale: float  # its weight in the ranking per unit of its weight (``Matcher._term_space``)
    ideal: float  # what a topic (an example) matching it fully would score: the rank's ideal
    ex_ideal: float
    scale: float  # its weight as evidence per unit of its weight in the ranking (0: no evidence)
    credit: float
    mass: float  # then its parts of the evidence's sums (``DomainTerms``)
    known: float
    topic_ideal: float
    topic_missing: float
    topic_cover: float
    example_ideal: float
    example_missing: float
    example_cover: float


class TermSums(NamedTuple):
    """A question's terms summed once (``EvidenceMixin._term_sums``)."""

    rows: np.ndarray  # the postings row of each term (an empty one if the index does not know it)
    weights: np.ndarray  # its weight in the ranking
    evidence: np.ndarray  # its weight as evidence (0: none)
    ideal: float  # the ranking's ideal BM25 sums (topic level, example level)
    ex_ideal: float
    domain: DomainTerms


class EvidenceMixin:
    """Evidence and cue methods; ``Matcher`` provides the index they read."""

    def _cue_spans(self, tokens: list[str]) -> list[tuple[int, int]]:
        """The (start, end) token spans of the out-of-scope cues in ``tokens``."""
        spans: list[tuple[int, int]] = []
        starts = self._cue_starts
        if starts.isdisjoint(tokens):
            return spans  # no word a cue starts with: the usual case, one look-up
        cues_acc, cues_fold = self._cues_acc, self._cues_fold
        last = len(tokens) - 1
        for i, tok in enumerate(tokens):
            if tok not in starts:
                continue  # every cue, and every compound cue, starts with one of them
            marked = _has_marks(tok)
            if (tok in cues_acc) if marked else (tok in cues_fold):
                spans.append((i, i + 1))
            if i < last:
                nxt = tokens[i + 1]
                gram = f"{tok} {nxt}"  # marked when either word is
                if (gram in cues_acc) if marked or _has_marks(nxt) else (gram in cues_fold):
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
        if _THIRD_PARTY.isdisjoint(_fold_all(tokens)):
            return False
        if expanded is None:
            expanded = tokens
        return not self._anchored(expanded, _fold_all(expanded), [])

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
        its credit if matched)."""
        folded_space = space == "fold"
        if " " not in term:
            if _is_generic_word(term, folded_space):
                return None
            if folded_space and is_vietnamese_syllable(term):
                return 1.0, FOLD_SYLLABLE_CREDIT
            return 1.0, 1.0
        first, second = term.split(" ")
        generic = (_is_generic_word(first, folded_space), _is_generic_word(second, folded_space))
        known = term in self._postings.rows[space]
        fold_known = self._postings.rows["fold"]
        if all(generic) or (any(generic) and not known):
            return None  # "hôm nay"; "nấu canh" half generic and unknown: no evidence either way
        if not known and not (_fold(first) in fold_known and _fold(second) in fold_known):
            return None  # an unknown word already counts against; do not count it twice
        return EVIDENCE_BIGRAM_SHARE, 1.0

    def _term_part(self, typed: str) -> TermPart:
        """What one term of a question (as typed) adds to the ranking's and the evidence's sums,
        per unit of its weight."""
        space, term, negative = self._term_space(typed)  # negative: accented, found only folded
        rank_scale = FOLDED_FALLBACK if negative else 1.0
        row = self._postings.rows[space].get(term, -1)
        idf, ex_idf, topic_max, example_max = (self._postings.row_facts(row) if row >= 0
                                               else (None, None, 0.0, 0.0))
        share = 1.0 if " " not in term else 0.5  # an unknown bigram counts half
        # an unknown term (or an accented one found only once folded) counts fully against us
        rank_ideal = idf if not negative and idf is not None else share * self._unknown_idf
        rank_ex_ideal = ex_idf if not negative and ex_idf is not None else share * self._ex_unknown_idf
        # an accented term known only once folded is judged as typed ("thời tiết", not "thoi")
        kind = self._evidence_kind("acc", typed) if negative else self._evidence_kind(space, term)
        if kind is None:  # no evidence either way: every part of the evidence 0
            return TermPart(row, rank_scale, rank_ideal, rank_ex_ideal, *(0.0,) * 10)
        kind_share, credit = kind
        scale = 1.0
        if negative:  # accented, unknown as written, known folded: as if typed folded
            scale, credit = 1.0 / FOLDED_FALLBACK, FOLD_SYLLABLE_CREDIT
        mass = known = 0.0
        if kind_share == 1.0:
            # an accented word unknown as written ("đơ") weighs what an unknown word does,
            # though its folded spelling ("do") is known
            mass = self._unknown_idf if idf is None or negative else idf
            known = credit * idf if idf is not None else 0.0
        topic = _term_share(idf, self._unknown_idf, topic_max if idf is not None else 0.0,
                            kind_share, credit)
        example = _term_share(ex_idf, self._ex_unknown_idf, example_max if ex_idf is not None else 0.0,
                              kind_share, credit)
        return TermPart(row, rank_scale, rank_ideal, rank_ex_ideal, scale, credit, mass, known, *topic, *example)

    def _reset_parts(self) -> None:
        """Forget every term's remembered parts (``_term_sums``)."""
        # (term, weight) -> its row of the two tables: the postings row, and its parts of the
        # sums, a fixed 1 MB however many questions come (not a tuple of floats a term)
        self._parts: dict[tuple[str, float], int] = {}
        self._part_rows = np.zeros(PARTS_AT_MOST, dtype=np.intp)
        self._part_values = np.zeros((PARTS_AT_MOST, len(_PART_COLUMNS)))

    def _weighted_part(self, term: tuple[str, float]) -> tuple[int, tuple[float, ...]]:
        """What one (term as typed, weight) of a question adds to each of ``_term_sums``'s sums
        (``_PART_COLUMNS``): ``_term_part`` times its weight, multiplied as a loop over the
        terms would, so the same floats; and its postings row."""
        typed, weight = term
        (row, rank_scale, t_ideal, t_ex_ideal, scale, credit, t_mass, t_known,
         d_ideal_part, missing_part, cover_part, e_ideal_part, e_missing_part, e_cover_part) = self._term_part(typed)
        if row < 0:
            row = self._postings.empty_row  # no postings: adds nothing to the BM25 sums
        weight *= rank_scale
        if not scale:  # a term that is no evidence: 0 in every sum of the evidence
            return row, (weight, 0.0, weight * t_ideal, weight * t_ex_ideal, *(0.0,) * 8)
        w = weight * scale
        return row, (weight, w * credit, weight * t_ideal, weight * t_ex_ideal, t_mass, t_known,
                     w * d_ideal_part, w * missing_part, w * cover_part,
                     w * e_ideal_part, w * e_missing_part, w * e_cover_part)

    def _term_sums(self, terms: list[tuple[str, float]]) -> TermSums:
        """The sums over a question's terms the ranking and the evidence need, whichever topic
        ranks first: each (term, weight)'s parts remembered as a row of a table
        (``_weighted_part``), the question's rows gathered and added up in one numpy call
        (``add.accumulate`` adds in order, as a Python loop over the terms would)."""
        parts = self._parts
        slots = list(map(parts.get, terms))
        extra: list[tuple[int, int, tuple[float, ...]]] = []  # parts not remembered (the memo is full)
        if None in slots:
            for i, term in enumerate(terms):
                if slots[i] is not None or (slot := parts.get(term)) is not None:  # (a term twice)
                    slots[i] = slots[i] if slots[i] is not None else slot
                    continue
                row, values = self._weighted_part(term)
                if len(parts) < len(self._part_rows):  # PARTS_AT_MOST: typed junk must not grow the process
                    slot = parts[term] = len(parts)
                    self._part_rows[slot], self._part_values[slot] = row, values
                else:  # read from row 0, then overwritten
                    slot = 0
                    extra.append((i, row, values))
                slots[i] = slot
        if not slots:
            return TermSums(np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0), 0.0, 0.0,
                            DomainTerms(*(0.0,) * 8))
        rows = self._part_rows.take(slots)
        values = self._part_values.take(slots, axis=0)
        for i, row, found in extra:
            rows[i], values[i] = row, found
        (ideal, ex_ideal, mass, known, d_ideal, missing, cover, d_ex_ideal, ex_missing,
         ex_cover) = np.add.accumulate(values[:, 2:], axis=0)[-1].tolist()
        return TermSums(rows, values[:, 0], values[:, 1], ideal, ex_ideal,
                        DomainTerms(d_ideal, d_ex_ideal, mass, known, cover, ex_cover, missing, ex_missing))

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
        best_example = float(np.maximum.reduce(ex_scores[self._postings.examples_of(best)], initial=0.0))
        example_share = best_example / (max(ex_ideal, ex_floor) * (K1 + 1))
        query = " ".join([tok for tok in folded if tok not in _GENERIC_FOLDED and not tok.isdigit()])
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
    return _lexical_score(topic_share, example_share) + _fuzzy_score(fuzzy)


def _lexical_score(topic_share, example_share):
    """The BM25 part of ``_rank_score``."""
    return (TOPIC_WEIGHT * topic_share / TOPIC_SHARE_FULL
            + EXAMPLE_WEIGHT * example_share / EXAMPLE_SHARE_FULL)


def _fuzzy_score(fuzzy):
    """The fuzzy part of ``_rank_score``."""
    fz = (fuzzy - FUZZY_FLOOR) / (1.0 - FUZZY_FLOOR)
    fz = np.maximum(0.0, fz) if isinstance(fz, np.ndarray) else max(0.0, fz)
    return FUZZY_WEIGHT * fz


def _term_share(idf: float | None, unknown_idf: float, best: float, share: float,
                credit: float) -> tuple[float, float, float]:
    """One term's part of (ideal, missing, cover) per unit of weight, for topics or for example
    questions.

    A known term adds its idf to the ideal and what the best document scores on it to the
    cover; an unknown one adds its known ``share`` of the unknown idf to the ideal and the rest
    to what is missing."""
    if idf is None:
        return share * unknown_idf, (1.0 - share) * unknown_idf, 0.0
    return idf, 0.0, credit * best
