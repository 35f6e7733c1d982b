"""The same core on a real PostgreSQL server (the multi-worker set-up): migrations, users, dialogs.

`make test` starts a throw-away server with scripts/postgres.sh and sets TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select, text

from bot.app import App
from db.models import AdminUnit, DialogState, User
from handlers.messages import Incoming
from tests.conftest import Talker, make_settings

URL = os.environ.get("TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL and not os.environ.get("CI"),
                                reason="TEST_POSTGRES_URL not set (make test starts PostgreSQL)")


@pytest.fixture
async def pg_app(tmp_path):
    """An App on a fresh PostgreSQL database, dropped afterwards."""
    if not URL:
        pytest.fail("CI must run the PostgreSQL tests: TEST_POSTGRES_URL is not set")
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = URL.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    app = App(make_settings(tmp_path, database_url=URL.rsplit("/", 1)[0] + f"/{name}"))
    try:
        await app.prepare()
        yield app
    finally:
        await app.aclose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_and_seed_data_apply_on_postgresql(pg_app):
    async with pg_app.sessions() as session:
        version = await session.scalar(text("SELECT version()"))
        communes = await session.scalar(select(text("count(*)")).select_from(AdminUnit).where(AdminUnit.level == "xa"))
    assert version.startswith("PostgreSQL")
    assert communes == 69


async def test_a_conversation_keeps_its_state_in_postgresql(pg_app):
    talker = Talker(pg_app, "31", platform="telegram")
    await talker.say("/language")
    await talker.press("lang:en")
    assert talker.text == "Language set to English."
    await talker.press("lang:vi")  # shown in the same menu: still pressable
    async with pg_app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == "31"))
        state = await session.get(DialogState, user.id)
    assert user.locale == "vi" and "lang:en" in state.shown


async def test_a_redelivered_update_is_handled_once_on_postgresql(pg_app):
    first = await pg_app.router.handle(Incoming.from_text("telegram", "32", "32", "/start", update_id="77"))
    again = await pg_app.router.handle(Incoming.from_text("telegram", "32", "32", "/start", update_id="77"))
    assert first and again == []


async def test_free_text_guidance_works_on_postgresql(pg_app):
    talker = Talker(pg_app, "33", platform="telegram")
    await talker.say("lam sao nop phi online")
    assert "g:up:payment.how" in talker.button_data()
