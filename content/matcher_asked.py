"""Questions people typed, taught to the matcher as more examples of their topic.

A held-out file (``tests/data/questions-holdoutN.tsv``) is written blind and scored first on an
unchanged commit; after that its questions, typed the way people really type, are worth more as
teaching than as a test. ``scripts/retire_questions.py`` appends them to
``content/lexicon/asked.tsv`` (``question<TAB>topic<TAB>source file``, ``none`` for out of scope);
the matcher learns each as one more example of its topic, or of its out-of-scope class.

``content/lexicon/written.tsv`` (same columns; source ``written-…``) holds questions written to
teach, never to test: by writers who read only the topics' "covers" text and the facts files, never
a held-out file, in the ways people were seen to type (a situation told first, phone chat
abbreviations, broken English). The matcher learns them the same way; a question equal to one of
any question file under ``tests/data`` is left out, so no test meets its twin in training.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from content.matcher_text import LEXICON_DIR, OUT_OF_SCOPE_EXAMPLES, is_english
from content.text import fold_key

ASKED_FILE = LEXICON_DIR / "asked.tsv"
"""Questions people typed, from held-out files already scored blind (``scripts/retire_questions.py``)."""
WRITTEN_FILE = LEXICON_DIR / "written.tsv"
"""Questions written to teach the matcher (``scripts/retire_questions.py --written``), not tests."""


def read_asked_rows(path: Path = ASKED_FILE) -> list[tuple[str, str | None, str]]:
    """(question, topic id or None for out of scope, source file) per line of ``asked.tsv``;
    lines starting with "#" are comments."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        question, topic, source = line.split("\t")
        rows.append((question, None if topic == "none" else topic, source))
    return rows


def read_asked(path: Path = ASKED_FILE) -> list[tuple[str, str | None]]:
    """(question, topic id or None) per line of ``asked.tsv``."""
    return [(question, topic) for question, topic, _source in read_asked_rows(path)]


def held_out_by_source(rows: Sequence[tuple[str, str | None, str]],
                       written: Sequence[tuple[str, str | None]] | None = None
                       ) -> Iterator[tuple[str, list[tuple[str, str | None]], list[tuple[str, str | None]]]]:
    """Per source file of ``rows`` (``read_asked_rows``): (file name, what the matcher is taught
    but that file's questions: the asked questions of every other file and the ``written`` ones,
    by default ``written_questions()``; its own), to score each retired file with a matcher
    taught only the others."""
    written = written_questions() if written is None else written
    for name in sorted({source for _q, _t, source in rows}):
        yield (name, [(q, t) for q, t, source in rows if source != name] + list(written),
               [(q, t) for q, t, source in rows if source == name])


def example_keys(topics: Iterable) -> set[str]:
    """The ``fold_key`` of every example question (Vietnamese and English) of ``topics`` and of
    every everyday out-of-scope question: what the matcher is taught before any asked question."""
    keys = {fold_key(q) for t in topics for q in (*t.examples, *(getattr(t, "examples_en", ()) or ()))}
    return keys | {fold_key(q) for part in OUT_OF_SCOPE_EXAMPLES for q in part}


def taught_keys(topics: Iterable) -> set[str]:
    """The ``fold_key`` of every question a matcher of ``topics`` is taught: the examples and
    everyday out-of-scope questions (``example_keys``), the asked and the written questions. A
    test question with one of these keys is a twin of a taught one, not a never-seen question."""
    return example_keys(topics) | {fold_key(q) for q, _t in asked_questions()}


@cache
def written_questions() -> tuple[tuple[str, str | None], ...]:
    """The questions of ``written.tsv`` (read once, when first asked for)."""
    return tuple(read_asked(WRITTEN_FILE))


@cache
def asked_questions() -> tuple[tuple[str, str | None], ...]:
    """What the matcher learns as more examples of their topic (None: of its out-of-scope class):
    the asked questions, then the written ones. Read when first asked for, not at import: a
    matcher read back from its cache (``matcher_cache``) never needs them (~17,000 lines)."""
    return tuple(read_asked()) + written_questions()


@dataclass(frozen=True)
class _Taught:
    """A topic with the asked questions of its id added to its examples (what the index reads)."""

    id: str
    title: str
    examples: tuple[str, ...]
    examples_en: tuple[str, ...]
    body_vi: str
    body_en: str | None


def taught_topics(items: list, out_of_scope: tuple[Sequence[str], Sequence[str]],
                  asked: Sequence[tuple[str, str | None]]) -> tuple[list, tuple[list[str], list[str]]]:
    """The topics and out-of-scope questions with ``asked`` added: each question to its topic's
    English or Vietnamese examples as it reads (``is_english``); those of no topic here (a test's
    small knowledge base) are left out; those of none (out of scope) to that class."""
    if not asked:
        return items, (list(out_of_scope[0]), list(out_of_scope[1]))
    by_topic: dict[str, tuple[list[str], list[str]]] = {t.id: ([], []) for t in items}
    outside: tuple[list[str], list[str]] = (list(out_of_scope[0]), list(out_of_scope[1]))
    for question, topic in asked:
        lists = outside if topic is None else by_topic.get(topic)
        if lists is not None:
            lists[is_english(question)].append(question)
    taught = [_Taught(t.id, t.title, (*t.examples, *by_topic[t.id][0]),
                      (*(getattr(t, "examples_en", ()) or ()), *by_topic[t.id][1]),
                      t.body_vi, getattr(t, "body_en", None))
              if any(by_topic[t.id]) else t for t in items]
    return taught, outside
