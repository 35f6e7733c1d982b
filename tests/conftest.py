"""Shared fixtures: a prepared App on a real SQLite file, and helpers to talk to its router."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.settings import Settings
from handlers.messages import Incoming


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", telegram_bot_token="",
                  admin_telegram_ids="", user_hash_salt="test-salt")
    values.update(overrides)
    return Settings(_env_file=None, **values)


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
