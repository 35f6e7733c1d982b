"""Teach the matcher the questions of a held-out file once its blind score is written down.

    python scripts/retire_questions.py tests/data/questions-holdoutN.tsv [...]

A held-out file (``question<TAB>acceptable ids``, ``none`` for out of scope) is written blind
and scored first on an unchanged commit (``bench/faq_accuracy.py``, figure kept in
``BENCHMARKS.md``). After that it has told us what it can as a test; its questions, typed the
way people really type, are worth more as teaching. This appends them to
``content/lexicon/asked.tsv`` (``question<TAB>topic<TAB>source``; topic = the first acceptable id,
``none`` for out of scope), which the matcher learns from as more example questions of their
topic (or of its out-of-scope class). Questions already there, or equal (``fold_key``) to a
knowledge-base example or to a question of another file under ``tests/data`` (a sealed one), are
skipped: a held-out question must never find its twin in training.
The file then moves from ``faq_accuracy.SEALED`` to ``faq_accuracy.RETIRED``: its later scores
are training scores, not blind ones. Only a new blind file measures the matcher after this.

    python scripts/retire_questions.py --written NAME questions.tsv [...]

appends questions written to teach (``question<TAB>topic``, never a test) to
``content/lexicon/written.tsv`` with source ``written-NAME``; a question equal to an example, to an
asked or written one, or to any question of a file under ``tests/data`` (sealed, retired or older)
is left out: no test may meet its twin in training.

    python scripts/retire_questions.py --drop-test-twins

removes from ``written.tsv`` any question equal to one of a question file under ``tests/data``:
run it when a new blind file is added there (written questions may have been written at the same
time).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from content.kb import TOPICS_DIR, KnowledgeBase  # noqa: E402
from content.matcher_asked import ASKED_FILE, WRITTEN_FILE, taught_keys  # noqa: E402
from content.text import fold_key  # noqa: E402

TESTS_DATA = ROOT / "tests" / "data"


def question_keys_of_tests(folder: Path = TESTS_DATA, but: Iterable[Path] = ()) -> set[str]:
    """The ``fold_key`` of every question of every question file under ``folder``, but those of
    the files ``but`` (compared by name)."""
    left_out = {Path(path).name for path in but}
    return {fold_key(line.split("\t", 1)[0])
            for path in folder.glob("questions-*.tsv") if path.name not in left_out
            for line in path.read_text(encoding="utf-8").splitlines()[1:] if "\t" in line}


def retire(paths: list[Path], asked: Path = ASKED_FILE, source: str | None = None) -> int:
    """Append the questions of ``paths`` to ``asked`` with their file's name as source, or with
    ``source`` (written questions). None equal to a question of another test file is taught: a
    held-out file retired may share a short phrasing with a file still sealed."""
    kb = KnowledgeBase.load(TOPICS_DIR)
    ids = set(kb.topics)
    seen = taught_keys(kb.topics.values())  # examples, asked and written questions
    seen |= question_keys_of_tests(but=paths if source is None else ())
    lines = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if (number == 0 and line.lower().startswith("question")) or "\t" not in line:
                continue
            question, acceptable = line.split("\t", 1)
            first = acceptable.split(",")[0].strip()
            if first != "none" and first not in ids:
                raise SystemExit(f"{path}:{number + 1}: unknown topic {first!r}")
            key = fold_key(question)
            if not key or key in seen:
                continue
            seen.add(key)
            lines.append(f"{question.strip()}\t{first}\t{source or path.name}\n")
    with asked.open("a", encoding="utf-8") as file:
        file.writelines(lines)
    print(f"{len(lines)} questions added to {asked}")
    return 0


def drop_test_twins(path: Path = WRITTEN_FILE) -> int:
    """Rewrite ``path`` without the questions equal to one of ``tests/data``; return how many."""
    tests = question_keys_of_tests()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.startswith("#") or fold_key(line.split("\t", 1)[0]) not in tests]
    path.write_text("".join(kept), encoding="utf-8")
    print(f"{len(lines) - len(kept)} questions equal to a test question removed from {path}")
    return len(lines) - len(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="See the module's docstring for the three uses.")
    parser.add_argument("--written", metavar="NAME",
                        help="teach questions written to teach (source written-NAME), not a test file")
    parser.add_argument("--drop-test-twins", action="store_true",
                        help="remove from written.tsv the questions equal to one of tests/data")
    parser.add_argument("files", nargs="*", type=Path, help="question files (question<TAB>acceptable)")
    args = parser.parse_args(argv)
    if args.drop_test_twins:
        if args.files or args.written:
            parser.error("--drop-test-twins takes no file")
        drop_test_twins()
        return 0
    if not args.files:
        parser.error("name at least one question file")
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        parser.error("no such file: " + ", ".join(missing))
    if args.written:
        return retire(args.files, WRITTEN_FILE, f"written-{args.written}")
    return retire(args.files)


if __name__ == "__main__":
    raise SystemExit(main())
