"""Copy question files keeping only the questions a matcher was never taught, to score those alone.

Usage (from the repo root)::

    .venv/bin/python bench/unseen_questions.py OUT_DIR FILE... [--tree TREE ...]
    .venv/bin/python bench/faq_accuracy.py --folds 0 --questions OUT_DIR/*.tsv

A blind file often holds short phrasings ("vneid quen mk") equal to a question the matcher is
already taught: an example, an asked question (a retired file) or a written one (``fold_key``
equal). ``faq_accuracy.py`` counts them beside each file; this writes ``OUT_DIR/<name>`` with them
left out. ``--tree`` (repeatable) names source trees (a ``git worktree`` of another commit) whose
taught questions are left out too, so that two commits are scored on the same subset. Questions
are never printed: only how many each file keeps.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from content import matcher_asked  # noqa: E402
from content.kb import TOPICS_DIR, KnowledgeBase  # noqa: E402
from content.text import fold_key  # noqa: E402

_KEYS_OF_TREE = """
import sys
sys.path.insert(0, ".")
from content.kb import TOPICS_DIR, KnowledgeBase
from content import matcher_asked
from content.text import fold_key
topics = KnowledgeBase.load(TOPICS_DIR).topics.values()
if hasattr(matcher_asked, "taught_keys"):
    keys = matcher_asked.taught_keys(topics)
else:  # a commit before taught_keys: the same keys, computed as that commit's bench did
    asked = (matcher_asked.asked_questions() if hasattr(matcher_asked, "asked_questions")
             else matcher_asked.ASKED_QUESTIONS)
    keys = matcher_asked.example_keys(topics) | {fold_key(q) for q, _t in asked}
sys.stdout.write("\\n".join(sorted(keys)))
"""


def taught_keys() -> set[str]:
    """The ``fold_key`` of every question this tree's matcher is taught."""
    return matcher_asked.taught_keys(KnowledgeBase.load(TOPICS_DIR).topics.values())


def taught_keys_of(tree: Path) -> set[str]:
    """The same for another source tree, read by its own code in a child process."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    out = subprocess.run([str(python if python.exists() else sys.executable), "-c", _KEYS_OF_TREE],
                         cwd=tree, check=True, capture_output=True, text=True).stdout
    return set(out.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="another source tree whose taught questions are left out too")
    args = parser.parse_args(argv)
    known = taught_keys()
    for tree in args.tree:
        known |= taught_keys_of(tree)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines[1:] if "\t" in line and fold_key(line.split("\t", 1)[0]) not in known]
        (args.out_dir / path.name).write_text("\n".join([lines[0], *kept]) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(kept)} of {len(lines) - 1} questions kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
