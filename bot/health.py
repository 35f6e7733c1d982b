"""What /healthz reports: each channel's and each background loop's last success, and who is dead.

Channels and loops call :meth:`Health.ok` when something worked (a poll answered, a batch
sent, a day's reminders queued). A part is *dead* when its task ended while the process runs,
or when it was quiet for longer than it may be (``stale_after``). A channel that can never
work again (the platform refused the token) calls :meth:`Health.fatal`: the process stops with
a non-zero exit status so that a supervisor restarts it, and the log says why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)


@dataclass
class Part:
    stale_after: float | None  # seconds without a success before the part counts as dead
    since: float = field(default_factory=time.time)  # when it was expected to start working
    last_ok: float | None = None
    task: asyncio.Task | None = None
    ending: asyncio.Event | None = None  # set when the task is meant to end

    def problem(self, now: float) -> str | None:
        if self.task is not None and self.task.done() and not (self.ending and self.ending.is_set()):
            error = None if self.task.cancelled() else self.task.exception()
            return f"stopped: {type(error).__name__}" if error else "stopped"
        if self.stale_after is not None and now - (self.last_ok or self.since) > self.stale_after:
            return f"no success for {now - (self.last_ok or self.since):.0f} s"
        return None


class Health:
    def __init__(self) -> None:
        self.parts: dict[str, Part] = {}
        self.fatal_reason: str | None = None
        self._fatal: asyncio.Event | None = None

    def expect(self, name: str, *, stale_after: float | None = None, task: asyncio.Task | None = None,
               ending: asyncio.Event | None = None) -> None:
        """Start watching ``name`` (again): a channel, or a loop running as ``task``."""
        self.parts[name] = Part(stale_after, task=task, ending=ending)

    def forget(self, name: str) -> None:
        self.parts.pop(name, None)

    def ok(self, name: str) -> None:
        """``name`` just did its work."""
        part = self.parts.get(name)
        if part is None:
            part = self.parts[name] = Part(None)
        part.last_ok = time.time()

    def fatal(self, reason: str) -> None:
        """A part can never work again: the process should stop (``python -m bot run`` exits 1)."""
        if self.fatal_reason is None:
            self.fatal_reason = reason
            log.critical("%s", reason)
        self.fatal_event.set()

    @property
    def fatal_event(self) -> asyncio.Event:
        if self._fatal is None:
            self._fatal = asyncio.Event()
        return self._fatal

    def report(self) -> tuple[bool, dict]:
        """(all alive, {name: {"ok", "last_success", "problem"}}) for /healthz."""
        now = time.time()
        parts = {}
        for name, part in sorted(self.parts.items()):
            problem = part.problem(now)
            parts[name] = {"ok": problem is None, "problem": problem,
                           "last_success": _iso(part.last_ok)}
        return all(p["ok"] for p in parts.values()) and self.fatal_reason is None, parts


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else None
