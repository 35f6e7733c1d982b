"""Issue 12 point 18: what only charts and exports need is imported when first used; caches are bounded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from content import matcher_evidence, matcher_text
from content.matcher_text import _fold

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import asyncio, sys, tempfile
from bot.app import App
import bot.server, bot.cli.run, bot.channels.telegram, bot.channels.zalo
from tests.conftest import make_settings
from handlers.messages import Incoming

async def main():
    app = App(make_settings(tempfile.mkdtemp()))
    await app.prepare()
    for text in ("/start", "/menu", "làm căn cước ở đâu", "/help"):
        await app.router.handle(Incoming.from_text("console", "1", "1", text))
    await app.aclose()
    print(sorted(m for m in ("matplotlib", "openpyxl") if m in sys.modules))

asyncio.run(main())
"""


def test_a_started_bot_answering_questions_has_not_imported_matplotlib_or_openpyxl():
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_matcher_memos_are_bounded(app):
    before = len(matcher_text._FOLDED)
    for i in range(matcher_text.FOLDED_AT_MOST + 100):
        _fold(f"rác{i}")
    assert len(matcher_text._FOLDED) <= max(before, matcher_text.FOLDED_AT_MOST)
    m = app.services.matcher
    for i in range(200):
        m.match(" ".join(f"từ{i}x{j}" for j in range(150)))
    assert len(m._kinds) <= matcher_evidence.KINDS_AT_MOST
    assert m._match_cached.cache_info().maxsize > 0
