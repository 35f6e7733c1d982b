"""The outbox and its sender: dedupe, 429 retry_after, 403, backoff, crash recovery, rate."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.outbox import MAX_ATTEMPTS, OutboxSender, backoff
from db.base import utcnow
from db.models import DialogState, Role, User
from db.outbox import OutboxMessage, store_blob
from handlers.messages import Button, RateLimited, RecipientGone, Reply
from handlers.notify import enqueue


class FakeChannel:
    def __init__(self, failures=None):
        self.sent: list[tuple[str, Reply, float]] = []
        self.failures = list(failures or [])  # exceptions raised by the next calls, in order

    async def __call__(self, chat_id: str, reply: Reply) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, reply, time.monotonic()))


async def make_users(app, n=1, platform="telegram"):
    async with app.sessions() as session:
        users = [User(platform=platform, platform_user_id=str(100 + i), chat_id=str(100 + i), role=Role.citizen)
                 for i in range(n)]
        session.add_all(users)
        await session.commit()
        return [u.id for u in users]


async def queue(app, user_id, text="xin chào", **kw):
    async with app.sessions() as session:
        message = await enqueue(session, user_id, Reply(text, **kw.pop("reply_kw", {})), kind="test", **kw)
        await session.commit()
        return message


async def rows(app):
    async with app.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_messages_are_sent_in_order_and_marked_sent(app):
    [uid] = await make_users(app)
    for i in range(3):
        await queue(app, uid, f"tin {i}")
    channel = FakeChannel()
    assert await OutboxSender(app, {"telegram": channel}, rate=0).drain() == 3
    assert [r.text for _, r, _ in channel.sent] == ["tin 0", "tin 1", "tin 2"]
    assert {m.status for m in await rows(app)} == {"sent"}
    assert all(m.sent_at for m in await rows(app))
    assert await OutboxSender(app, {"telegram": channel}, rate=0).drain() == 0  # nothing twice


async def test_a_second_enqueue_with_the_same_dedupe_key_does_nothing(app):
    [uid] = await make_users(app)
    assert await queue(app, uid, dedupe_key="daily:2025-06-01:1") is not None
    assert await queue(app, uid, dedupe_key="daily:2025-06-01:1") is None
    assert len(await rows(app)) == 1


async def test_buttons_of_a_queued_message_become_pressable_for_the_recipient(app):
    [uid] = await make_users(app)
    await queue(app, uid, reply_kw={"buttons": [[Button("Mở", "ro:o:5")]]})
    async with app.sessions() as session:
        assert "ro:o:5" in (await session.get(DialogState, uid)).shown


async def test_one_photo_blob_is_shared_by_many_messages(app):
    ids = await make_users(app, 3)
    async with app.sessions() as session:
        blob = await store_blob(session, b"chart-bytes")
        for uid in ids:
            await enqueue(session, uid, Reply("tóm tắt"), kind="summary", photo_id=blob)
        await session.commit()
    channel = FakeChannel()
    await OutboxSender(app, {"telegram": channel}, rate=0).drain()
    assert [r.photo for _, r, _ in channel.sent] == [b"chart-bytes"] * 3


async def test_429_waits_retry_after_and_is_not_counted_as_a_failure(app):
    [uid] = await make_users(app)
    await queue(app, uid)
    channel = FakeChannel([RateLimited(0.3)])
    started = time.monotonic()
    assert await OutboxSender(app, {"telegram": channel}, rate=0).drain() == 1
    assert channel.sent[0][2] - started >= 0.3
    [message] = await rows(app)
    assert message.status == "sent" and message.attempts == 0


async def test_a_long_retry_after_puts_the_message_back_in_the_queue(app):
    [uid] = await make_users(app)
    await queue(app, uid)
    await OutboxSender(app, {"telegram": FakeChannel([RateLimited(600)])}, rate=0).drain()
    [message] = await rows(app)
    assert message.status == "pending" and message.attempts == 0
    assert message.next_attempt_at.replace(tzinfo=None) > (utcnow() + timedelta(seconds=500)).replace(tzinfo=None)


async def test_403_marks_the_recipient_inactive_and_the_message_dead(app):
    [uid] = await make_users(app)
    await queue(app, uid, "một")
    await queue(app, uid, "hai")
    channel = FakeChannel([RecipientGone("Forbidden: bot was blocked by the user")])
    assert await OutboxSender(app, {"telegram": channel}, rate=0).drain() == 0
    assert [m.status for m in await rows(app)] == ["dead", "dead"]  # no second try at a blocked user
    async with app.sessions() as session:
        assert (await session.get(User, uid)).active is False


async def test_other_errors_back_off_exponentially_and_die_after_8_attempts(app):
    assert [backoff(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff(20) == 3600
    [uid] = await make_users(app)
    await queue(app, uid)
    channel = FakeChannel([RuntimeError("network")] * MAX_ATTEMPTS)
    sender = OutboxSender(app, {"telegram": channel}, rate=0)
    await sender.drain()
    [message] = await rows(app)
    assert message.status == "failed" and message.attempts == 1 and "network" in message.last_error
    delay = (message.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 3 < delay <= 5
    for _attempt in range(2, MAX_ATTEMPTS + 1):
        async with app.sessions() as session:  # time passes
            await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            await session.commit()
        await sender.drain()
    [message] = await rows(app)
    assert message.status == "dead" and message.attempts == MAX_ATTEMPTS and channel.sent == []


async def test_a_message_left_sending_by_a_crash_is_sent_on_the_next_start(app):
    [uid] = await make_users(app)
    await queue(app, uid)
    async with app.sessions() as session:
        await session.execute(update(OutboxMessage).values(status="sending"))
        await session.commit()
    channel = FakeChannel()
    assert await OutboxSender(app, {"telegram": channel}, rate=0).drain() == 1
    assert [m.status for m in await rows(app)] == ["sent"]


async def test_a_crash_during_delivery_leaves_the_message_sending_not_sent(app):
    [uid] = await make_users(app)
    await queue(app, uid)

    class Crash(BaseException):
        """Stands for the process dying in the middle of a send."""

    async def dies(chat_id, reply):
        raise Crash()

    with pytest.raises(Crash):
        await OutboxSender(app, {"telegram": dies}, rate=0).drain()
    assert [m.status for m in await rows(app)] == ["sending"]


async def test_the_sender_keeps_to_its_rate(app):
    ids = await make_users(app, 6)
    for uid in ids:
        await queue(app, uid)
    channel = FakeChannel()
    await OutboxSender(app, {"telegram": channel}, rate=20).drain()
    times = [t for _, _, t in channel.sent]
    assert len(times) == 6 and times[-1] - times[0] >= 5 / 20 * 0.95


async def test_messages_for_platforms_without_a_channel_wait(app):
    [uid] = await make_users(app, platform="console")
    await queue(app, uid)
    assert await OutboxSender(app, {"telegram": FakeChannel()}, rate=0).drain() == 0
    assert [m.status for m in await rows(app)] == ["pending"]


async def test_a_message_a_handler_queues_commits_with_the_handlers_transaction(app):
    from tests.conftest import Talker

    [uid] = await make_users(app)

    @app.router.registry.command("poke")
    async def poke(ctx):
        await enqueue(ctx.session, uid, Reply("có người nhắc bạn"), kind="notify")
        return Reply("ok")

    await Talker(app, "1").say("/poke")
    [message] = await rows(app)
    assert message.kind == "notify" and message.user_id == uid and message.text == "có người nhắc bạn"


async def test_recovery_takes_back_only_claims_whose_lease_expired(app):
    """A second sender starting (or a restart) never resends what a live sender is delivering."""
    first, second = await make_users(app, 2)
    await queue(app, first)
    await queue(app, second)
    async with app.sessions() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.user_id == first).values(
            status="sending", claimed_by="other-process", claimed_at=utcnow()))  # being sent now
        await session.execute(update(OutboxMessage).where(OutboxMessage.user_id == second).values(
            status="sending", claimed_by="dead-process", claimed_at=utcnow() - timedelta(seconds=400)))
        await session.commit()
    channel = FakeChannel()
    assert await OutboxSender(app, {"telegram": channel}, rate=0, lease=300).drain() == 1
    statuses = {m.user_id: (m.status, m.claimed_by) for m in await rows(app)}
    assert statuses == {first: ("sending", "other-process"), second: ("sent", None)}


async def test_two_senders_draining_at_once_deliver_each_message_once(app):
    ids = await make_users(app, 30)
    for uid in ids:
        await queue(app, uid)
    channel = FakeChannel()

    async def slow(chat_id, reply):
        await asyncio.sleep(0.001)
        await channel(chat_id, reply)

    senders = [OutboxSender(app, {"telegram": slow}, rate=0) for _ in range(2)]
    counts = await asyncio.gather(*(sender.drain() for sender in senders))
    assert sum(counts) == 30 and all(counts)  # both sent some
    assert len(channel.sent) == 30 and len({chat for chat, _, _ in channel.sent}) == 30
