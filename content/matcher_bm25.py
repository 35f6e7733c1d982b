"""The matcher's BM25 postings as flat arrays: a question's topic and example scores in a few
numpy calls instead of a Python loop over every posting of every term.

Each (space, term) is one row; its topic postings and its example postings (idf multiplied in)
are the row's slices of two CSR-like arrays. ``np.bincount`` adds a question's postings in the
order of its terms, as the loop it replaces did, so the scores are the same to the last bit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


def tf_parts(docs: Sequence[Sequence[str]], k1: float, b: float) -> dict[str, list[tuple[int, float]]]:
    """BM25's saturated, length-normalised term frequency of each term in each document (the
    idf left out): term -> [(document, part)], documents in order."""
    total = sum(map(len, docs))
    avg = total / len(docs) if total else 1.0
    postings: dict[str, list[tuple[int, float]]] = {}
    for doc, terms in enumerate(docs):
        norm = k1 * (1 - b + b * len(terms) / avg)
        for term, tf in Counter(terms).items():
            postings.setdefault(term, []).append((doc, tf * (k1 + 1) / (tf + norm)))
    return postings


class _CSR:
    """Rows of (column, value) pairs in three flat arrays."""

    def __init__(self, rows: Sequence[Sequence[tuple[int, float]]]) -> None:
        lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        self.indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.indptr[1:])
        self.lengths = lengths
        self.indices = np.fromiter((col for row in rows for col, _ in row), dtype=np.int64,
                                   count=int(self.indptr[-1]))
        self.data = np.fromiter((val for row in rows for _, val in row), dtype=np.float64,
                                count=int(self.indptr[-1]))

    def weighted_sums(self, rows: np.ndarray, weights: np.ndarray, width: int) -> list[np.ndarray]:
        """For each row of ``weights``, the sum of ``weights[j, k] x row rows[k]`` as a dense
        vector of ``width``, added row by row."""
        starts = self.indptr[rows]
        lengths = self.lengths[rows]
        ends = lengths.cumsum()
        total = int(ends[-1]) if len(ends) else 0
        if not total:
            return [np.zeros(width) for _ in weights]
        # positions of every posting of the chosen rows, in row order
        offsets = starts - ends
        offsets += lengths
        positions = np.arange(total)
        positions += offsets.repeat(lengths)
        columns = self.indices.take(positions)  # take: the same as [positions], faster
        parts = weights.repeat(lengths, axis=1)
        parts *= self.data.take(positions)
        return [np.bincount(columns, weights=part, minlength=width) for part in parts]


class PostingArrays:
    """Per space, term -> its row; per row, its idfs and its best topic's and example's part (in
    four float arrays, not a tuple per term: ~14k of them cost ~2 MB); the postings as arrays."""

    def __init__(self, idf: Mapping[str, Mapping[str, float]], ex_idf: Mapping[str, Mapping[str, float]],
                 topic_parts: Mapping[str, Mapping[str, Sequence[tuple[int, float]]]],
                 example_parts: Mapping[str, Mapping[str, Sequence[tuple[int, float]]]],
                 owner: Sequence[int], n_topics: int) -> None:
        """Per space and term: ``idf`` (topic level), ``ex_idf`` (example level), the BM25 tf
        parts per topic and per example (``owner``: the topic of each example)."""
        n_examples = len(owner)
        self.rows: dict[str, dict[str, int]] = {}
        # one row per term: its topic postings (columns 0..n_topics-1), then its example
        # postings (columns n_topics..): one gather scores both levels
        rows: list[list[tuple[int, float]]] = []
        facts: list[tuple[float, float, float, float]] = []  # NaN: no idf at that level
        for space, idf_of in idf.items():
            table = self.rows[space] = {}
            ex_idf_of = ex_idf[space]
            for term in [*idf_of, *(term for term in ex_idf_of if term not in idf_of)]:
                term_idf, term_ex_idf = idf_of.get(term), ex_idf_of.get(term)
                topics = [(idx, term_idf * part) for idx, part in topic_parts[space].get(term, ())]
                examples = [(doc, term_ex_idf * part) for doc, part in example_parts[space].get(term, ())]
                table[term] = len(rows)
                facts.append((np.nan if term_idf is None else term_idf,
                              np.nan if term_ex_idf is None else term_ex_idf,
                              max((part for _, part in topics), default=0.0),
                              max((part for _, part in examples), default=0.0)))
                rows.append([*topics, *((n_topics + doc, part) for doc, part in examples)])
        self._facts = np.array(facts, dtype=np.float64).reshape(-1, 4)
        # one more row, with no postings, for the terms the index does not know: a question's
        # terms are then scored all together, known or not, the same sums
        self.empty_row = len(rows)
        self.postings = _CSR([*rows, []])
        self.n_topics = n_topics
        self.n_examples = n_examples
        owner_array = np.asarray(owner, dtype=np.int64)
        self.owner = owner_array
        # examples are numbered topic after topic: the best example of each topic is one
        # maximum.reduceat, when every topic has one
        self.starts = None
        if len(owner_array) and np.all(np.diff(owner_array) >= 0) and \
                np.array_equal(np.unique(owner_array), np.arange(n_topics)):
            self.starts = np.searchsorted(owner_array, np.arange(n_topics))

    def row_facts(self, row: int) -> tuple[float | None, float | None, float, float]:
        """Row ``row``'s (topic idf or None, example idf or None, best topic's part, best
        example's part): the floats stored, so the same to the last bit."""
        idf, ex_idf, topic_max, example_max = self._facts[row].tolist()
        return (None if idf != idf else idf, None if ex_idf != ex_idf else ex_idf,
                topic_max, example_max)

    def scores(self, rows: np.ndarray, *weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each array of ``weights``, the sum of ``weights[k] x`` the postings of ``rows[k]``:
        (per topic, per example)."""
        sums = self.postings.weighted_sums(np.asarray(rows, dtype=np.intp), np.array(weights),
                                           self.n_topics + self.n_examples)
        return [(both[: self.n_topics], both[self.n_topics :]) for both in sums]

    def examples_of(self, topic: int) -> slice | np.ndarray:
        """Index of the examples of ``topic`` in a vector of example scores."""
        if self.starts is None:
            return self.owner == topic
        end = self.starts[topic + 1] if topic + 1 < self.n_topics else self.n_examples
        return slice(int(self.starts[topic]), int(end))

    def best_example(self, scores: np.ndarray) -> np.ndarray:
        """The highest example score of each topic (0 for a topic without one)."""
        if self.starts is not None:
            return np.maximum(np.maximum.reduceat(scores, self.starts), 0.0)
        best = np.zeros(self.n_topics)
        np.maximum.at(best, self.owner, scores)
        return best
