"""Two members pressing "Tôi nhận" at once on PostgreSQL, where their transactions really overlap."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from db.help_requests import HelpEvent, HelpRequest
from tests.test_help_requests import Person, ask, people
from tests.test_postgres import URL, pg_app  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(not URL, reason="TEST_POSTGRES_URL not set (make test starts PostgreSQL)")


async def test_each_request_gets_exactly_one_taker_when_two_members_press_at_once(pg_app):  # noqa: F811
    await people(pg_app, village_member=False)
    for citizen in ("41", "42", "43"):
        await ask(Person(pg_app, citizen))
    first, second = Person(pg_app, "2"), Person(pg_app, "3")
    for request_id in (1, 2, 3):
        await asyncio.gather(first.press(f"hr:t:{request_id}"), second.press(f"hr:t:{request_id}"))
        assert sum("Bạn đã nhận" in p.text for p in (first, second)) == 1
    async with pg_app.sessions() as session:
        requests = (await session.scalars(select(HelpRequest).order_by(HelpRequest.id))).all()
        taken_events = (await session.scalars(select(HelpEvent).where(HelpEvent.action == "taken"))).all()
    assert [r.status for r in requests] == ["taken"] * 3 and all(r.taker_id for r in requests)
    assert len(taken_events) == 3
