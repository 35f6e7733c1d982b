"""What making the matcher costs the process: resident memory and time, built or read back.

Usage (from the repo root)::

    .venv/bin/python bench/matcher_memory.py [--rounds 3]

Each case runs in a fresh Python process, with glibc malloc tuned as the bot tunes it
(``bot.memory.tune_malloc``): the knowledge base loaded and numpy, scipy and rapidfuzz imported
first, then the matcher made, then ``gc.collect()`` and ``malloc_trim``. Printed: the growth of
VmRSS from before to after making it, and the time it took, for

- ``cold``: nothing cached (it learns from the examples, and writes both caches);
- ``learned cached``: ``Matcher(topics, cache_dir)`` with the learned weights cached, as every
  start did before ``content/matcher_cache.py``;
- ``index cached``: ``Matcher.from_kb`` reading the whole built matcher back.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

CASE = """
import ctypes, gc, json, sys, time
from pathlib import Path
from bot import memory
memory.tune_malloc()
import numpy, scipy.sparse, rapidfuzz
from content.kb import KnowledgeBase
from content.matcher import Matcher

def rss():
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024

kb = KnowledgeBase.load()
gc.collect()
before, start = rss(), time.perf_counter()
folder = Path(sys.argv[2])
matcher = Matcher.from_kb(kb, folder) if sys.argv[1] == "index" else Matcher(kb.topics, folder)
took = time.perf_counter() - start
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)
assert matcher.match("nộp lệ phí trực tuyến như thế nào").topic
print(json.dumps({"grown": rss() - before, "ms": took * 1000}))
"""


def run(kind: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CASE, kind, str(folder)], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    results: dict[str, list[dict]] = {"cold": [], "learned cached": [], "index cached": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            results["cold"].append(run("build", folder))  # learns; writes the learned weights
            results["learned cached"].append(run("build", folder))
            run("index", folder)  # builds once more and writes the whole matcher
            results["index cached"].append(run("index", folder))
    for name, rows in results.items():
        grown = [r["grown"] for r in rows]
        took = [r["ms"] for r in rows]
        print(f"{name:15s} RSS +{statistics.median(grown):5.1f} MB (runs: {', '.join(f'{g:.1f}' for g in grown)}); "
              f"{statistics.median(took):6.0f} ms (runs: {', '.join(f'{t:.0f}' for t in took)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
