"""Issue 12 point 18: what only charts and exports need is imported when first used; caches are bounded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from content import matcher_evidence, matcher_text
from content.matcher_text import _fold
from content.progress_chart import ChartWords, render_chart
from handlers.progress import summary as summary_module
from handlers.progress.chart_process import ChartError, ChartProcess
from tests.test_progress import sample_summary
from tests.test_progress_chat import communes, make_official, seed_figures, today

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import asyncio, sys, tempfile
from datetime import date, timedelta
from pathlib import Path
from bot.app import App
import bot.server, bot.cli.run, bot.channels.telegram, bot.channels.zalo
import content.campaign as campaign_module
from content.progress_import import FigureRow, ParsedFile
from db.admin import grant_role
from db.progress import import_figures
from tests.conftest import make_settings
from handlers.messages import Incoming

def running_campaign(folder):  # as the running_campaign fixture of tests/conftest.py
    folder.mkdir()
    text = (campaign_module.EXAMPLES_DIR / "mau-2026-hai-cap.toml").read_text(encoding="utf-8")
    text = (text.replace('id = "mau-2026-hai-cap"', 'id = "thu-nghiem"').replace("example = true", "example = false")
            .replace("start = 2026-01-01", f"start = {date.today() - timedelta(days=60)}")
            .replace("end = 2026-12-31", f"end = {date.today() + timedelta(days=60)}"))
    (folder / "thu-nghiem.toml").write_text(text, encoding="utf-8")
    campaign_module.CAMPAIGNS_DIR = folder
    return campaign_module.load_campaign(folder / "thu-nghiem.toml")

async def main():
    folder = Path(tempfile.mkdtemp())
    campaign = running_campaign(folder / "campaigns")
    app = App(make_settings(folder))
    await app.prepare()
    for text in ("/start", "/menu", "làm căn cước ở đâu", "/help"):
        await app.router.handle(Incoming.from_text("console", "1", "1", text))
    rows = [FigureRow(1, "42", "42", {m.id: (200, 1000) for m in campaign.metrics})]
    async with app.sessions() as session:
        await grant_role(session, "console", "2", "official", None)
        assert (await import_figures(session, campaign, date.today(), ParsedFile(rows=rows), None, "seed", b"s")).ok
    [progress] = await app.router.handle(Incoming.from_text("console", "2", "2", "/progress"))
    await app.aclose()
    print(progress.photo[:8] == b"\\x89PNG\\r\\n\\x1a\\n", sorted(m for m in ("matplotlib", "openpyxl") if m in sys.modules))

asyncio.run(main())
"""


def test_a_bot_answering_questions_and_drawing_a_chart_has_not_imported_matplotlib_or_openpyxl():
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "True []"  # the chart was drawn in the chart process


async def test_the_chart_process_draws_reports_errors_survives_a_death_and_exits_when_idle():
    worker = ChartProcess(idle=0.3)
    png = await worker.render(sample_summary(), ChartWords())
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == render_chart(sample_summary())
    first = worker._process
    with pytest.raises(ChartError, match="AttributeError"):
        await worker.render("not a summary", ChartWords())
    assert worker._process is first  # an error in one chart does not end the process
    first.kill()
    await first.wait()
    assert (await worker.render(sample_summary(), ChartWords())).startswith(b"\x89PNG")  # started again
    second = worker._process
    assert second is not first
    # idle 0.3 s: the child ends by itself and gives its memory back (waited for, not slept for:
    # on a loaded machine it may take longer than a fixed sleep, and that is not what is tested)
    returncode = await asyncio.wait_for(second.wait(), timeout=60)
    assert returncode == 0 and not worker.running
    await worker.stop()


@pytest.mark.usefixtures("running_campaign")
async def test_the_chart_cache_is_bounded(app, monkeypatch):
    monkeypatch.setattr(summary_module, "CHART_CACHE", 3)
    monkeypatch.setattr(summary_module, "_charts", type(summary_module._charts)())
    a, b, _c = await communes(app)
    official = await make_official(app, "1")
    for i in range(summary_module.CHART_CACHE + 5):
        await seed_figures(app, today(app), {a.code: 0.01 * (i + 1), b.code: 0.5})  # a new version: a new chart
        [reply] = await official.say("/progress")
        assert reply.photo.startswith(b"\x89PNG")
    assert len(summary_module._charts) <= summary_module.CHART_CACHE


def test_the_matcher_memos_are_bounded(app):
    before = len(matcher_text._FOLDED)
    for i in range(matcher_text.FOLDED_AT_MOST + 100):
        _fold(f"rác{i}")
    assert len(matcher_text._FOLDED) <= max(before, matcher_text.FOLDED_AT_MOST)
    m = app.services.matcher
    for i in range(200):
        m.match(" ".join(f"từ{i}x{j}" for j in range(150)))
    assert len(m._parts) <= matcher_evidence.PARTS_AT_MOST
    assert m._match_cached.cache_info().maxsize > 0


MALLOC_PROBE = """
import sys
from bot.memory import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc()
big = b"x" * (20 << 20)
del big  # one large transient block (a hostile file, a 3 MB body): glibc raises its mmap threshold
blocks = [b"y" * (1 << 20) for _ in range(100)]  # then 100 MB in blocks of 1 MB
keep = blocks[-1:]
del blocks  # all freed but the last one
print(int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")
def test_freed_large_blocks_go_back_to_the_system_once_malloc_is_tuned():
    def rss_after(mode: str) -> int:
        result = subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode], cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        return int(result.stdout.split()[-1])

    plain, tuned = rss_after("plain"), rss_after("tuned")
    assert plain > 100 and tuned < plain - 80  # MB: glibc's default keeps the freed 99 MB


async def test_the_trim_loop_trims_until_stopped():
    from bot.memory import trim_loop

    stop = asyncio.Event()
    task = asyncio.create_task(trim_loop(stop, every=0.01))
    await asyncio.sleep(0.1)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, timeout=2)


STARTED = """
import asyncio, sys, tempfile
from pathlib import Path
from bot.app import App
import bot.server, bot.cli.run, bot.channels.telegram, bot.channels.zalo
from tests.conftest import make_settings
from handlers.messages import Incoming

async def main():
    app = App(make_settings(Path(tempfile.mkdtemp())))
    await app.prepare()
    await app.router.handle(Incoming.from_text("console", "1", "1", "/menu"))
    print(sorted(m for m in ("numpy", "scipy", "content.matcher") if m in sys.modules))
    await app.router.handle(Incoming.from_text("console", "1", "1", "nộp lệ phí trực tuyến thế nào"))
    print(sorted(m for m in ("numpy", "content.matcher") if m in sys.modules))
    await app.aclose()

asyncio.run(main())
"""


def test_the_matcher_and_numpy_are_loaded_by_the_first_question_not_at_start():
    # the handlers need only content.match_result at import; importing the matcher at start cost
    # 11 MB of the process's memory before anyone asked anything (bench/soak.py, 05/12/2026)
    result = subprocess.run([sys.executable, "-c", STARTED], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    at_start, after_a_question = result.stdout.strip().splitlines()[-2:]
    assert at_start == "[]"
    assert after_a_question == "['content.matcher', 'numpy']"
