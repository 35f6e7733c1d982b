"""A linear model learned from the example questions when the matcher is built.

Each example question (Vietnamese, normalised and folded as the BM25 index sees it; English,
lower-cased) becomes a TF-IDF vector of its character 3- and 4-grams and its word uni- and
bigrams (``matcher_chargram.features``); a ridge regression onto each topic (+1 / -1), solved in
its dual form by conjugate gradients over scipy's sparse matrices, learns the topic from them (a
logistic regression with scikit-learn scored the same by cross-validation and took ten times
longer to learn).
Nothing is downloaded: what is learned is learned from the project's own content at start-up
and cached (``cache_dir``). Scoring a question needs only the learned weights of its own
features; a softmax turns the scores into probabilities.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from content.matcher_chargram import Encoded, Vectoriser, encode

RIDGE = 0.5
"""Ridge penalty: smaller fits the examples more closely."""
SOFTMAX_SCALE = 4.0
"""The ridge scores (about -1..1) are turned into probabilities by a softmax of this sharpness."""
CACHE_VERSION = 3
SOLVE_TOLERANCE = 1e-7
"""The ridge system is solved until each topic's residual is this share of its targets' norm."""
SOLVE_MAX_STEPS = 2000
CACHE_FILES_KEPT = 8
"""Learned files kept in the cache directory (two per content version: Vietnamese, English)."""


class LearnedIndex:
    """Topic probabilities of a question from a logistic regression over its n-grams."""

    def __init__(self, docs: Sequence[tuple[int, Sequence[str]]], n_topics: int,
                 cache_dir: Path | None = None, encoded: Encoded | None = None) -> None:
        """``docs``: (topic index, folded tokens) per example question or title. With
        ``cache_dir``, what was learned is kept there (keyed by the examples) and read back by
        the next start instead of learning again. ``encoded``: ``encode(docs)``, if already done."""
        self._n = n_topics
        self._vocab: dict[str, int] = {}
        self._weights = None
        self._bias = np.zeros(n_topics)
        self._vectoriser: Vectoriser | None = None  # made at the first question scored here
        cache = None
        if cache_dir is not None:
            key = hashlib.sha256(repr((CACHE_VERSION, RIDGE, n_topics, [(o, list(t)) for o, t in docs]))
                                 .encode("utf-8")).hexdigest()[:24]
            cache = Path(cache_dir) / f"learned-{key}.npz"
        if cache is None or not self._read(cache):
            self._learn(encoded or encode(docs), n_topics)
            if cache is not None and self._weights is not None:
                self._write(cache)
        self._unseen = bool(self._bias.any())  # a topic without examples: biased out

    def _read(self, path: Path) -> bool:
        try:
            with np.load(path, allow_pickle=False) as data:
                self._vocab = {key: i for i, key in enumerate(data["vocab"].tolist())}
                self._idf, self._weights, self._bias = data["idf"], data["weights"], data["bias"]
        except (OSError, KeyError, ValueError):
            return False
        return True

    def _write(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(partial, vocab=np.array(list(self._vocab)), idf=self._idf,
                     weights=self._weights, bias=self._bias)
            partial.replace(path)
            # the files of earlier contents are never read again: keep only the newest few
            older = sorted(path.parent.glob("learned-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in older[CACHE_FILES_KEPT:]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass  # no cache then: the next start learns again

    def _learn(self, encoded: Encoded, n_topics: int) -> None:
        from scipy.sparse import csr_matrix

        if len({owner for _number, owner, _cols, _tf in encoded.rows}) < 2:
            return
        self._vocab, self._idf = encoded.vocab, encoded.idf
        n_docs = len(encoded.rows)
        indptr, cols, vals, y = [0], [], [], []
        for _number, owner, idx, tf in encoded.rows:
            weights = tf * self._idf[idx]
            cols.append(idx)
            vals.append(weights / np.linalg.norm(weights))
            indptr.append(indptr[-1] + len(idx))
            y.append(owner)
        matrix = csr_matrix((np.concatenate(vals), np.concatenate(cols), np.array(indptr)),
                            shape=(n_docs, len(self._vocab)))
        # ridge regression onto +1 (own topic) / -1 (the others), solved in its dual form: the
        # examples are fewer (~20,000) than the features (~60,000). (X X^T + ridge I) dual = targets
        # by conjugate gradients, one column per topic side by side: only sparse products of X,
        # never the dense Gram matrix (20,000^2 floats, 3.2 GB, twice that while numpy solved it:
        # 126 s and a 6.6 GB peak; now ~10 s, the weights equal to ~1e-7: BENCHMARKS.md, sixteenth
        # session). Beside the sparse matrix (~30 MB) the solver keeps four examples x topics arrays.
        targets = -np.ones((n_docs, n_topics))
        targets[np.arange(n_docs), y] = 1.0
        transposed = matrix.T.tocsr()
        self._weights = np.asarray(transposed @ _ridge_dual(matrix, transposed, targets))
        self._bias = np.zeros(n_topics)
        unseen = sorted(set(range(n_topics)) - set(y))
        self._bias[unseen] = -1e9

    def known_share(self, folded_tokens: Sequence[str]) -> float:
        """The share of a question's words the examples use (a word the model never saw)."""
        if not folded_tokens:
            return 0.0
        return sum(("w" + tok) in self._vocab for tok in folded_tokens) / len(folded_tokens)

    def same_features(self, vocab: dict[str, int], idf: np.ndarray) -> bool:
        """Whether this index reads questions with exactly this vocab and idf (the centroids'
        built from the same examples): then one ``query_vector`` serves both."""
        return (self._weights is not None and list(vocab) == list(self._vocab)
                and np.array_equal(idf, self._idf))

    def probabilities(self, folded_tokens: Sequence[str],
                      vector: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Probability of each topic (all 0 for a question sharing no feature); ``vector``: the
        question's ``query_vector``, if already known (see ``same_features``)."""
        if self._weights is None:
            return np.zeros(self._n)
        if vector is None:
            if self._vectoriser is None:
                self._vectoriser = Vectoriser(self._vocab, self._idf)
            vector = self._vectoriser.vector(folded_tokens)
        if vector is None:
            return np.zeros(self._n)
        idx, vals = vector
        return self.softmax(vals @ self._weights.take(idx, axis=0))

    def adopt(self, weights: np.ndarray, vocab: dict[str, int]) -> None:
        """Score with ``weights`` and ``vocab`` (equal to this index's own, e.g. a view of a
        larger array and another index's vocab: see ``same_features``)."""
        self._weights, self._vocab = weights, vocab
        self._vectoriser = None

    @property
    def weights(self) -> np.ndarray | None:
        """The learned weights, one row per feature of the vocab, one column per topic."""
        return self._weights

    def softmax(self, scores: np.ndarray) -> np.ndarray:
        """Topic probabilities from the ridge scores of a question (its vector times ``weights``)."""
        exp = self.exp_logits(scores)
        return exp / exp.sum()

    def exp_logits(self, scores: np.ndarray) -> np.ndarray:
        """The softmax's numerators (its probabilities up to their sum)."""
        logits = SOFTMAX_SCALE * scores
        if self._unseen:
            logits += self._bias
        logits -= np.maximum.reduce(logits)  # max() without its Python wrapper
        return np.exp(logits, out=logits)


def _ridge_dual(matrix, transposed, targets: np.ndarray) -> np.ndarray:
    """The solution of (matrix matrix^T + RIDGE I) dual = targets, by conjugate gradients on every
    column of ``targets`` at once (``transposed``: matrix^T as CSR). The system is symmetric
    positive definite and well conditioned (unit rows, ridge 0.5): ~150 steps for 20,000 examples."""
    dual = np.zeros_like(targets)
    residual = targets.copy()
    direction = residual.copy()
    norms = (residual * residual).sum(axis=0)
    goal = SOLVE_TOLERANCE ** 2 * norms
    for _ in range(SOLVE_MAX_STEPS):
        product = matrix @ (transposed @ direction) + RIDGE * direction
        step = norms / np.maximum((direction * product).sum(axis=0), 1e-300)
        dual += direction * step
        residual -= product * step
        new_norms = (residual * residual).sum(axis=0)
        if (new_norms <= goal).all():
            break
        direction = residual + direction * (new_norms / np.maximum(norms, 1e-300))
        norms = new_norms
    return dual
