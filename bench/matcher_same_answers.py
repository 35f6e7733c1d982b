"""Prove that a change to the matcher's speed changes none of its answers.

Usage (from the repo root)::

    .venv/bin/python bench/matcher_same_answers.py --write before.json   # on the old code
    .venv/bin/python bench/matcher_same_answers.py --check before.json   # on the new code

It matches every question of ``tests/data/*.tsv`` and every example question (Vietnamese and
English) of the knowledge base, and records the topic, the confidence, the suggestions and the
five candidates of each. ``--check`` compares them with a file written before the change:
topics, suggestions and candidate ids must be identical, scores equal to ``--tolerance``
(floating-point sums taken in another order differ in the last bits). Exit status 1 on any
difference. The held-out files are only matched, never printed: a difference shows the file
name and line number, not the question.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from content.kb import TOPICS_DIR, KnowledgeBase  # noqa: E402
from content.matcher import Matcher  # noqa: E402


def questions(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(where, question) for every question matched."""
    out = []
    for path in sorted((REPO_ROOT / "tests" / "data").glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if number > 1 and "\t" in line:
                out.append((f"{path.name}:{number}", line.split("\t", 1)[0]))
    for topic in kb:
        for i, text in enumerate((*topic.examples, *topic.examples_en)):
            out.append((f"{topic.id}#{i}", text))
    return out


def snapshot(matcher: Matcher, kb: KnowledgeBase) -> dict[str, dict]:
    found = {}
    for where, question in questions(kb):
        result = matcher._match_uncached(question)
        found[where] = {"topic": result.topic, "score": result.score,
                        "suggestions": list(result.suggestions),
                        "candidates": [[c, s] for c, s in result.candidates],
                        "margin": result.margin, "language": result.language}
    return found


def differences(before: dict, after: dict, tolerance: float) -> list[str]:
    out = []
    for where in sorted(before.keys() | after.keys()):
        old, new = before.get(where), after.get(where)
        if old is None or new is None:
            out.append(f"{where}: only {'after' if old is None else 'before'}")
            continue
        for key in ("topic", "suggestions", "language"):
            if old[key] != new[key]:
                out.append(f"{where}: {key} {old[key]} -> {new[key]}")
        if [c for c, _ in old["candidates"]] != [c for c, _ in new["candidates"]]:
            out.append(f"{where}: candidates {old['candidates']} -> {new['candidates']}")
        pairs = [(old["score"], new["score"]), (old["margin"], new["margin"])]
        pairs += [(a[1], b[1]) for a, b in zip(old["candidates"], new["candidates"])]
        if any(abs(a - b) > tolerance for a, b in pairs):
            out.append(f"{where}: scores {old['score']} -> {new['score']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="record the answers in this JSON file")
    group.add_argument("--check", type=Path, help="compare the answers with this JSON file")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args(argv)
    kb = KnowledgeBase.load(TOPICS_DIR)
    found = snapshot(Matcher(kb.topics), kb)
    if args.write:
        args.write.write_text(json.dumps(found, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{len(found)} answers written to {args.write}")
        return 0
    before = json.loads(args.check.read_text(encoding="utf-8"))
    diff = differences(before, found, args.tolerance)
    print("\n".join(diff[:50]))
    print(f"{len(found)} questions: {len(diff)} differences")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main())
