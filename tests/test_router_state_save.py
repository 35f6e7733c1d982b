"""The router writes the dialog state with one prebuilt UPDATE (not a unit-of-work flush):
what a handler sets is saved, and the next message sees it."""

from __future__ import annotations

from sqlalchemy import select

from db.models import DialogState
from handlers.messages import Incoming, Reply


def _msg(text: str, update_id: str) -> Incoming:
    return Incoming.from_text("telegram", "9", "9", text, update_id=update_id)


async def test_dialog_state_set_by_a_handler_is_saved_and_seen_next_message(app):
    seen = []

    @app.router.registry.command("begin")
    async def begin(ctx):
        ctx.start_dialog("quiz", "q1", {"score": 1})
        return Reply("first?")

    @app.router.registry.dialog("quiz")
    async def quiz(ctx):
        seen.append((ctx.state.step, dict(ctx.state.data)))
        ctx.set_step("q2", score=ctx.state.data["score"] + 1)
        return Reply("second?")

    await app.router.handle(_msg("/start", "1"))  # a new user: the state is inserted
    await app.router.handle(_msg("/begin", "2"))
    async with app.sessions() as session:
        before = (await session.scalars(select(DialogState))).one().updated
    await app.router.handle(_msg("an answer", "3"))
    await app.router.handle(_msg("another", "4"))
    assert seen == [("q1", {"score": 1}), ("q2", {"score": 2})]
    async with app.sessions() as session:
        state = (await session.scalars(select(DialogState))).one()
    assert (state.dialog, state.step, state.data) == ("quiz", "q2", {"score": 3})
    assert state.updated >= before
    assert await app.router.handle(_msg("another", "4")) == []  # still de-duplicated
