"""Match a citizen's Vietnamese question to a knowledge-base topic, offline and deterministically.

The question is normalised (NFC, lower case, abbreviations, teen code, Nghệ Tĩnh dialect and
synonyms rewritten to one canonical spelling, one-letter typos corrected against the index
vocabulary), then topics are ranked by BM25 over syllable unigrams and bigrams of their title,
example questions and body (examples weigh most), blended with a fuzzy match against the
example questions. A calibrated confidence decides between answering, asking "Có phải bạn
muốn hỏi…?" with a few suggestions, and abstaining on out-of-scope questions.

Ranking uses every word; the confidence only the question's domain words. Generic words
(question words, "hôm nay", "bao nhiêu", "ở đâu"...) are no evidence that a question is about
public services, a syllable typed without diacritics matches weakly on its own ("gia" may be
giá, giả, già), and a question needs about one distinctive word's worth of domain words. So
"gia vang hom nay" abstains although "hôm nay" and "giá" occur in the guides. A few cue words
of the usual out-of-scope subjects (weather, prices, cooking, sport, sums...) lower the
confidence a little; they never decide alone. They are looked for before the phrase synonyms too
("nộp tiền điện" would become "thanh toán điện"), and cut the confidence further when the
question names none of the things this bot is about (DOMAIN_ANCHORS: hồ sơ, lệ phí, thủ tục...).
The name of another company's service (MoMo, Zalo, a bank) counts as a cue only without such
an anchor: "nộp lệ phí bằng momo" is in scope, "ví momo bị khóa" is not.

Every term is looked up in one of two spaces: a term written with diacritics in the accented
index (so "tính" does not match "tỉnh"), a term written without them in the folded index (so
"nop ho so" matches "nộp hồ sơ").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from content.matcher_chargram import CentroidIndex
from content.matcher_text import (
    _ANCHORS,
    _ANCHORS_ACCENTED,
    _KEEP_PHRASES,
    _THIRD_PARTY,
    ACCENTED_ONLY_CUES,
    FILLER,
    OUT_OF_SCOPE_CUES,
    _content_tokens,
    _fold,
    _has_marks,
    _is_generic,
    _strip_html,
    _terms,
    expand_tokens,
    is_vietnamese_syllable,
    normalize_question,  # noqa: F401  (re-exported: tests and the CLI import it from here)
    normalize_tokens,
)

# --- thresholds (calibrated with bench/faq_accuracy.py, see the report in BENCHMARKS.md) -----

ANSWER_THRESHOLD = 0.22
"""Below this confidence the matcher does not answer directly (calibrated on questions written
for the purpose, not on tests/data/questions-holdout*.tsv)."""
CLARIFY_THRESHOLD = 0.22
"""Between this and ANSWER_THRESHOLD (or on a close call) it asks with suggestions; below, abstains."""
CLOSE_CALL_GAP = 0.003
"""A runner-up this close to the winner's rank score is a real tie: ask, do not guess. (Wider
gaps turned more right answers into questions than they saved wrong ones, measured by
cross-validation over the example questions.)"""
KNOWN_BASE = 0.35
"""Confidence = domain evidence x (KNOWN_BASE + (1 - KNOWN_BASE) x share of the question's domain
words the knowledge base knows), times the out-of-scope priors below."""
SHORT_QUESTION_TOKENS = 2
SHORT_TIE_RATIO = 0.10
"""A question of at most SHORT_QUESTION_TOKENS content words ("chứng thực", "phí") names a subject,
not a question about it: runners-up within this share of the winner's rank make a close call."""
SMALL_TALK_TOPICS = frozenset({"bot.about"})
SMALL_TALK_RANK = 0.55
SMALL_TALK_MARGIN = 0.2
"""A topic about the bot itself ("bạn là ai", "mi giúp được chi") is asked in generic words only,
so the domain evidence cannot vouch for it: it is answered when it ranks first with at least
SMALL_TALK_RANK and leads the runner-up by SMALL_TALK_MARGIN, and no out-of-scope cue is used."""
SUGGEST_RATIO = 0.75
"""When unsure but not close, runners-up above this fraction of the winner are suggested too."""
FOLD_SYLLABLE_CREDIT = 0.6
"""Evidence credit of a single syllable typed without diacritics ("gia" is giá, giả, già, gia):
a bigram or a non-Vietnamese token ("vneid", "otp") typed the same way keeps full credit."""
EVIDENCE_FLOOR = 0.6
"""The domain words of a question weigh at least this share of an unknown word's idf when the
confidence divides what the best topic explains by what there is to explain."""
EVIDENCE_BIGRAM_SHARE = 0.5
"""An unknown bigram of two known domain words ("thời tiết": "thời" as in "thời gian", "tiết" as
in "chi tiết") counts this share of an unknown word against the confidence."""
OUT_OF_SCOPE_CUE_FACTOR = 0.5
"""Confidence multiplier for a question using an out-of-scope cue word (see OUT_OF_SCOPE_CUES)."""
UNANCHORED_CUE_FACTOR = 0.6
"""Further multiplier when a question with a cue names none of DOMAIN_ANCHORS ("nộp tiền điện
qua app": paying, but nothing says it is a public-service fee)."""
ARITHMETIC_FACTOR = 0.3
"""Confidence multiplier for a sum such as "12 x 12", "2 cộng 3"."""
COVERAGE_WEIGHT = 0.85
"""The evidence is also taken as this share of how well the knowledge base as a whole explains
the domain words ("lệ phí cấp giấy khai sinh": the fee topic knows "lệ phí", another "khai sinh")."""
FUZZY_CANDIDATES = 8
CENTROID_WEIGHT = 1.0
"""Weight of the cosine with the topic's character n-gram TF-IDF centroid (matcher_chargram)
added to the rank score: it ranks only, the confidence ignores it."""
"""Fuzzy matching is run on the examples of this many best BM25 topics only."""

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

