"""The router's per-message database work: few statements, and de-duplication that holds
when a handler commits part-way or fails."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from db.models import DialogState, ProcessedUpdate, User
from handlers.messages import Incoming, Reply


def _statements(app) -> list[str]:
    seen: list[str] = []

    @event.listens_for(app.engine.sync_engine, "before_cursor_execute")
    def _on(_conn, _cursor, statement, *_args):
        seen.append(statement.split()[0].upper())

    @event.listens_for(app.engine.sync_engine, "commit")
    def _on_commit(_conn):
        seen.append("COMMIT")

    return seen


def _msg(user: str, text: str, update_id: str, name: str = "Bà Lan") -> Incoming:
    return Incoming.from_text("telegram", user, user, text, display_name=name, update_id=update_id)


async def test_a_known_user_costs_insert_select_update_commit(app):
    await app.router.handle(_msg("5", "/help", "1"))
    seen = _statements(app)
    await app.router.handle(_msg("5", "/help", "2"))
    assert seen == ["INSERT", "SELECT", "UPDATE", "COMMIT"]


async def test_changes_to_the_user_are_saved_without_a_flush_of_their_own(app):
    await app.router.handle(_msg("5", "/start", "1", name="Old"))
    await app.router.handle(_msg("5", "/help", "2", name="New name"))
    async with app.sessions() as session:
        user, state = (await session.execute(
            select(User, DialogState).join(DialogState, DialogState.user_id == User.id))).one()
        assert user.display_name == "New name" and user.active
        assert state.shown  # the menu buttons shown were remembered
        keys = set(await session.scalars(select(ProcessedUpdate.key)))
    assert keys == {"telegram:1", "telegram:2"}


async def test_a_duplicate_never_reaches_a_handler_even_after_a_mid_way_commit(app):
    calls = []

    @app.router.registry.command("commitsmidway")
    async def commits_midway(ctx):
        calls.append(ctx.incoming.update_id)
        ctx.start_dialog("x", "y")
        await ctx.session.commit()  # as progress imports do
        return Reply("done")

    assert [r.text for r in await app.router.handle(_msg("5", "/commitsmidway", "41"))] == ["done"]
    assert await app.router.handle(_msg("5", "/commitsmidway", "41")) == []
    assert calls == ["41"]


async def test_an_update_whose_handler_failed_is_handled_on_redelivery(app):
    calls = []

    @app.router.registry.command("failsonce")
    async def fails_once(ctx):
        calls.append(ctx.incoming.update_id)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return Reply("ok")

    with pytest.raises(RuntimeError):
        await app.router.handle(_msg("5", "/failsonce", "51"))
    # nothing was committed, so the redelivered update is not a duplicate
    assert [r.text for r in await app.router.handle(_msg("5", "/failsonce", "51"))] == ["ok"]
    assert calls == ["51", "51"]
