"""How long the contrast reader takes on the longest messages a chat allows, made of its shapes.

Usage (from the repo root)::

    .venv/bin/python bench/contrast_worst_case.py

Each message is 4,096 characters (Telegram's limit) of one shape of ``content/matcher_contrast.py``
repeated: the cases where a look for a shape from every comma or bracket could cost the square of
the length. Prints the slowest of five reads of each, in milliseconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from content.matcher_contrast import asked_part  # noqa: E402

LIMIT = 4096
CASES = {
    "(không phải …": "(không phải ",
    "à nhầm, …": "à nhầm, ",
    ", không phải a": ", không phải a",
    "không phải x mà …": "không phải x mà ",
    "không phải + commas": "không phải abc def, ",
    "chứ không phải …": "chứ không phải a b ",
}


def main() -> int:
    for name, shape in CASES.items():
        message = (shape * (LIMIT // len(shape) + 1))[:LIMIT]
        times = []
        for _ in range(5):
            start = time.perf_counter()
            asked_part(message)
            times.append(time.perf_counter() - start)
        print(f"{name:24s} {max(times) * 1000:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
