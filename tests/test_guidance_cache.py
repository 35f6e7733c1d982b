"""The question-rule cache behind db.guidance.mapped_topic: no query per message, never stale
in this process after resolve_group, and other processes' rules seen within the TTL."""

from __future__ import annotations

from sqlalchemy import event, insert

from db import guidance as inbox
from db.session import create_engine, make_sessionmaker


def _count_selects(app) -> list[str]:
    seen: list[str] = []

    @event.listens_for(app.engine.sync_engine, "before_cursor_execute")
    def _on(_conn, _cursor, statement, *_args):
        if "question_rules" in statement:
            seen.append(statement)

    return seen


async def _log_and_group(session, text: str) -> int:
    await inbox.log_question(session, kind=inbox.InboxKind.unanswered, text=text, user_hash="h")
    [group] = await inbox.open_groups(session)
    return group.id


async def test_rules_are_read_once_not_per_message(app):
    seen = _count_selects(app)
    for _ in range(5):
        async with app.sessions() as session:
            assert await inbox.mapped_topic(session, "anything at all") is None
    assert len(seen) == 1


async def test_a_resolved_group_is_seen_at_once_after_commit(app):
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "xin giấy xác nhận cư trú") is None  # cached: no rule
        group = await _log_and_group(session, "xin giấy xác nhận cư trú")
        await inbox.resolve_group(session, group, "portal.find_procedure")
        # another session cannot see the uncommitted rule, and must not cache its absence for long
        async with app.sessions() as other:
            assert await inbox.mapped_topic(other, "Xin giay xac nhan cu tru") is None
        await session.commit()
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "Xin giay xac nhan cu tru") == "portal.find_procedure"


async def test_a_rolled_back_resolution_leaves_no_rule_behind(app):
    async with app.sessions() as session:
        group = await _log_and_group(session, "đổi bằng lái xe")
        await session.commit()
        await inbox.resolve_group(session, group, "portal.find_procedure")
        # the resolving session sees its own rule, but does not put it in the shared cache
        assert await inbox.mapped_topic(session, "doi bang lai xe") == "portal.find_procedure"
        await session.rollback()
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "doi bang lai xe") is None


async def test_rules_from_another_process_show_after_the_ttl(app, monkeypatch):
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "giá vàng") is None
    other_engine = create_engine(app.settings.database_url)  # stands for the CLI's process
    try:
        async with make_sessionmaker(other_engine)() as other:
            await other.execute(insert(inbox.QuestionRule).values(folded="gia vang", topic_id="payment.how"))
            await other.commit()
    finally:
        await other_engine.dispose()
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "giá vàng") is None  # still within the TTL
    monkeypatch.setattr(inbox, "RULE_CACHE_TTL", 0.0)
    async with app.sessions() as session:
        assert await inbox.mapped_topic(session, "giá vàng") == "payment.how"