_ARITHMETIC = re.compile(r"\d\s*(?:[-+*/x×:=]|cộng|cong|trừ|tru|nhân|nhan|chia|chia cho)\s*\d", re.IGNORECASE)


class TopicLike(Protocol):
    id: str
    title: str
    examples: Sequence[str]
    body_vi: str


# --- index -----------------------------------------------------------------------------------


@dataclass
class _FieldIndex:
    """BM25 postings for one field in one spelling space: term -> {topic index: tf}."""

    postings: dict[str, dict[int, int]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    avg_len: float = 1.0


@dataclass(frozen=True)
class _Posting:
    """Everything the matcher needs about one term of one spelling space."""

    idf: float | None  # topic level (None: only in the example index... never in practice)
    ex_idf: float | None  # example level (None: only in bodies)
    topics: list[tuple[int, float]]  # (topic, idf x weighted BM25 tf part)
    examples: list[tuple[int, float]]  # (example document, ex_idf x BM25 tf part)
    topic_part: dict[int, float]
    examples_of: dict[int, list[tuple[int, float]]]  # topic -> its example postings
    topic_max: float  # the best topic's part
    example_max: float  # the best example's part


@dataclass(frozen=True)
class MatchResult:
    """What the matcher decided for one question."""

    topic: str | None
    score: float
    suggestions: list[str]
    candidates: list[tuple[str, float]]


MATCH_CACHE_SIZE = 2048  # recent questions whose answers are kept (Matcher.match)


class Matcher:
    """BM25 + fuzzy matcher over the knowledge-base topics."""

    def __init__(self, topics: Mapping[str, TopicLike] | Iterable[TopicLike]) -> None:
        items = list(topics.values()) if isinstance(topics, Mapping) else list(topics)
        normalized: dict[str, list[str]] = {}

        def content_tokens(text: str) -> list[str]:
            if text not in normalized:
                normalized[text] = _content_tokens(normalize_tokens(text))
            return list(normalized[text])

        self.ids: list[str] = [t.id for t in items]
        n = len(items)
        self._n = n
        # per space ("acc", "fold") and field: postings
        self._fields: dict[str, dict[str, _FieldIndex]] = {"acc": {}, "fold": {}}
        field_texts = {
            "title": [[t.title] for t in items],
            "examples": [list(t.examples) for t in items],
            "body": [[_strip_html(t.body_vi)] for t in items],
        }
        df: dict[str, Counter] = {"acc": Counter(), "fold": Counter()}
        topic_terms: dict[str, list[set[str]]] = {"acc": [set() for _ in items], "fold": [set() for _ in items]}
        for fname, per_topic in field_texts.items():
            for space in ("acc", "fold"):
                self._fields[space][fname] = _FieldIndex()
            for idx, texts in enumerate(per_topic):
                acc_terms: list[str] = []
                for text in texts:
                    toks = content_tokens(text)
                    acc_terms.extend(_terms(toks))
                fold_terms = [_fold(term) for term in acc_terms]
                for space, terms in (("acc", acc_terms), ("fold", fold_terms)):
                    index = self._fields[space][fname]
                    index.lengths.append(len(terms))
                    for term, tf in Counter(terms).items():
                        index.postings.setdefault(term, {})[idx] = tf
                    topic_terms[space][idx].update(terms)
        for space in ("acc", "fold"):
            for index in self._fields[space].values():
                index.avg_len = (sum(index.lengths) / len(index.lengths)) if index.lengths else 1.0
            for terms in topic_terms[space]:
                df[space].update(terms)
        # BM25 idf per space (document = topic, all fields)
        self._idf: dict[str, dict[str, float]] = {
            space: {term: math.log(1 + (n - d + 0.5) / (d + 0.5)) ** IDF_POWER for term, d in counts.items()}
            for space, counts in df.items()
        }
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5) ** IDF_POWER
        # precomputed per-term contributions: term -> list of (topic, weighted bm25 tf part)
        self._contrib: dict[str, dict[str, list[tuple[int, float]]]] = {"acc": {}, "fold": {}}
        self._contrib_map: dict[str, dict[str, dict[int, float]]] = {"acc": {}, "fold": {}}
        for space in ("acc", "fold"):
            merged: dict[str, dict[int, float]] = defaultdict(dict)
            for fname, index in self._fields[space].items():
                weight = FIELD_WEIGHTS[fname]
                for term, post in index.postings.items():
                    slot = merged[term]
                    for idx, tf in post.items():
                        norm = K1 * (1 - B + B * index.lengths[idx] / index.avg_len)
                        slot[idx] = slot.get(idx, 0.0) + weight * tf * (K1 + 1) / (tf + norm)
            self._contrib[space] = {term: list(post.items()) for term, post in merged.items()}
            self._contrib_map[space] = dict(merged)
        self._max_field_weight = sum(FIELD_WEIGHTS.values()) * (K1 + 1)  # saturation everywhere
        self._vocab_fold = sorted({t for t in self._idf["fold"] if " " not in t and len(t) >= 3})
        self._vocab_fold_set = set(self._vocab_fold)
        self._topic_terms = topic_terms
        # fuzzy: folded canonical example questions (and titles), per topic; and the same
        # without the generic words, for the confidence
        self._fuzzy_choices: list[list[str]] = []
        self._domain_choices: list[list[str]] = []
        for t in items:
            keys: list[str] = []
            domain_keys: list[str] = []
            for text in (t.title, *t.examples):
                folded_tokens = [_fold(tok) for tok in content_tokens(text)]
                if folded_tokens:
                    keys.append(" ".join(folded_tokens))
                domain = " ".join(tok for tok in folded_tokens if not _is_generic(tok))
                if domain:
                    domain_keys.append(domain)
            self._fuzzy_choices.append(keys)
            self._domain_choices.append(domain_keys)
        # example level: every example question (and the title) is its own BM25 document
        self._ex_owner: list[int] = []
        ex_terms: list[list[str]] = []
        for idx, t in enumerate(items):
            for text in (t.title, *t.examples):
                terms = _terms(content_tokens(text))
                if terms:
                    ex_terms.append(terms)
                    self._ex_owner.append(idx)
        self._centroids = CentroidIndex(
            [(idx, [_fold(tok) for tok in content_tokens(text)])
             for idx, t in enumerate(items) for text in (t.title, *t.examples)], n)
        m = len(ex_terms)
        avg = (sum(map(len, ex_terms)) / m) if m else 1.0
        self._ex_contrib: dict[str, dict[str, list[tuple[int, float]]]] = {"acc": {}, "fold": {}}
        self._ex_idf: dict[str, dict[str, float]] = {}
        for space in ("acc", "fold"):
            postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
            for doc, terms in enumerate(ex_terms):
                if space == "fold":
                    terms = [_fold(term) for term in terms]
                norm = K1 * (1 - B + B * len(terms) / avg)
                for term, tf in Counter(terms).items():
                    postings[term].append((doc, tf * (K1 + 1) / (tf + norm)))
            self._ex_contrib[space] = dict(postings)
            self._ex_idf[space] = {
                term: math.log(1 + (m - len(post) + 0.5) / (len(post) + 0.5)) ** IDF_POWER
                for term, post in postings.items()
            }
        self._ex_unknown_idf = math.log(1 + (m + 0.5) / 0.5) ** IDF_POWER
        self._m = m
        # one look-up per query term: idf, topic postings and example postings with the idf
        # multiplied in, and the example postings grouped by topic (for the confidence)
        self._post: dict[str, dict[str, _Posting]] = {"acc": {}, "fold": {}}
        for space in ("acc", "fold"):
            idf_of, ex_idf_of = self._idf[space], self._ex_idf[space]
            for term in idf_of.keys() | ex_idf_of.keys():
                idf = idf_of.get(term)
                ex_idf = ex_idf_of.get(term)
                topic_post = [(idx, idf * part) for idx, part in self._contrib[space].get(term, ())]
                ex_post = [(doc, ex_idf * part) for doc, part in self._ex_contrib[space].get(term, ())]
                by_topic: dict[int, list[tuple[int, float]]] = defaultdict(list)
                for doc, part in ex_post:
                    by_topic[self._ex_owner[doc]].append((doc, part))
                self._post[space][term] = _Posting(
                    idf, ex_idf, topic_post, ex_post, dict(topic_post), dict(by_topic),
                    max((part for _, part in topic_post), default=0.0),
                    max((part for _, part in ex_post), default=0.0))
        self._kinds: dict[tuple[str, str], tuple[float, float] | None] = {}
        cues = [unicodedata.normalize("NFC", c).replace("_", " ") for c in OUT_OF_SCOPE_CUES.split()]
        self._cues_acc = frozenset(c for c in cues if c not in self._idf["acc"])
        accented_only = {unicodedata.normalize("NFC", c).replace("_", " ")
                         for c in ACCENTED_ONLY_CUES.split()}
        self._cues_fold = frozenset(_fold(c) for c in cues
                                    if _fold(c) not in self._idf["fold"] and c not in accented_only)
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)
        # Whole answers of recent questions: matching is deterministic and people ask the same
        # few things again and again (≈0.4 ms a question saved; bench/e2e_throughput.py).
        self._match_cached = lru_cache(maxsize=MATCH_CACHE_SIZE)(self._match_uncached)

    @classmethod
    def from_kb(cls, kb) -> Matcher:
        """Build from a ``content.kb.KnowledgeBase``."""
        return cls(kb.topics)

    # -- typo tolerance ------------------------------------------------------------------------

    def _correct_uncached(self, token: str) -> str | None:
        """Return the vocabulary term one edit away from folded ``token``, if exactly one fits best."""
        if len(token) < 4 or token in self._vocab_fold_set or is_vietnamese_syllable(token):
            return None  # a real syllable the knowledge base does not use is no typo
        if not any(ch in "aeiouy" for ch in token):
            return None  # no vowel: an acronym ("thpt", "gtvt"), not a misspelt word
        found = process.extract(token, self._vocab_fold, scorer=OSA.distance, score_cutoff=1, limit=8)
        # a generic word is no correction worth making: "taxi" is not "tại"
        found = [hit for hit in found if not _is_generic(hit[0])]
        if not found:
            return None
        idf = self._idf["fold"]
        # prefer the commonest term among equally close ones: most likely meant
        found.sort(key=lambda hit: (hit[1], -1 / idf.get(hit[0], 1.0), hit[0]))
        return found[0][0]

    # -- matching ------------------------------------------------------------------------------

    def _query_content_tokens(self, tokens: list[str]) -> list[str]:
        """_content_tokens, but a filler typed without diacritics that makes a known bigram with
        a neighbour is a content syllable after all ("phan anh" is "phản ánh", not "anh")."""
        if " ".join(tokens) in _KEEP_PHRASES:
            return tokens
        bigrams = self._idf["fold"]
        kept = []
        for i, tok in enumerate(tokens):
            if tok in FILLER:
                prev = _fold(tokens[i - 1]) + " " if i else None
                nxt = " " + _fold(tokens[i + 1]) if i + 1 < len(tokens) else None
                if not ((prev and prev + tok in bigrams) or (nxt and tok + nxt in bigrams)):
                    continue
            kept.append(tok)
        return kept

    def _query_terms(self, question: str, expanded: list[str] | None = None
                     ) -> tuple[list[tuple[str, str, float, str]], list[str], list[str]]:
        """Return [(space, term, weight, term as typed)], the folded content tokens and all
        normalised tokens. A negative weight marks an accented term looked up folded."""
        normalized = normalize_tokens(question, expanded)
        tokens = self._query_content_tokens(normalized)
        weights = [1.0] * len(tokens)
        folded = [_fold(tok) for tok in tokens]
        fold_vocab = self._idf["fold"]
        for i, ftok in enumerate(folded):
            if ftok not in fold_vocab:
                fixed = self._correct(ftok)
                if fixed is not None:
                    tokens[i] = folded[i] = fixed
                    weights[i] = TYPO_WEIGHT
        acc_idf = self._idf["acc"]
        out: list[tuple[str, str, float, str]] = []
        grams: list[tuple[str, float]] = [(tok, w) for tok, w in zip(tokens, weights)]
        grams.extend(
            (f"{a} {b}", BIGRAM_WEIGHT * min(wa, wb))
            for (a, wa), (b, wb) in zip(zip(tokens, weights), zip(tokens[1:], weights[1:]))
        )
        for term, weight in grams:
            if _has_marks(term):
                if term in acc_idf:
                    out.append(("acc", term, weight, term))
                else:  # e.g. a wrong tone mark: half credit, but the confidence counts it unknown
                    out.append(("fold", _fold(term), -weight * FOLDED_FALLBACK, term))
            else:
                out.append(("fold", term, weight, term))
        return out, folded, normalized

    def _scores(self, terms: list[tuple[str, str, float, str]], folded: list[str]
                ) -> tuple[list[float], list[float], list[float], str]:
        """Return per topic: BM25 share of the ideal (topic level), same (best example), fuzzy;
        then the normalised query.
        """
        n = self._n
        bm25 = [0.0] * n
        ex_scores = [0.0] * self._m
        ideal = ex_ideal = 0.0
        unknown_idf, ex_unknown_idf = self._unknown_idf, self._ex_unknown_idf
        for space, term, weight, _typed in terms:
            share = 1.0 if " " not in term else 0.5  # an unknown bigram counts half
            known_as_written = weight > 0
            if not known_as_written:
                weight = -weight
            post = self._post[space].get(term)
            if post is None:
                ideal += weight * share * unknown_idf
                ex_ideal += weight * share * ex_unknown_idf
                continue
            idf = post.idf
            if not known_as_written or idf is None:
                # unknown (or accented term found only once folded): counts fully against us
                ideal += weight * share * unknown_idf
            else:
                ideal += weight * idf
            for idx, part in post.topics:
                bm25[idx] += weight * part
            ex_idf = post.ex_idf
            if not known_as_written or ex_idf is None:
                ex_ideal += weight * share * ex_unknown_idf
            else:
                ex_ideal += weight * ex_idf
            for doc, part in post.examples:
                ex_scores[doc] += weight * part
        query = " ".join(folded)
        if not query or ideal <= 0:
            return [0.0] * n, [0.0] * n, [0.0] * n, ""
        scale = 1.0 / (ideal * self._max_field_weight)
        topic_share = [score * scale for score in bm25]
        example_share = [0.0] * n
        scale = 1.0 / (ex_ideal * (K1 + 1))
        owner = self._ex_owner
        for doc, score in enumerate(ex_scores):
            if score > 0.0:
                share = score * scale
                if share > example_share[owner[doc]]:
                    example_share[owner[doc]] = share
        fuzzy = [0.0] * n
        lexical = [TOPIC_WEIGHT * t / TOPIC_SHARE_FULL + EXAMPLE_WEIGHT * e / EXAMPLE_SHARE_FULL
                   for t, e in zip(topic_share, example_share)]
        for idx in sorted(range(n), key=lexical.__getitem__, reverse=True)[:FUZZY_CANDIDATES]:
            hit = process.extractOne(query, self._fuzzy_choices[idx], scorer=fuzz.token_sort_ratio,
                                     score_cutoff=30)
            if hit is not None:
                fuzzy[idx] = hit[1] / 100.0
        return topic_share, example_share, fuzzy, query

    def _cue_spans(self, tokens: list[str]) -> list[tuple[int, int]]:
        """The (start, end) token spans of the out-of-scope cues in ``tokens``."""
        spans = []
        cues_acc, cues_fold = self._cues_acc, self._cues_fold
        for i, tok in enumerate(tokens):
            for size in (1, 2):
                if i + size > len(tokens):
                    break
                gram = tok if size == 1 else f"{tok} {tokens[i + 1]}"
                if (gram in cues_acc) if _has_marks(gram) else (gram in cues_fold):
                    spans.append((i, i + size))
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
            known = term in self._post[space]
            fold_known = self._post["fold"]
            if all(generic) or (any(generic) and not known):
                kind = None  # "hôm nay"; "nấu canh" half generic and unknown: no evidence either way
            elif not known and not (_fold(first) in fold_known and _fold(second) in fold_known):
                kind = None  # an unknown word already counts against; do not count it twice
            else:
                kind = (EVIDENCE_BIGRAM_SHARE, 1.0)
        if len(self._kinds) < 100_000:
            self._kinds[key] = kind
        return kind

    def _evidence(self, terms: list[tuple[str, str, float, str]], folded: list[str], best: int
                  ) -> tuple[float, float, float, float, float]:
        """How well topic ``best`` explains the question's domain words, ignoring generic ones.

        Return the same three features as the ranking (topic BM25 share, best example share,
        fuzzy ratio), computed over the non-generic terms only, the idf-weighted share of
        those terms the knowledge base knows, and the rank score the whole knowledge base would
        get (each term explained by whichever topic explains it best). A question made of generic words only ("hôm nay
        bao nhiêu") scores 0. A single syllable typed without diacritics earns only
        FOLD_SYLLABLE_CREDIT: "gia" in "gia vang" matching "giá trị" or "giả mạo" is weak evidence.
        """
        ideal = ex_ideal = mass = known = score = cover = ex_cover = missing = ex_missing = 0.0
        ex_scores: dict[int, float] = {}
        unknown_idf, ex_unknown_idf = self._unknown_idf, self._ex_unknown_idf
        for space, term, weight, typed in terms:
            # an accented term known only once folded is judged as typed ("thời tiết", not "thoi")
            kind = self._evidence_kind("acc", typed) if weight < 0 else self._evidence_kind(space, term)
            if kind is None:
                continue
            share, credit = kind
            accented_unknown = weight < 0
            if weight < 0:  # accented, unknown as written, known folded: as if typed folded
                weight = -weight / FOLDED_FALLBACK
                credit = FOLD_SYLLABLE_CREDIT
            post = self._post[space].get(term)
            idf = post.idf if post is not None else None
            if share == 1.0:
                # an accented word unknown as written ("đơ") weighs what an unknown word does,
                # though its folded spelling ("do") is known
                mass += unknown_idf if idf is None or accented_unknown else idf
                if idf is not None:
                    known += credit * idf
            if idf is None:
                ideal += weight * share * unknown_idf
                missing += weight * (1.0 - share) * unknown_idf
            else:
                ideal += weight * idf
                score += credit * weight * post.topic_part.get(best, 0.0)
                cover += credit * weight * post.topic_max
            ex_idf = post.ex_idf if post is not None else None
            if ex_idf is None:
                ex_ideal += weight * share * ex_unknown_idf
                ex_missing += weight * (1.0 - share) * ex_unknown_idf
            else:
                ex_ideal += weight * ex_idf
                ex_cover += credit * weight * post.example_max
                for doc, part in post.examples_of.get(best, ()):
                    ex_scores[doc] = ex_scores.get(doc, 0.0) + credit * weight * part
        if ideal <= 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        # a question needs about one distinctive word's worth of domain words to be sure of
        # anything: "12 nhân 12" is all explained by "nhận" but that is not enough
        floor = EVIDENCE_FLOOR * self._unknown_idf
        topic_share = score / (max(ideal, floor) * self._max_field_weight)
        ex_floor = EVIDENCE_FLOOR * self._ex_unknown_idf
        example_share = max(ex_scores.values(), default=0.0) / (max(ex_ideal, ex_floor) * (K1 + 1))
        query = " ".join(tok for tok in folded if not _is_generic(tok))
        hit = process.extractOne(query, self._domain_choices[best], scorer=fuzz.token_sort_ratio,
                                 score_cutoff=30) if query else None
        fuzzy = hit[1] / 100.0 * min(1.0, ideal / floor) if hit else 0.0
        # the whole knowledge base explains more than any one topic, so it gets no benefit of
        # the doubt: an unknown pair of known words ("thời tiết") counts as fully unknown
        coverage = _rank_score(cover / (max(ideal + missing, floor) * self._max_field_weight),
                               ex_cover / (max(ex_ideal + ex_missing, ex_floor) * (K1 + 1)), fuzzy)
        return topic_share, example_share, fuzzy, known / mass if mass else 0.0, coverage

    def match(self, question: str) -> MatchResult:
        """Return the topic to answer, or suggestions, or nothing (abstain)."""
        found = self._match_cached(question or "")
        # Fresh lists, so a caller changing them cannot change the cached answer.
        return MatchResult(found.topic, found.score, list(found.suggestions), list(found.candidates))

    def _match_uncached(self, question: str) -> MatchResult:
        if not self._n:
            return MatchResult(None, 0.0, [], [])
        expanded = expand_tokens(question or "")
        terms, folded, normalized = self._query_terms(question or "", expanded)
        topic_share, example_share, fuzzy, query = self._scores(terms, folded)
        if not query:
            return MatchResult(None, 0.0, [], [])
        rank = [_rank_score(*features) + CENTROID_WEIGHT * cos for features, cos
                in zip(zip(topic_share, example_share, fuzzy), self._centroids.scores(folded))]
        order = sorted(range(self._n), key=lambda i: (-rank[i], i))
        candidates = [(self.ids[i], round(min(1.0, rank[i]), 4)) for i in order[:5]]
        best = order[0]
        if rank[best] <= 0:
            return MatchResult(None, 0.0, [], candidates)
        d_topic, d_example, d_fuzzy, known, coverage = self._evidence(terms, folded, best)
        evidence = max(_rank_score(d_topic, d_example, d_fuzzy), COVERAGE_WEIGHT * coverage)
        conf = min(1.0, evidence) * (KNOWN_BASE + (1 - KNOWN_BASE) * known)
        if _ARITHMETIC.search(question):
            conf *= ARITHMETIC_FACTOR
        elif conf >= CLARIFY_THRESHOLD and self._has_cue(normalized, expanded):
            conf *= OUT_OF_SCOPE_CUE_FACTOR
            if not self._anchored(expanded, [_fold(tok) for tok in expanded],
                                  self._cue_spans(expanded)):
                conf *= UNANCHORED_CUE_FACTOR
        if (conf < ANSWER_THRESHOLD and self.ids[best] in SMALL_TALK_TOPICS
                and rank[best] >= SMALL_TALK_RANK and rank[best] - rank[order[1]] >= SMALL_TALK_MARGIN
                and not self._has_cue(normalized, expanded) and not _ARITHMETIC.search(question)):
            return MatchResult(self.ids[best], ANSWER_THRESHOLD, [], candidates)
        if conf < CLARIFY_THRESHOLD:
            return MatchResult(None, conf, [], candidates)
        gap = CLOSE_CALL_GAP
        if len(folded) <= SHORT_QUESTION_TOKENS:
            gap = max(gap, SHORT_TIE_RATIO * rank[best])
        close = [i for i in order[1:3] if rank[best] - rank[i] < gap]
        if conf < ANSWER_THRESHOLD or close:
            suggestions = [self.ids[best]] + [self.ids[i] for i in close]
            if not close:
                suggestions += [self.ids[i] for i in order[1:3] if rank[i] >= SUGGEST_RATIO * rank[best]]
            return MatchResult(None, conf, suggestions, candidates)
        return MatchResult(self.ids[best], conf, [], candidates)


def _rank_score(topic_share: float, example_share: float, fuzzy: float) -> float:
    """Blend the three pieces of evidence into one score; about 0..1, above 1 for sure hits.

    ``topic_share`` is the topic's BM25F score over the score of a topic matching every query
    term at saturation in every field (unknown terms count fully), so it falls when a question
    is about something the knowledge base never mentions; ``example_share`` is the same for the
    single best example question; ``fuzzy`` the best token-sort ratio against the examples.
    """
    fz = max(0.0, (fuzzy - FUZZY_FLOOR) / (1.0 - FUZZY_FLOOR))
    return (TOPIC_WEIGHT * topic_share / TOPIC_SHARE_FULL
            + EXAMPLE_WEIGHT * example_share / EXAMPLE_SHARE_FULL
            + FUZZY_WEIGHT * fz)


def answer_questions(matcher: Matcher, questions: Iterable[str]) -> list[dict]:
    """Match each question; one dict per question for ``python -m bot ask [--json]``."""
    results = []
    for question in questions:
        found = matcher.match(question)
        results.append(
            {
                "question": question,
                "topic": found.topic,
                "score": round(found.score, 4),
                "suggestions": list(found.suggestions),
            }
        )
    return results
