"""Charts are drawn in a child process, so matplotlib never enters the bot's own.

Importing matplotlib and drawing once grows a process by ~35 MB that it keeps for good (issue 12
point 18: the bot's RSS budget is 180 MB after 30,000 updates). The child
(``python -m content.progress_chart``) starts at the first chart, draws the following ones
(the daily push draws one per scope, ~0.15 s each once warm), and exits after ``IDLE_SECONDS``
without work, giving its memory back. One child per event loop, one chart at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import weakref
from pathlib import Path

import content
from content.progress import Summary
from content.progress_chart import ChartWords

IDLE_SECONDS = 60.0  # the child exits after this long without a chart to draw
_ROOT = str(Path(content.__file__).resolve().parent.parent)


class ChartError(RuntimeError):
    """The child could not draw the chart (its error text), or died."""


class ChartProcess:
    """A child process that draws charts; started when needed, stopped when idle."""

    def __init__(self, idle: float = IDLE_SECONDS) -> None:
        self.idle = idle
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def render(self, summary: Summary, words: ChartWords) -> bytes:
        """The chart's PNG, drawn by the child."""
        request = pickle.dumps((summary, words))
        async with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            process = await self._start()
            try:
                process.stdin.write(len(request).to_bytes(4, "big") + request)
                await process.stdin.drain()
                status = await process.stdout.readexactly(1)
                body = await process.stdout.readexactly(int.from_bytes(await process.stdout.readexactly(4), "big"))
            except (OSError, asyncio.IncompleteReadError) as exc:
                await self._stop()
                raise ChartError(f"the chart process died ({type(exc).__name__})") from None
            except BaseException:  # cancelled mid-answer: the next request must not read this one's
                await self._stop()
                raise
            self._idle_timer = asyncio.get_running_loop().call_later(self.idle, self._stop_when_idle)
        if status != b"\x00":
            raise ChartError(body.decode(errors="replace"))
        return body

    async def _start(self) -> asyncio.subprocess.Process:
        if not self.running:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "content.progress_chart", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, env=env)
        return self._process

    def _stop_when_idle(self) -> None:
        self._stopping = asyncio.ensure_future(self.stop())

    async def stop(self) -> None:
        """Let the child finish (it exits at the end of its input)."""
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:  # stuck: no child outlives its use
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ChartProcess] = weakref.WeakKeyDictionary()


def chart_process() -> ChartProcess:
    """This event loop's chart process."""
    loop = asyncio.get_running_loop()
    worker = _per_loop.get(loop)
    if worker is None:
        worker = _per_loop[loop] = ChartProcess()
    return worker


async def render_chart_apart(summary: Summary, words: ChartWords) -> bytes:
    """``content.progress_chart.render_chart`` in the chart process."""
    return await chart_process().render(summary, words)


async def stop_chart_process() -> None:
    """Stop this event loop's chart process, if any (at shutdown)."""
    worker = _per_loop.pop(asyncio.get_running_loop(), None)
    if worker is not None:
        await worker.stop()
