"""Match a citizen's Vietnamese question to a knowledge-base topic, offline and deterministically.

The question is normalised (NFC, lower case, abbreviations, teen code, Nghệ Tĩnh dialect and
synonyms rewritten to one canonical spelling, one-letter typos corrected against the index
vocabulary), then topics are ranked by BM25 over syllable unigrams and bigrams of their title,
example questions and body (examples weigh most), blended with a fuzzy match against the
example questions, a character n-gram centroid (matcher_chargram) and a linear model learned
from the example questions and the sentences of the answers at start-up (matcher_learned), which also learns everyday questions
the bot does not answer (content/lexicon/out_of_scope.toml) as one more class. One calibrated
confidence (matcher_calibration: a logistic function of the domain evidence below and of that
out-of-scope probability, fitted by bench/calibrate_matcher.py) decides between answering,
asking "Có phải bạn muốn hỏi…?" with up to three topics, and abstaining; a tie between the two
best topics is always asked, and so is a confident answer whose topic leads the second by less than
the calibration's lead threshold (a close call: most confident wrong answers are). A question in English is
matched against the English example questions instead (matcher_english); one asking for a
person goes to help.contact (smalltalk). What a message says is not asked ("không phải lệ phí hồ sơ,
tôi hỏi …", "… chứ không phải tra cứu", "à nhầm, …") is left out first (matcher_contrast). The word tables are data in content/lexicon/*.toml
(matcher_text loads them); the evidence and cue rules are in matcher_evidence. Questions people
really typed, from held-out files already scored blind (content/lexicon/asked.tsv,
scripts/retire_questions.py), are learned as more examples of their topic by the topic-level
BM25, the learned model and the English side (not by the fuzzy match or the example-level BM25).

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
import os
import re
import unicodedata
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from content import matcher_cache, matcher_calibration, smalltalk
from content.match_result import MatchResult
from content.matcher_asked import asked_questions, taught_topics
from content.matcher_bm25 import PostingArrays, tf_parts
from content.matcher_chargram import CentroidIndex, Vectoriser, encode
from content.matcher_contrast import asked_part
from content.matcher_english import EnglishMatcher
from content.matcher_evidence import (  # noqa: F401  (the weights are re-exported for tuning)
    BIGRAM_WEIGHT,
    EXAMPLE_SHARE_FULL,
    EXAMPLE_WEIGHT,
    FIELD_WEIGHTS,
    FOLD_SYLLABLE_CREDIT,
    FOLDED_FALLBACK,
    FUZZY_FLOOR,
    FUZZY_WEIGHT,
    IDF_POWER,
    K1,
    TOPIC_SHARE_FULL,
    TOPIC_WEIGHT,
    TYPO_WEIGHT,
    B,
    EvidenceMixin,
    TermPart,
    TermSums,
    _fuzzy_score,
    _lexical_score,
    _rank_score,
)
from content.matcher_learned import LearnedIndex
from content.matcher_scam import scam_signs
from content.matcher_text import (
    _KEEP_PHRASES,
    _TOKEN,
    ACCENTED_ONLY_CUES,
    FILLER,
    OUT_OF_SCOPE_CUES,
    OUT_OF_SCOPE_EXAMPLES,
    WISHES,
    WISHES_FIRST,
    _content_tokens,
    _fold,
    _fold_all,
    _has_marks,
    _is_generic,
    _strip_html,
    _terms,
    asks,
    body_sentences,
    expand_tokens,
    is_vietnamese_syllable,
    normalize_question,  # noqa: F401  (re-exported: tests and the CLI import it from here)
    normalize_tokens,
    question_words,
    untelex,
)
from content.text import fold_diacritics

# --- the confidence's parts (the decision itself: content/matcher_calibration.py) -----------

TELEX_WEIGHT = 1.0
"""The weight of a word typed with its Telex or VNI keys left in (``untelex``): no typo, the word
meant (a typo corrected weighs TYPO_WEIGHT). 1.0 took 2 more right than 0.7 on batch t22 (dev data)."""
KNOWN_BASE = 0.35
"""Confidence = domain evidence x (KNOWN_BASE + (1 - KNOWN_BASE) x share of the question's domain
words the knowledge base knows), times the out-of-scope priors below."""
SHORT_QUESTION_TOKENS = 2
"""A question of at most this many content words ("chứng thực", "phí") names a subject, not a
question about it: the learned model does not rank it, the calibration knows it is one."""
LONG_WORDS = 20
"""A message of more content words tells a story around its question ("tui 60 tuổi, ở thôn …,
hôm qua …, vậy giờ phải làm răng"): its domain words are a smaller share of it, so the evidence
confidence reads lower than for the same question asked alone. The calibration's feature "long",
log(1 + the words beyond this), lets it learn how much lower. 20 was chosen over every length and
over 12 on dev batches never taught: BENCHMARKS.md, "twentieth session"."""
HELP_TOPIC = "help.contact"
SMALL_TALK_TOPICS = frozenset({"bot.about"})
SMALL_TALK_RANK = 0.55
SMALL_TALK_MARGIN = 0.2
SMALL_TALK_OUTSIDE = 0.2
"""A topic about the bot itself ("bạn là ai", "mi giúp được chi") is asked in generic words only,
so the domain evidence cannot vouch for it: it is answered when it ranks first with at least
SMALL_TALK_RANK and leads the runner-up by SMALL_TALK_MARGIN, no out-of-scope cue is used, and the
learned model gives the out-of-scope class less than SMALL_TALK_OUTSIDE. That last condition came
on 05/12/2026 (eleventh session): read before they were taught, holdout23–30 had four chats with
the bot answered this way ("bot có ny chưa 😜", "Bot ơi nay ngày mấy âm lịch", "tết ni được nghỉ
mấy ngày": out-of-scope probability 0.66, 0.80, 0.88) beside its right ones ("mi la ai rua",
"bạn là ai vậy": 0.001, 0.006)."""
SUGGESTIONS = 3
"""A "did you mean" offers at most this many topics."""
TIE_GAP = 0.003
"""A runner-up this close to the winner's rank score is a tie: ask, whatever the confidence."""
SHORT_TIE_RATIO = 0.10
"""A question of at most SHORT_QUESTION_TOKENS content words ("chứng thực", "phí") names a subject,
not a question about it: runners-up within this share of the winner's rank make a tie."""
OUT_OF_SCOPE_CUE_FACTOR = 0.5
"""Confidence multiplier for a question using an out-of-scope cue word (see OUT_OF_SCOPE_CUES)."""
UNANCHORED_CUE_FACTOR = 0.6
"""Further multiplier when a question with a cue names none of DOMAIN_ANCHORS ("nộp tiền điện
qua app": paying, but nothing says it is a public-service fee)."""
ARITHMETIC_FACTOR = 0.0
"""Confidence multiplier for a sum such as "12 x 12", "2 cộng 3": none, a sum is no question about
public services (with no evidence the calibrated thresholds always abstain). It was 0.3 until
05/12/2026 (tenth session), when "tính 5 cộng 7" was asked back with three topics, and the pattern
below also caught dates and dossier codes ("10/10", "H40.23-241105-0012": 24 in-scope questions of
the question files had their confidence cut); numbers now stand alone and "-", "/", ":" are not
operators (a range "1-2 ngày", a date "5/9", a time "8:30")."""
COVERAGE_WEIGHT = 0.85
"""The evidence is also taken as this share of how well the knowledge base as a whole explains
the domain words ("lệ phí cấp giấy khai sinh": the fee topic knows "lệ phí", another "khai sinh")."""
FUZZY_CANDIDATES = 2
"""Fuzzy matching is run on the examples of this many best BM25 topics only. 05/12/2026,
cross-validation over the 1,689 Vietnamese examples, ranked first: 8 topics 92.90 %, 4 92.90 %,
2 92.78 %, 1 93.01 %, none 92.07 %; the tuned-on question files the same within two questions;
2 instead of 8 spares a quarter of the Vietnamese question's time (the rapidfuzz call and its
lists were its largest part)."""
CENTROID_WEIGHT = 1.0
"""Weight of the cosine with the topic's character n-gram TF-IDF centroid (matcher_chargram)
added to the rank score: it ranks only, the confidence ignores it."""
LEARNED_WEIGHT = 1.0
"""Weight of the learned model's topic probability (matcher_learned) added to the rank score."""
BODY_SENTENCE_TOKENS = 3
"""A sentence of an answer body with at least this many words is one more example for the
learned model (cross-validation: 85.6 % -> 88.0 % ranked first; 4 words: 87.3 %, 6: 86.7 %)."""
_SENTENCE_END = re.compile(r"(?<=[.!?…,;])\s+|\s*\n+\s*")
"""Where a message's sentences and clauses end: after ".", "!", "?", "…", "," or ";" and a space, or
at a line break (not inside "0912.345.678", "12.5" or "12,5"). Clauses too, not only sentences: "Hôm
nay 28 Tết, bên xã còn ai trực không, tui cần người hướng dẫn nộp hồ sơ" is one sentence whose first
clause, a moment of the year, pulls the whole towards out of scope. 07/12/2026 (twenty-third
session), on two batches written to teach (t41: moments that push people to act; t42: seasons of the
year), before they were taught: sentences only 95.1 / 96.9 / 98.7 and 91.7 / 93.4 / 100 %, clauses
too 96.9 / 97.8 / 98.7 and 94.3 / 95.2 / 100 % (top-1 / served / abstention); every other stored
question not sealed: 8 more right, 1 asked back now answered wrong, 2 out of scope now answered
(BENCHMARKS.md, twenty-third session)."""
SENTENCE_OUTSIDE = 0.65
"""A long message is answered by one of its sentences only if the learned model gives the whole
message a probability of being out of scope under this. 06/12/2026, on the retired held-out files
and two batches written to teach (t20: long messages with personal details; t21: what the screen
says), before they were taught: without this condition the sentences answered 34 more questions
right and 15 out-of-scope ones wrongly (all but two of those at 0.72 or more); with it, 32 and 1."""
ASKED_ELSEWHERE_OUTSIDE = 0.7
"""A long message is not answered by one of its clauses if another clause asks something
(``matcher_text.asks``) that, read alone, is not answered, nor asked back, and reads out of scope
with at least this probability: "em vừa nộp hồ sơ trên dvc xong, mà cho em hỏi quán bún bò mô
ngon" mentions an errand and asks about food. 07/12/2026 (twenty-fourth session), on two batches
written to teach and read before any change (t43: 150 such messages and 150 in scope; t44: a
question inside a longer message) and every stored question not sealed, out-of-scope messages
answered from a clause / right answers lost: 0.5 removed 28 / 2, 0.7 removed 26 / 1, 0.8 removed 22
/ 1 (the one lost: "The portal keeps saying ..., is it down or is it my internet?", its question
alone 0.84 out of scope). BENCHMARKS.md, twenty-fourth session."""
ANSWERED_OUTSIDE = 0.1
"""A message answered whole (or asked back: its "did you mean" topics, since the twenty-sixth
session) is read clause by clause too when the learned model gives it a
probability of being out of scope of at least this: if no clause that asks is answered (or asked
back) with its topic, and another asks what the bot does not answer (ASKED_ELSEWHERE_OUTSIDE), it
is not answered ("Tui nộp hồ sơ lý lịch tư pháp trên VNeID rồi, đang chờ phiếu. Cho hỏi học lái xe ô
tô ở mô rẻ?", the test's).
07/12/2026, same data: 0.0 removed 6 such answers on t43 and lost 7 right stored answers; 0.1
removed 5 and lost none, and reads the clauses of 41 of the 4,311 stored answered messages of two
clauses or more (the cost); 0.1 with ASKED_ELSEWHERE_OUTSIDE at 0.5: 10 removed, 2 right lost."""
SCAM_TOPIC = "safety.scam"
SCAM_WEIGHT = 0.3
"""Added to SCAM_TOPIC's rank when a message about public services (DOMAIN_ANCHORS) shows a
scam's signs (``matcher_scam.scam_signs``: a link outside .gov.vn, an app file, a prize, a
stranger…); if SCAM_TOPIC then ranks first, it is the answer, whatever the confidence (the words
of a pasted scam name procedures and fees, not the scam). 07/12/2026, on t30 (pasted text, a batch
written to teach and kept as dev data) and every stored question: 0.3 and 0.6 alone each changed
1 answer to right (0.6 lost 3 on the sealed files' counts); with the answer rule, 3 right, 1 changed
from none (a victim asking whether the police can get the money back: safety.scam says whom to
tell). BENCHMARKS.md, nineteenth session."""
PERSON_OUTSIDE = 0.3
"""A wish for a person to help ("nhờ ai … giúp") is answered with HELP_TOPIC unless the learned
model gives the message a probability of being out of scope of at least this (an errand of another
world: "nhờ ai dịch hợp đồng", "can someone help me fix my laptop"). How it was chosen (errands of
another world read 0.398–0.97, wishes about public services 0.00–0.21 but one): BENCHMARKS.md,
nineteenth and twenty-first sessions."""
SENTENCE_MIN_WORDS = 3
"""A sentence or clause of fewer words is no question of its own ("Cảm ơn.", "Chào bot.")."""
_ARITHMETIC = re.compile(r"(?<![\w.,/-])\d+(?:[.,]\d+)*\s*(?:[+*x×=]|cộng|cong|trừ|tru|nhân|nhan|chia(?: cho)?)"
                         r"\s*\d+(?:[.,]\d+)*(?![\w.,/-])", re.IGNORECASE)


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


def default_cache_dir() -> Path:
    """Where the learned weights and the whole built matcher (matcher_cache) are kept between starts."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hatinh-dvc-bot"


MATCH_CACHE_SIZE = 2048  # recent questions whose answers are kept (Matcher.match)


def _memo(method, maxsize: int):
    """``lru_cache`` over a bound method that does not keep its object alive: the cache holds the
    method weakly. ``lru_cache(maxsize)(self.method)`` stored on ``self`` is a reference cycle (the
    object holds the cache, the cache holds the object), so a dropped matcher (hundreds of MB)
    waited for the cycle collector: a loop building matchers (cross-validation, a test suite) grew
    by one matcher a turn (6.7 GB for tests/test_matcher.py's ten folds before this)."""
    ref = weakref.WeakMethod(method)

    def call(arg):
        return ref()(arg)

    return lru_cache(maxsize=maxsize)(call)


class Matcher(EvidenceMixin):
    """BM25 + fuzzy matcher over the knowledge-base topics."""

    def __init__(self, topics: Mapping[str, TopicLike] | Iterable[TopicLike],
                 cache_dir: Path | None = None,
                 out_of_scope: tuple[Sequence[str], Sequence[str]] = OUT_OF_SCOPE_EXAMPLES,
                 asked: Sequence[tuple[str, str | None]] | None = None) -> None:
        """``cache_dir``: where what is learned from the examples is kept between starts;
        ``out_of_scope``: everyday questions the bot does not answer (Vietnamese, English),
        learned as one more class; ``asked``: questions people typed (``content/lexicon/asked.tsv``)
        and written to teach, each learned as one more example of its topic, or of the out-of-scope
        class (None: ``asked_questions()``, both files)."""
        asked = asked_questions() if asked is None else asked
        items = list(topics.values()) if isinstance(topics, Mapping) else list(topics)
        # the asked questions teach the topic-level BM25, the learned model and the English side;
        # the fuzzy match and the example-level BM25 read only the examples as written (with the
        # asked ones too: 0.3 point better on held-out files, 12 % slower; BENCHMARKS.md)
        taught, out_of_scope = taught_topics(items, out_of_scope, asked)
        normalized: dict[str, list[str]] = {}

        def content_tokens(text: str) -> list[str]:
            if text not in normalized:
                normalized[text] = _content_tokens(normalize_tokens(text))
            return list(normalized[text])

        self.ids: list[str] = [t.id for t in items]
        n = len(items)
        self._n = n
        # per space ("acc", "fold") and field: postings
        fields: dict[str, dict[str, _FieldIndex]] = {"acc": {}, "fold": {}}
        field_texts = {
            "title": [[t.title] for t in items],
            "examples": [list(t.examples) for t in taught],
            "body": [[_strip_html(t.body_vi)] for t in items],
        }
        df: dict[str, Counter] = {"acc": Counter(), "fold": Counter()}
        topic_terms: dict[str, list[set[str]]] = {"acc": [set() for _ in items], "fold": [set() for _ in items]}
        for fname, per_topic in field_texts.items():
            for space in ("acc", "fold"):
                fields[space][fname] = _FieldIndex()
            for idx, texts in enumerate(per_topic):
                acc_terms: list[str] = []
                for text in texts:
                    toks = content_tokens(text)
                    acc_terms.extend(_terms(toks))
                fold_terms = [_fold(term) for term in acc_terms]
                for space, terms in (("acc", acc_terms), ("fold", fold_terms)):
                    index = fields[space][fname]
                    index.lengths.append(len(terms))
                    for term, tf in Counter(terms).items():
                        index.postings.setdefault(term, {})[idx] = tf
                    topic_terms[space][idx].update(terms)
        for space in ("acc", "fold"):
            for index in fields[space].values():
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
        contrib: dict[str, dict[str, list[tuple[int, float]]]] = {"acc": {}, "fold": {}}
        for space in ("acc", "fold"):
            merged: dict[str, dict[int, float]] = defaultdict(dict)
            for fname, index in fields[space].items():
                weight = FIELD_WEIGHTS[fname]
                for term, post in index.postings.items():
                    slot = merged[term]
                    for idx, tf in post.items():
                        norm = K1 * (1 - B + B * index.lengths[idx] / index.avg_len)
                        slot[idx] = slot.get(idx, 0.0) + weight * tf * (K1 + 1) / (tf + norm)
            contrib[space] = {term: list(post.items()) for term, post in merged.items()}
        self._max_field_weight = sum(FIELD_WEIGHTS.values()) * (K1 + 1)  # saturation everywhere
        self._vocab_fold = sorted({t for t in self._idf["fold"] if " " not in t and len(t) >= 3})
        self._vocab_fold_set = set(self._vocab_fold)
        # fuzzy: folded canonical example questions (and titles), per topic; and the same
        # without the generic words, for the confidence
        fuzzy_choices: list[list[str]] = []
        domain_choices: list[list[str]] = []
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
            fuzzy_choices.append(keys)
            domain_choices.append(domain_keys)
        # example level: every example question (and the title) is its own BM25 document
        self._ex_owner: list[int] = []
        ex_terms: list[list[str]] = []
        for idx, t in enumerate(items):
            for text in (t.title, *t.examples):
                terms = _terms(content_tokens(text))
                if terms:
                    ex_terms.append(terms)
                    self._ex_owner.append(idx)
        docs = [(idx, [_fold(tok) for tok in content_tokens(text)])
                for idx, t in enumerate(taught) for text in (t.title, *t.examples)]
        # the out-of-scope questions are class n of the learned model (and share its vocabulary)
        docs += [(n, [_fold(tok) for tok in content_tokens(text)]) for text in out_of_scope[0]]
        centred = len(docs)
        # the learned model also reads each sentence of the answers (of BODY_SENTENCE_TOKENS
        # words or more) as an example of its topic; the centroids are the questions' alone
        for idx, t in enumerate(items):
            for sentence in body_sentences(t.body_vi):
                tokens = [_fold(tok) for tok in content_tokens(sentence)]
                if len(tokens) >= BODY_SENTENCE_TOKENS:
                    docs.append((idx, tokens))
        encoded = encode(docs)  # counted once for both
        self._centroids = CentroidIndex(encoded, n + 1, centred)
        self._learned = LearnedIndex(docs, n + 1, cache_dir, encoded)
        del encoded
        self._english = EnglishMatcher(taught, cache_dir, out_of_scope[1], out_of_scope[0])
        m = len(ex_terms)
        ex_contrib: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self._ex_idf: dict[str, dict[str, float]] = {}
        for space in ("acc", "fold"):
            space_terms = ex_terms if space == "acc" else [[_fold(t) for t in terms] for terms in ex_terms]
            postings = ex_contrib[space] = tf_parts(space_terms, K1, B)
            self._ex_idf[space] = {
                term: math.log(1 + (m - len(post) + 0.5) / (len(post) + 0.5)) ** IDF_POWER
                for term, post in postings.items()
            }
        self._ex_unknown_idf = math.log(1 + (m + 0.5) / 0.5) ** IDF_POWER
        self._m = m
        # one row per (space, term): its idfs, its postings with the idf multiplied in
        self._postings = PostingArrays(self._idf, self._ex_idf, contrib, ex_contrib,
                                       self._ex_owner, n)
        # fuzzy matching compares the sorted tokens (token_sort_ratio = ratio of sorted tokens):
        # sorted once here, not for every question
        self._sorted_choices = [[" ".join(sorted(key.split())) for key in keys]
                                for keys in fuzzy_choices]
        self._sorted_domain = [[" ".join(sorted(key.split())) for key in keys]
                               for keys in domain_choices]
        self._calibration = matcher_calibration.load()
        self._vectoriser = Vectoriser(self._centroids.vocab, self._centroids.idf)
        # the centroids and the learned weights side by side: one product scores both (the two
        # indexes then keep views of it, not copies of their own, and one vocab)
        self._joint = None
        if self._learned.same_features(self._centroids.vocab, self._centroids.idf):
            self._joint = np.hstack([self._centroids.matrix, self._learned.weights]).astype(np.float32)
            self._centroids.adopt(self._joint[:, : n + 1])
            self._learned.adopt(self._joint[:, n + 1 :], self._centroids.vocab)
        self._reset_parts()  # per (term, weight) of a question, its parts of the sums (_term_sums)
        cues = [unicodedata.normalize("NFC", c).replace("_", " ") for c in OUT_OF_SCOPE_CUES.split()]
        self._cues_acc = frozenset(c for c in cues if c not in self._idf["acc"])
        accented_only = {unicodedata.normalize("NFC", c).replace("_", " ")
                         for c in ACCENTED_ONLY_CUES.split()}
        self._cues_fold = frozenset(_fold(c) for c in cues
                                    if _fold(c) not in self._idf["fold"] and c not in accented_only)
        self._cue_starts = frozenset(c.split(" ")[0] for c in self._cues_acc | self._cues_fold)
        self._correct = _memo(self._correct_uncached, 4096)
        # Whole answers of recent questions: matching is deterministic and people ask the same
        # few things again and again (≈0.4 ms a question saved; bench/e2e_throughput.py).
        self._match_cached = _memo(self._match_uncached, MATCH_CACHE_SIZE)

    @classmethod
    def from_kb(cls, kb, cache_dir: Path | None = None) -> Matcher:
        """The matcher of a ``content.kb.KnowledgeBase``: read whole from ``cache_dir`` (default:
        ``$XDG_CACHE_HOME/hatinh-dvc-bot``, else ``~/.cache/…``) if built there before from the
        same content and code (``matcher_cache``), else built, with what is learned cached."""
        cache_dir = cache_dir or default_cache_dir()
        topics = list(kb.topics.values()) if isinstance(kb.topics, Mapping) else list(kb.topics)
        key = matcher_cache.index_key(topics, OUT_OF_SCOPE_EXAMPLES)
        found, _cached = matcher_cache.load_or_build(cls, lambda: cls(topics, cache_dir), key, cache_dir)
        return found

    def __getstate__(self) -> dict:
        """What ``matcher_cache`` keeps: the index, without the memos of answers and typos."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_correct", "_match_cached", "_parts", "_part_rows", "_part_values")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)  # the calibration too: its file is part of the cache key
        self._reset_parts()
        if self._joint is not None:  # pickled as copies: the views of the one joint array again
            self._centroids.adopt(self._joint[:, : self._n + 1])
            self._learned.adopt(self._joint[:, self._n + 1 :], self._centroids.vocab)
        self._correct = _memo(self._correct_uncached, 4096)
        self._match_cached = _memo(self._match_uncached, MATCH_CACHE_SIZE)

    # -- typo tolerance ------------------------------------------------------------------------

    def _correct_uncached(self, token: str) -> tuple[str, float] | None:
        """Return the vocabulary term folded ``token`` spells with its Telex or VNI keys taken out
        (``untelex``: "toasn" -> "toan") and TELEX_WEIGHT (no typo: it weighs fully), or the term
        one edit away from it, if exactly one fits best, and TYPO_WEIGHT; None if neither."""
        decoded = untelex(token)
        if decoded is not None and decoded in self._idf["fold"]:
            return decoded, TELEX_WEIGHT
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
        return found[0][0], TYPO_WEIGHT

    # -- matching ------------------------------------------------------------------------------

    def _query_content_tokens(self, tokens: list[str]) -> list[str]:
        """_content_tokens, but a filler typed without diacritics that makes a known bigram with
        a neighbour is a content syllable after all ("phan anh" is "phản ánh", not "anh")."""
        if " ".join(tokens) in _KEEP_PHRASES:
            return tokens
        if FILLER.isdisjoint(tokens):
            return list(tokens)  # no filler word: all kept (the usual case)
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
                     ) -> tuple[list[tuple[str, float]], list[str], list[str]]:
        """Return [(term as typed, weight)]: the unigrams, then the bigrams; the folded content
        tokens and all normalised tokens. Where a term is looked up is ``_term_space``'s."""
        normalized = normalize_tokens(question, expanded)
        tokens = self._query_content_tokens(normalized)
        weights = [1.0] * len(tokens)
        folded = _fold_all(tokens)
        fold_vocab = self._idf["fold"]
        if all(map(fold_vocab.__contains__, folded)):  # no typo to correct (the usual case)
            grams = list(zip(tokens, weights))
            grams.extend([(f"{a} {b}", BIGRAM_WEIGHT) for a, b in zip(tokens, tokens[1:])])
            return grams, folded, normalized
        for i, ftok in enumerate(folded):
            if ftok not in fold_vocab:
                fixed = self._correct(ftok)
                if fixed is not None:
                    tokens[i] = folded[i] = fixed[0]
                    weights[i] = fixed[1]
        grams = list(zip(tokens, weights))
        grams.extend((f"{a} {b}", BIGRAM_WEIGHT * min(wa, wb)) for (a, wa), (b, wb) in zip(grams, grams[1:]))
        return grams, folded, normalized

    def _term_space(self, typed: str) -> tuple[str, str, bool]:
        """Where a term of a question is looked up: (space, term, found only folded). A term
        written with diacritics is looked up in the accented index, as written (so "tính" does
        not match "tỉnh"); if unknown there (e.g. a wrong tone mark), folded, for half credit
        (FOLDED_FALLBACK), and the confidence counts it unknown. A term without diacritics is
        looked up folded."""
        folded = " ".join(map(_fold, typed.split(" ")))
        if folded == typed:
            return "fold", typed, False
        if typed in self._idf["acc"]:
            return "acc", typed, False
        return "fold", folded, True

    def _scores(self, sums: TermSums, folded: list[str]
                ) -> tuple[np.ndarray, str, tuple[np.ndarray, np.ndarray]]:
        """Return per topic the lexical rank score (``_rank_score`` of its BM25 share of the
        ideal at topic level, the same for its best example, and its fuzzy ratio); then the
        normalised query, and the BM25 sums per topic and per example of the terms weighted by
        their evidence weights (the confidence's).
        """
        n = self._n
        query = " ".join(folded)
        if not query or sums.ideal <= 0:
            return np.zeros(n), "", (np.zeros(n), np.zeros(self._m))
        (bm25, ex_scores), evidence_sums = self._postings.scores(sums.rows, sums.weights, sums.evidence)
        topic_share = bm25 * (1.0 / (sums.ideal * self._max_field_weight))
        # the best example's score times a positive constant: the best of the scaled scores
        example_share = self._postings.best_example(ex_scores) * (1.0 / (sums.ex_ideal * (K1 + 1)))
        rank = _lexical_score(topic_share, example_share)
        for topic, ratio in self._fuzzy(query, rank):
            score = _fuzzy_score(ratio)
            if score:  # 0 for the ratios under FUZZY_FLOOR, and for every other topic
                rank[topic] += score
        return rank, query, evidence_sums

    def _fuzzy(self, query: str, lexical: np.ndarray) -> list[tuple[int, float]]:
        """token_sort_ratio (0..1) of the question against the examples of each of the
        FUZZY_CANDIDATES best topics by ``lexical`` that has examples, when at least FUZZY_FLOOR
        (a ratio under it adds nothing to the rank): one rapidfuzz ``extractOne`` a topic, with
        FUZZY_FLOOR as its cut-off, which it raises to the best ratio found so far and so skips
        most examples unread (a quarter faster than one ``cdist`` of both topics' examples
        without a cut-off; the same best ratios)."""
        sorted_choices = self._sorted_choices
        sorted_query = " ".join(sorted(query.split()))
        found = []
        for topic in _best(lexical, FUZZY_CANDIDATES):
            if sorted_choices[topic]:
                hit = process.extractOne(sorted_query, sorted_choices[topic], scorer=fuzz.ratio,
                                         score_cutoff=FUZZY_FLOOR * 100.0)
                if hit is not None:
                    found.append((topic, hit[1] / 100.0))
        return found

    def _cosines_and_probabilities(self, folded: list[str], short: bool) -> tuple[np.ndarray, np.ndarray, float]:
        """Per topic: the cosine with its n-gram centroid, the learned model's probability among
        the topics (the same for all if the question is ``short``, a bare subject); and the
        learned probability that the question is out of scope."""
        n = self._n
        vector = self._vectoriser.vector(folded)
        if vector is not None and self._joint is not None:
            idx, vals = vector
            both = vals @ self._joint.take(idx, axis=0)
            cosines = both[:n]
            # the softmax, and the probabilities among the topics, from the same numerators
            exp = self._learned.exp_logits(both[n + 1 :])
            total = float(np.add.reduce(exp))
            outside_exp = float(exp[n])
            outside = outside_exp / total
            probs = exp[:n] / ((total - outside_exp) if 0.0 < outside < 1.0 else total)
        else:
            cosines = self._centroids.scores(folded, vector)[:n]
            learned = self._learned.probabilities(folded)
            outside = float(learned[n]) if learned.any() else 0.0
            probs = learned[:n] / (1.0 - outside) if 0.0 < outside < 1.0 else learned[:n]
        if short:
            probs = np.full(n, 1.0 / n)
        return cosines, probs, outside

    def match(self, question: str) -> MatchResult:
        """Return the topic to answer, or suggestions, or nothing (abstain)."""
        found = self._match_cached(question or "")
        # Fresh lists, so a caller changing them cannot change the cached answer.
        return MatchResult(found.topic, found.score, list(found.suggestions), list(found.candidates),
                           found.margin, found.language, found.features)

    def _match_uncached(self, question: str) -> MatchResult:
        # what the message says is not asked is left out ("không phải lệ phí hồ sơ, tôi hỏi …")
        question = asked_part(question) or question
        question = without_pleasantries(question)  # "chúc bot mạnh khỏe, cho hỏi …": the question
        found = self._read(question)
        if found.topic is None and found.candidates:
            focused = self._question_part(question, found)
            if focused is not None:
                return focused
        # answered, or asked back, with the errand a clause mentions in passing while the clause
        # that asks is of another world: no answer, and no "did you mean" either
        offered = [found.topic] if found.topic is not None else found.suggestions
        if offered and _outside(found) >= ANSWERED_OUTSIDE and self._asked_elsewhere_only(question, offered):
            return MatchResult(None, found.score, [], found.candidates, found.margin, found.language,
                               found.features)
        return found

    def _asked_elsewhere_only(self, question: str, offered: list[str]) -> bool:
        """Whether the clauses of ``question`` that ask (``asks``; two clauses or more) leave out every
        topic ``offered`` (none is answered or asked back with one) and one of them asks what the bot
        does not answer (``_asks_elsewhere``): the topics offered come from an errand mentioned in passing."""
        parts = _clauses(question)
        asking = [part for part in parts if asks(part)] if len(parts) >= 2 else []
        reads = list(map(self._read, asking))  # only the clauses that ask decide
        return bool(reads) and not any(read.topic in offered or not set(offered).isdisjoint(read.suggestions)
                                       for read in reads) and _asks_elsewhere(asking, reads)

    def _question_part(self, question: str, whole: MatchResult) -> MatchResult | None:
        """A long message whose details ("tôi là …, 54 tuổi, ở xã …, số điện thoại …") drown its
        question: the answer of one of its sentences or clauses (``_SENTENCE_END``), read alone,
        when it is answered and its topic is the one the whole message ranks first; None if none
        is, if another clause asks what the bot does not answer (ASKED_ELSEWHERE_OUTSIDE), or if
        the whole message reads as out of scope (SENTENCE_OUTSIDE), has an out-of-scope cue or a
        sum in it (then the whole message decides)."""
        if not whole.features or _outside(whole) >= SENTENCE_OUTSIDE:
            return None  # the learned model reads the whole message as out of scope: it is
        parts = _clauses(question)
        if len(parts) < 2 or _ARITHMETIC.search(question):
            return None
        words = question_words(question)
        expanded = expand_tokens(question, words)
        if self._has_cue(normalize_tokens(question, expanded), expanded):
            return None
        ranked_first = whole.candidates[0][0]
        reads = list(map(self._read, parts))
        answers = [found for found in reads if found.topic == ranked_first]
        if not answers or _asks_elsewhere(parts, reads):
            return None  # no clause answers, or another asks what the bot does not answer
        best = max(answers, key=lambda found: found.score)
        return MatchResult(best.topic, best.score, [], whole.candidates, best.margin, best.language, best.features)

    def _read(self, question: str, person: bool = True) -> MatchResult:
        """The answer to ``question``; ``person``: a wish for a person to help is looked for."""
        if not self._n:
            return MatchResult(None, 0.0, [], [])
        words = question_words(question)  # found once for the three readings below, if the same
        if person and HELP_TOPIC in self.ids and smalltalk.wants_person(question, words):
            # "có ai đến giúp không", "I can't do it alone": where to find a person, unless the
            # errand is of another world ("nhờ ai dịch hợp đồng lao động"): then read as any other
            found = self._read(question, person=False)
            if _outside(found) >= PERSON_OUTSIDE:
                return found
            return MatchResult(HELP_TOPIC, 1.0, [], [(HELP_TOPIC, 1.0)], 1.0,
                               "en" if self._english.reads_english(question, words) else "vi")
        if self._english.ready and self._english.reads_english(question, words):
            best, conf, suggested, ranked, features = self._english.decide(question, self._calibration["en"])
            return MatchResult(None if best is None else self.ids[best], conf,
                               [self.ids[i] for i in suggested],
                               [(self.ids[i], p) for i, p in ranked], 0.0, "en", features)
        expanded = expand_tokens(question or "", words)
        terms, folded, normalized = self._query_terms(question or "", expanded)
        sums = self._term_sums(terms)
        domain = sums.domain
        rank_array, query, evidence_sums = self._scores(sums, folded)
        if not query:
            return MatchResult(None, 0.0, [], [])
        # a bare subject ("thanh toán") names no question: the learned model would pick the
        # sibling with most examples, so it ranks only questions of more words
        short = len(folded) <= SHORT_QUESTION_TOKENS
        cosines, probs_array, outside = self._cosines_and_probabilities(folded, short)
        rank_array += cosines if CENTROID_WEIGHT == 1.0 else CENTROID_WEIGHT * cosines
        rank_array += probs_array if LEARNED_WEIGHT == 1.0 else LEARNED_WEIGHT * probs_array
        scam = (SCAM_TOPIC in self.ids and scam_signs(question, words) > 0
                and self._anchored(expanded, _fold_all(expanded), []))
        if scam:
            # a pasted message with a scam's signs, about public services: is it real? (matcher_scam)
            rank_array[self.ids.index(SCAM_TOPIC)] += SCAM_WEIGHT
        order = (-rank_array).argsort(kind="stable").tolist()
        rank = rank_array.tolist()
        probs = probs_array.tolist()
        candidates = [(self.ids[i], round(min(1.0, rank[i]), 4)) for i in order[:5]]
        best = order[0]
        if rank[best] <= 0:
            return MatchResult(None, 0.0, [], candidates)
        margin = probs[best] - max(probs[:best] + probs[best + 1 :], default=0.0)
        d_topic, d_example, d_fuzzy, known, coverage = self._evidence(domain, *evidence_sums, folded, best)
        evidence = max(_rank_score(d_topic, d_example, d_fuzzy), COVERAGE_WEIGHT * coverage)
        conf = min(1.0, evidence) * (KNOWN_BASE + (1 - KNOWN_BASE) * known)
        if _ARITHMETIC.search(question):
            conf *= ARITHMETIC_FACTOR
        elif self._has_cue(normalized, expanded):
            conf *= OUT_OF_SCOPE_CUE_FACTOR
            if not self._anchored(expanded, _fold_all(expanded),
                                  self._cue_spans(expanded)):
                conf *= UNANCHORED_CUE_FACTOR
        runner_up = order[1] if self._n > 1 else best
        beyond = max(0, len(folded) - LONG_WORDS)  # the words of a story around the question
        features = (conf, min(rank[best], 2.0), rank[best] - rank[runner_up], probs[best], margin,
                    float(short), outside, math.log1p(beyond))
        calibration = self._calibration["vi"]
        probability = calibration.probability(features)
        lead = rank[best] - rank[runner_up]
        decision = calibration.decide(probability, lead)  # a close call: ask
        if scam and self.ids[best] == SCAM_TOPIC:
            decision = "answer"  # "is this real?" about a message with a scam's signs: warn at once
        if decision == "answer" and lead < tie_gap(rank[best], short):
            decision = "clarify"  # a tie: ask, do not guess
        if (decision != "answer" and self.ids[best] in SMALL_TALK_TOPICS and outside < SMALL_TALK_OUTSIDE
                and rank[best] >= SMALL_TALK_RANK and rank[best] - rank[runner_up] >= SMALL_TALK_MARGIN
                and not _ARITHMETIC.search(question) and not self._has_cue(normalized, expanded)):
            return MatchResult(self.ids[best], calibration.answer, [], candidates, margin, "vi", features)
        if decision == "abstain":
            return MatchResult(None, probability, [], candidates, margin, "vi", features)
        if decision == "clarify":
            # the best-ranked topic, the learned model's favourite if another, then the runners-up
            favourite = max(range(self._n), key=probs.__getitem__)
            choices = list(dict.fromkeys([best, favourite, *order[1:SUGGESTIONS]]))[:SUGGESTIONS]
            return MatchResult(None, probability, [self.ids[i] for i in choices], candidates, margin,
                               "vi", features)
        return MatchResult(self.ids[best], probability, [], candidates, margin, "vi", features)


def _clauses(question: str) -> list[str]:
    """The sentences and clauses of ``question`` (``_SENTENCE_END``) long enough to ask something."""
    return [part for part in _SENTENCE_END.split(question) if len(part.split()) >= SENTENCE_MIN_WORDS]


_PLEASANTRY_HINT = re.compile(r"\b(?:" + "|".join(sorted({re.escape(fold_diacritics(p)) for p in (*WISHES_FIRST, *WISHES)}))
                              + r")\b")
"""Any wish, folded, as whole words: a message without one is left as it is (one search)."""
_WISHES_FIRST = tuple(tuple(p.split()) for p in WISHES_FIRST)
_WISHES = tuple(tuple(p.split()) for p in WISHES)


def _names_wish(words: list[str]) -> bool:
    """Whether ``words`` (lower case, NFC) open with one of WISHES_FIRST or hold one of WISHES, as
    typed: a word typed with marks as written ("chục" is not "chúc"), one without them folded."""
    def at(i: int, phrase: tuple[str, ...]) -> bool:
        return i + len(phrase) <= len(words) and all(
            words[i + k] == word or (not _has_marks(words[i + k]) and words[i + k] == _fold(word))
            for k, word in enumerate(phrase))

    return (any(at(0, phrase) for phrase in _WISHES_FIRST)
            or any(at(i, phrase) for phrase in _WISHES for i in range(len(words))))


def without_pleasantries(question: str) -> str:
    """``question`` without its clauses of good wishes ("Đầu năm mới, chúc bot mạnh khỏe, cho hỏi
    tra cứu hồ sơ ở đâu" -> "cho hỏi tra cứu hồ sơ ở đâu"): a clause (``_SENTENCE_END``) that opens
    with one of WISHES_FIRST or names one of WISHES (``_names_wish``), asks nothing (``asks``) and
    names nothing this bot is about (``EvidenceMixin._anchored``) is left out, when a clause that
    asks is left; else ``question`` as it is (and so is a message with scam signs). Read whole, such wishes made the learned model read the message as out of scope
    (twenty-sixth session: 5 of 10 such messages refused, 3 before the teaching of that session).
    Greetings are not left out: "xin chào, …" is how many ask what the bot does (bot.about)."""
    if _PLEASANTRY_HINT.search(fold_diacritics(question.lower())) is None:
        return question  # no wish in it: the usual case
    if scam_signs(question, question_words(question)) > 0:
        return question  # "Chúc mừng quý khách đã trúng thưởng…" pasted: the wish is the scam's
    parts = [part for part in _SENTENCE_END.split(question) if part.strip()]
    if len(parts) < 2:
        return question
    kept = []
    for part in parts:
        words = _TOKEN.findall(unicodedata.normalize("NFC", part).lower())
        if _names_wish(words) and not asks(part):
            expanded = expand_tokens(part, words)
            if not EvidenceMixin._anchored(expanded, _fold_all(expanded), []):
                continue  # a wish, and nothing more
        kept.append(part)
    if len(kept) == len(parts) or not any(map(asks, kept)):
        return question
    return " ".join(kept)


def _asks_elsewhere(parts: list[str], reads: list[MatchResult]) -> bool:
    """Whether one of ``parts`` (read alone: ``reads``) asks something the bot does not answer: it
    asks (``asks``), is neither answered nor asked back, and reads out of scope with a probability of
    at least ASKED_ELSEWHERE_OUTSIDE."""
    return any(read.topic is None and not read.suggestions and _outside(read) >= ASKED_ELSEWHERE_OUTSIDE
               and asks(part) for part, read in zip(parts, reads))


def _outside(found: MatchResult) -> float:
    """The learned model's probability that the message ``found`` answers is out of scope (0 if
    it was not read: no features)."""
    if not found.features:
        return 0.0
    names = matcher_calibration.EN_FEATURES if found.language == "en" else matcher_calibration.VI_FEATURES
    return found.features[names.index("out_of_scope")]


def tie_gap(best_rank: float, bare_subject: bool) -> float:
    """The lead under which the runner-up ties with the best topic: TIE_GAP, or for a bare subject
    SHORT_TIE_RATIO of the best rank (bench/calibrate_matcher.py applies the same rule)."""
    return max(TIE_GAP, SHORT_TIE_RATIO * best_rank) if bare_subject else TIE_GAP


def _best(scores: np.ndarray, count: int) -> list[int]:
    """The ``count`` highest of ``scores`` (none of them NaN or -inf), ties by index: what
    ``(-scores).argsort(kind="stable")[:count]`` gives, in ``count`` passes of ``max`` (the
    first of the highest) instead of a sort of every topic."""
    if count >= len(scores):
        return (-scores).argsort(kind="stable").tolist()
    # a few dozen topics: a Python list's max and index (the first of the highest) beat numpy's
    left = scores.tolist()
    found = []
    for _ in range(count):
        found.append(left.index(max(left)))
        left[found[-1]] = -math.inf
    return found


def answer_questions(matcher: Matcher, questions: Iterable[str]) -> list[dict]:
    """Match each question; one dict per question for ``python -m bot ask [--json]``. As the bot
    does, thanks, "ok" and a lone abbreviation get their own reply before the matcher is asked:
    no topic, and ``small_talk`` says which kind."""
    results = []
    for question in questions:
        kind = smalltalk.answered_by_itself(question)
        if kind is not None:  # the matcher is not asked, as in the bot
            results.append({"question": question, "topic": None, "score": 0.0, "suggestions": [],
                            "small_talk": str(kind)})
            continue
        found = matcher.match(question)
        results.append({"question": question, "topic": found.topic, "score": round(found.score, 4),
                        "suggestions": list(found.suggestions)})
    return results
