"""Character n-gram TF-IDF centroids: a ranking signal robust to typos and word order.

Every example question and title of a topic (normalised and folded, as the BM25 index sees it)
becomes a TF-IDF vector of its character 2-, 3- and 4-grams (with word boundaries) plus its
syllable unigrams and bigrams; a topic's centroid is the normalised sum of its unit vectors. A
question scores the cosine with each centroid. Measured by cross-validation over the example
questions (bench/faq_accuracy.py), adding it to the BM25 rank lifts top-1 ranking by about 3
points, mostly on sibling topics told apart by a word or two ("phí" / "ở đâu" / "dùng lại").
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHAR_SIZES = (3, 4)
_TF = [0.0] + [1 + math.log(count) for count in range(1, 64)]


def features(folded_tokens: Sequence[str]) -> Counter:
    """Character n-grams of " tok tok " and the syllable uni/bigrams of folded tokens."""
    out: Counter = Counter()
    if not folded_tokens:
        return out
    text = " " + " ".join(folded_tokens) + " "
    for size in CHAR_SIZES:
        for i in range(len(text) - size + 1):
            out["c" + text[i : i + size]] += 1
    out.update("w" + tok for tok in folded_tokens)
    out.update(f"b{a} {b}" for a, b in zip(folded_tokens, folded_tokens[1:]))
    return out


def query_vector(folded_tokens: Sequence[str], vocab: dict[str, int], idf: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The unit TF-IDF vector of a question over ``vocab``: (columns, values), None if empty."""
    get = vocab.get
    cols: list[int] = []
    tfs: list[float] = []
    for key, count in features(folded_tokens).items():
        col = get(key)
        if col is not None:
            cols.append(col)
            tfs.append(_TF[min(count, 63)])
    if not cols:
        return None
    idx = np.array(cols, dtype=np.int64)
    vals = np.array(tfs, dtype=np.float64) * idf[idx]
    return idx, vals / math.sqrt(float(vals @ vals))


TOKENS_AT_MOST = 5_000  # tokens, token pairs and junctions whose feature columns are remembered
_TF_ARRAY = np.array(_TF)


class Vectoriser:
    """``query_vector`` with each token's and each pair of neighbours' features looked up once.

    The n-grams of " tok tok " are those inside one " tok " and those with a space inside them
    (not at an end), which span two neighbours and depend on those two only (n <= 4): both kinds
    are remembered, so a question costs a few dictionary look-ups. The same vector up to the
    order of its columns (sums over it may differ in the last bit).

    Columns are remembered as the bytes of C int arrays (``array("i")``, numpy's ``intc``): a
    question's columns are then one ``b"".join`` and one ``np.frombuffer``, not a list of Python
    ints converted by ``np.array``, and a remembered entry is a third smaller. A pair of
    neighbours seen for the first time (most are: a question has a dozen, people type thousands)
    costs two look-ups, not a dozen: the n-grams across the space read at most two letters
    either side of it, so they are remembered by those letters (a few thousand combinations),
    and its bigram is one look-up."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self._vocab = vocab
        self._idf = idf
        self._tokens: dict[str, bytes] = {}
        self._pairs: dict[tuple[str, str], bytes] = {}
        self._junctions: dict[str, bytes] = {}

    def _known(self, grams: list[str]) -> bytes:
        return array("i", [col for col in map(self._vocab.get, grams) if col is not None]).tobytes()

    def _token_columns(self, token: str) -> bytes:
        """Columns of the n-grams inside " token " and of the token itself."""
        cols = self._tokens.get(token)
        if cols is None:
            text = f" {token} "
            cols = self._known(["c" + text[i : i + size] for size in CHAR_SIZES
                                for i in range(len(text) - size + 1)] + ["w" + token])
            if len(self._tokens) < TOKENS_AT_MOST:
                self._tokens[token] = cols
        return cols

    def _junction_columns(self, text: str) -> bytes:
        """Columns of the n-grams with the space of ``text`` (two characters, a space, two
        characters: the end of " first", the start of "second ") strictly inside them."""
        cols = self._junctions.get(text)
        if cols is None:
            # windows starting inside the first two characters with the space (2) strictly inside
            cols = self._known(["c" + text[start : start + size] for size in CHAR_SIZES
                                for start in range(max(0, 4 - size), 2)])
            if len(self._junctions) < TOKENS_AT_MOST:
                self._junctions[text] = cols
        return cols

    def _pair_columns(self, first: str, second: str) -> bytes:
        """Columns of the n-grams across the space between two neighbours, and of the bigram."""
        cols = self._pairs.get((first, second))
        if cols is None:
            cols = self._junction_columns(f"{f' {first}'[-2:]} {f'{second} '[:2]}")
            bigram = self._vocab.get(f"b{first} {second}")
            if bigram is not None:
                cols += array("i", (bigram,)).tobytes()
            if len(self._pairs) < TOKENS_AT_MOST:
                self._pairs[(first, second)] = cols
        return cols

    def vector(self, folded_tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The unit TF-IDF vector of a question over the vocab: (columns, values), None if empty."""
        # the remembered columns looked up in one pass each; the others found and remembered
        tokens = list(map(self._tokens.get, folded_tokens))
        if None in tokens:
            tokens = [self._token_columns(token) if known is None else known
                      for token, known in zip(folded_tokens, tokens)]
        neighbours = list(zip(folded_tokens, folded_tokens[1:]))
        pairs = list(map(self._pairs.get, neighbours))
        if None in pairs:
            pairs = [self._pair_columns(*pair) if known is None else known
                     for pair, known in zip(neighbours, pairs)]
        tokens += pairs
        joined = b"".join(tokens)
        if not joined:
            return None
        # the distinct columns and how often each occurs: sorted, then cut where they change
        ordered = np.sort(np.frombuffer(joined, dtype=np.intc))
        change = np.empty(len(ordered) + 1, dtype=bool)
        change[0] = change[-1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=change[1:-1])
        firsts = change.nonzero()[0]
        if len(firsts) > len(ordered):  # every column once: tf 1
            idx, vals = ordered, self._idf[ordered]
        else:
            idx = ordered[firsts[:-1]]
            counts = firsts[1:] - firsts[:-1]
            if len(ordered) > 63:
                np.minimum(counts, 63, out=counts)
            vals = _TF_ARRAY[counts]
            vals *= self._idf[idx]
        return idx, vals / math.sqrt(float(vals @ vals))


