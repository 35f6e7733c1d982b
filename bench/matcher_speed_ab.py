"""Compare the matcher's speed in two source trees, in one process, passes alternated.

Usage (from the repo root)::

    git worktree add --detach /tmp/before <old commit>      # or: git archive <commit> | tar -x
    .venv/bin/python bench/matcher_speed_ab.py /tmp/before [NEW_TREE] [--rounds 10]

Each tree is a directory holding a ``content/`` package (NEW_TREE: this repository by default).
Both matchers are built from this repository's topics and match the distinct questions of
``bench/faq_accuracy.py``'s default files without the answer cache (``_match_uncached``), each
pass timed in CPU time, old and new passes alternated so that both see the same load of a
shared machine; the best and the median pass of each are printed. Questions are never printed.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import faq_accuracy  # noqa: E402  (bench/ is on the path when this script runs)


def load_matcher(tree: Path, topics: Path):
    """A matcher built by the ``content`` package of ``tree`` (the modules loaded afresh)."""
    for name in [n for n in sys.modules if n == "content" or n.startswith("content.")]:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        kb = importlib.import_module("content.kb").KnowledgeBase.load(topics)
        module = importlib.import_module("content.matcher")
    finally:
        sys.path.remove(str(tree))
    if not Path(module.__file__).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: content.matcher came from {module.__file__}")
    return module.Matcher(kb.topics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the tree before the change")
    parser.add_argument("new", type=Path, nargs="?", default=REPO_ROOT, help="the tree after it")
    parser.add_argument("--rounds", type=int, default=10, help="passes of each tree")
    parser.add_argument("--by-length", action="store_true",
                        help="then the new tree's rate on questions of 1-5, 6-10, 11-20, 21-40, 41+ words")
    args = parser.parse_args(argv)
    files = [p for p in faq_accuracy.DEFAULT_FILES if p.is_file()]
    questions = list(dict.fromkeys(q for path in files for q, _ in faq_accuracy.read_questions(path)))
    topics = REPO_ROOT / "content" / "topics"
    matchers = {"old": load_matcher(args.old, topics), "new": load_matcher(args.new, topics)}
    for matcher in matchers.values():  # first pass: the per-token memos filled
        for question in questions:
            matcher._match_uncached(question)
    rates: dict[str, list[float]] = {"old": [], "new": []}
    for round_ in range(args.rounds):
        for name in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
            rates[name].append(pass_rate(matchers[name], questions))
    print(f"{len(questions)} distinct questions, {args.rounds} passes each, CPU time")
    for name, tree in (("old", args.old), ("new", args.new)):
        best, median = max(rates[name]), statistics.median(rates[name])
        print(f"  {name} ({tree}): best {best:,.0f} q/s ({1e6 / best:.0f} µs a question), "
              f"median {median:,.0f} q/s")
    if args.by_length:
        by_length(matchers["new"], questions, args.rounds)
    return 0


def pass_rate(matcher, questions: list[str]) -> float:
    """Questions a second of CPU time in one pass over ``questions``, without the answer cache."""
    started = time.process_time()
    for question in questions:
        matcher._match_uncached(question)
    return len(questions) / (time.process_time() - started)


LENGTHS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 10**6))
"""Bands of words per question for ``--by-length``."""


def by_length(matcher, questions: list[str], rounds: int) -> None:
    """The new tree's best rate over ``rounds`` passes of each band of question lengths."""
    print(f"new tree by length (words; best of {rounds} passes, CPU time):")
    for low, high in LENGTHS:
        band = [q for q in questions if low <= len(q.split()) <= high]
        if not band:
            continue
        best = max(pass_rate(matcher, band) for _ in range(rounds))
        label = f"{low}-{high}" if high < 10**6 else f"{low}+"
        print(f"  {label:>6} words: {len(band):6,} questions, best {best:,.0f} q/s")


if __name__ == "__main__":
    raise SystemExit(main())
