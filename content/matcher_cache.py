"""The whole built matcher kept on disk between starts, so a restart reads it instead of building it.

Building the index tokenises every example and answer, fills BM25 postings and encodes the
n-grams: a few hundred milliseconds, and tens of megabytes of short-lived Python objects that
leave the process's memory fragmented for good (05/12/2026, ``bench/matcher_memory.py``: the
built matcher keeps ~20 MB of objects, the process grows by ~55 MB). Reading the finished
matcher back allocates only what it keeps, in one go, in a few tens of milliseconds.

The file is named by a hash of everything the index is made from: the topics' texts, the
everyday out-of-scope questions, the matcher's own source files and word tables
(``content/lexicon``), and the Python and numpy versions. Change any of them and the next start
builds afresh (and writes a new file; older ones are removed). A file that cannot be read is
ignored and rebuilt. The files are pickles: the cache directory must be the bot's own, writable
by nobody else (``$XDG_CACHE_HOME/hatinh-dvc-bot`` or ``~/.cache/hatinh-dvc-bot`` by default).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)

CONTENT_DIR = Path(__file__).resolve().parent
FORMAT = 2
"""Bump to ignore every file written before (a change in what the file holds)."""
FILES_KEPT = 2
PREFIX = "index-"

T = TypeVar("T")


def sources() -> list[Path]:
    """The files whose content decides what the built matcher holds."""
    code = [*CONTENT_DIR.glob("matcher*.py"), CONTENT_DIR / "text.py", CONTENT_DIR / "smalltalk.py",
            CONTENT_DIR / "match_result.py"]
    lexicon = [*(CONTENT_DIR / "lexicon").glob("*.toml"), *(CONTENT_DIR / "lexicon").glob("*.tsv")]
    return sorted(code) + sorted(lexicon)


def index_key(topics: Iterable[Any], out_of_scope: tuple[Sequence[str], Sequence[str]]) -> str:
    """A hash of everything the matcher built from ``topics`` and ``out_of_scope`` depends on."""
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, sys.version, np.__version__)).encode("utf-8"))
    for path in sources():
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    for topic in topics:
        fields = (topic.id, topic.title, list(topic.examples), topic.body_vi,
                  list(getattr(topic, "examples_en", ()) or ()), getattr(topic, "body_en", None))
        digest.update(repr(fields).encode("utf-8"))
    digest.update(repr((list(out_of_scope[0]), list(out_of_scope[1]))).encode("utf-8"))
    return digest.hexdigest()[:24]


def load_or_build(kind: type[T], build: Callable[[], T], key: str, cache_dir: Path) -> tuple[T, bool]:
    """The matcher kept under ``key`` in ``cache_dir`` if there is a readable one, else ``build()``
    it and keep it there. Returns (matcher, whether it was read from the cache)."""
    path = Path(cache_dir) / f"{PREFIX}{key}.pickle"
    try:
        with path.open("rb") as file:
            found = pickle.load(file)
        if isinstance(found, kind):
            return found, True
        log.warning("matcher cache %s holds no matcher: building afresh", path)
    except FileNotFoundError:
        pass
    except Exception as error:  # a truncated or foreign file: build, and write a good one
        log.warning("matcher cache %s unreadable (%s): building afresh", path, error)
    built = build()
    _write(built, path)
    return built, False


def _write(matcher: object, path: Path) -> None:
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".index-", delete=False) as file:
            temporary = Path(file.name)
            pickle.dump(matcher, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # whole or not at all, even with two processes starting
    except Exception as error:  # the cache is a saving, never a reason not to start
        log.warning("matcher cache %s not written (%s): the next start builds again", path, error)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        return
    older = []
    for other in path.parent.glob(f"{PREFIX}*.pickle"):
        try:
            if other != path:
                older.append((other.stat().st_mtime, other))
        except OSError:
            continue  # removed meanwhile by another process
    for _mtime, stale in sorted(older, reverse=True)[FILES_KEPT - 1 :]:
        stale.unlink(missing_ok=True)
