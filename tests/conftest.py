"""Shared fixtures: a prepared App on a real SQLite file, and helpers to talk to its router."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import App
from bot.settings import Settings
from handlers.messages import Incoming

# The matcher's disk cache (content/matcher.py's default_cache_dir) of this tree's tests, apart from
# the user's: the cache keeps only its newest files, so tools or another checkout's tests building
# other contents on the same machine could delete the matcher a bot under test is about to read
# back (it would then learn it again, ~20 s, while a test waits 5 s for a reply: seen once in a
# clean-clone CI on 07/12/2026 while experiments ran beside it). Subprocesses inherit it.
os.environ["XDG_CACHE_HOME"] = str(Path(__file__).resolve().parent.parent / ".cache")

# CI replays the same property-test examples every run (a red CI must mean a change broke
# something); on a developer's machine hypothesis keeps exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", telegram_bot_token="",
                  admin_telegram_ids="", user_hash_salt="test-salt")
    values.update(overrides)
    return Settings(_env_file=None, **values)


def on_app(tmp_path, work):
    """``await work(app)`` on a prepared App over tmp_path's database, outside any event loop (as
    before a CLI command runs); returns what ``work`` returns."""

    async def run():
        application = App(make_settings(tmp_path))
        await application.prepare()
        try:
            return await work(application)
        finally:
            await application.aclose()

    return asyncio.run(run())


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """``python -m bot`` commands read the SQLite file of tmp_path and know no bot token."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("ZALO_BOT_TOKEN", "")
    return monkeypatch


@pytest.fixture
async def app(tmp_path):
    application = App(make_settings(tmp_path))
    await application.prepare()
    yield application
    await application.aclose()


class Talker:
    """Sends messages to the router as one console user and keeps the last replies."""

    def __init__(self, app: App, user_id: str = "1", platform: str = "console") -> None:
        self.app, self.user_id, self.platform = app, user_id, platform
        self.replies = []

    async def say(self, text: str):
        self.replies = await self.app.router.handle(
            Incoming.from_text(self.platform, self.user_id, self.user_id, text, display_name="Bà Lan"))
        return self.replies

    async def press(self, data: str):
        self.replies = await self.app.router.handle(
            Incoming(self.platform, self.user_id, self.user_id, display_name="Bà Lan", button=data))
        return self.replies

    async def send(self, incoming: Incoming):
        self.replies = await self.app.router.handle(incoming)
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    def button_data(self) -> list[str]:
        return [b.data for r in self.replies for b in r.all_buttons()]

    def button_labels(self) -> list[str]:
        return [b.label for r in self.replies for b in r.all_buttons()]


@pytest.fixture
def talker(app):
    return Talker(app)


@pytest.fixture
def running_campaign(tmp_path, monkeypatch):
    """A real campaign running today (the two-level example with example = false, 60 days either
    side), in a campaigns folder of its own: the repository's campaigns have all ended."""
    from datetime import date, timedelta

    import content.campaign as campaign_module

    folder = tmp_path / "campaigns"
    folder.mkdir()
    for path in campaign_module.CAMPAIGNS_DIR.glob("*.toml"):  # the real ones (plan 195) too
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    text = (campaign_module.EXAMPLES_DIR / "mau-2026-hai-cap.toml").read_text(encoding="utf-8")
    today = date.today()
    text = (text.replace('id = "mau-2026-hai-cap"', 'id = "thu-nghiem"').replace("example = true", "example = false")
            .replace("start = 2026-01-01", f"start = {today - timedelta(days=60)}")
            .replace("end = 2026-12-31", f"end = {today + timedelta(days=60)}"))
    (folder / "thu-nghiem.toml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(campaign_module, "CAMPAIGNS_DIR", folder)
    return campaign_module.load_campaign(folder / "thu-nghiem.toml")


@pytest.fixture(scope="session", autouse=True)
def built_matcher():
    """The knowledge base's matcher built once, before any test, into its disk cache
    (``content/matcher_cache.py``): a bot under test then reads it back whole (~30 ms) instead of
    learning it (several seconds, longer on a loaded machine) while a test waits for a reply."""
    from content.kb import KnowledgeBase
    from content.matcher import Matcher

    return Matcher.from_kb(KnowledgeBase.load())
