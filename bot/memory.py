"""Keep the process's resident memory from creeping up: glibc malloc settings and a periodic trim.

Measured with ``bench/soak.py`` (BENCHMARKS.md): after 30,000 updates the bot's Python objects
had grown by only ~3 MB from a third of the run to its end (tracemalloc, all in the matcher's
bounded memos), yet its RSS kept rising. The rest was glibc keeping freed memory: each large
transient allocation (a hostile spreadsheet or picture parsed, a 3 MB body, an export) raises
malloc's dynamic mmap threshold, so later large blocks come from the heap and, once freed, stay
there, fragmented. Fixing the thresholds (blocks over 128 KB are mapped and given back at once;
the heap's free top is returned above 128 KB) and trimming every minute (``malloc_trim`` also
gives back free pages inside the heap and the threads' arenas) ended the creep.
Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt() parameters (malloc.h)
THRESHOLD = 128 * 1024  # bytes: glibc's default start value, kept from moving up
TRIM_EVERY = 60.0  # seconds between malloc_trim() calls

_libc = None


def _glibc():
    global _libc
    if _libc is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc only
        except (OSError, AttributeError):
            libc = False
        _libc = libc
    return _libc or None


def tune_malloc() -> bool:
    """Fix glibc's trim and mmap thresholds (call early, before large allocations); False elsewhere."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD, THRESHOLD))


def trim() -> None:
    """Give free memory back to the system (glibc ``malloc_trim(0)``; a few ms)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


async def trim_loop(stop: asyncio.Event, every: float = TRIM_EVERY) -> None:
    """``trim()`` every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        trim()