@dataclass
class Encoded:
    """Documents as feature columns: the vocab (first occurrence order), the idf, and per
    non-empty document (its number, owner, columns, 1 + log of each count)."""

    vocab: dict[str, int]
    idf: np.ndarray
    rows: list[tuple[int, int, np.ndarray, np.ndarray]]


def encode(docs: Sequence[tuple[int, Sequence[str]]]) -> Encoded:
    """Count each document's ``features`` and keep only its columns and weights: one document's
    counter alive at a time, so learning leaves no heap of small objects behind."""
    vocab: dict[str, int] = {}
    rows = []
    for number, (owner, tokens) in enumerate(docs):
        feats = features(tokens)
        if feats:
            cols = np.fromiter((vocab.setdefault(key, len(vocab)) for key in feats), dtype=np.int64,
                               count=len(feats))
            counts = np.fromiter(feats.values(), dtype=np.int64, count=len(feats))
            rows.append((number, owner, cols, _TF_ARRAY[np.minimum(counts, 63)]))
    df = np.bincount(np.concatenate([row[2] for row in rows]), minlength=len(vocab)) if rows else np.zeros(0)
    idf = np.log((1 + len(rows)) / (1 + df)) + 1
    return Encoded(vocab, idf, rows)


class CentroidIndex:
    """Cosine of a question with each topic's TF-IDF centroid."""

    def __init__(self, encoded: Encoded, n_topics: int, centred: int | None = None) -> None:
        """``encoded``: the example questions and titles (``encode``); only documents numbered
        under ``centred`` (all by default) make the centroids, all make the vocab and idf."""
        vocab, idf = encoded.vocab, encoded.idf
        centroids = np.zeros((len(vocab), n_topics), dtype=np.float64)
        for number, owner, cols, tf in encoded.rows:
            if centred is not None and number >= centred:
                continue  # in the vocab and idf, not in a centroid
            vals = tf * idf[cols]
            centroids[cols, owner] += vals / np.linalg.norm(vals)
        norms = np.linalg.norm(centroids, axis=0)
        norms[norms == 0] = 1.0
        self._centroids = centroids / norms
        self._vocab = vocab
        self._idf = idf
        self._n = n_topics

    @property
    def vocab(self) -> dict[str, int]:
        return self._vocab

    @property
    def idf(self) -> np.ndarray:
        return self._idf

    def adopt(self, matrix: np.ndarray) -> None:
        """Score with ``matrix`` (equal to ``self.matrix``, e.g. a view of a larger array)."""
        self._centroids = matrix

    @property
    def matrix(self) -> np.ndarray:
        """The unit centroids, one row per feature of the vocab, one column per topic."""
        return self._centroids

    def scores(self, folded_tokens: Sequence[str],
               vector: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Cosine with each topic centroid (0 for a question sharing no feature); ``vector``:
        the question's ``query_vector`` over this index's vocab and idf, if already known."""
        if vector is None:
            vector = query_vector(folded_tokens, self._vocab, self._idf)
        if vector is None:
            return np.zeros(self._n)
        idx, vals = vector
        return vals @ self._centroids.take(idx, axis=0)
