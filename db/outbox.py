"""The outbox: every proactive message waits here until the sender (bot/outbox.py) delivers it.

A handler enqueues in the same transaction as the change it announces, so a message exists
exactly when the change was committed. Delivery state follows FixMyStreet's ``send_fail_count``
pattern: attempts, last error, next attempt time.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.dialog import remember_buttons
from db.locks import lock_user
from db.models import DialogState, User

ButtonRows = list[list[tuple[str, str]]]  # rows of (label, data)


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sending = "sending"  # claimed by the sender; left here only by a crash mid-delivery
    sent = "sent"
    failed = "failed"  # the last attempt failed; retried at next_attempt_at
    dead = "dead"  # given up: recipient gone or too many failures


class OutboxBlob(Base):
    """A photo shared by many outbox messages (one chart for every official)."""

    __tablename__ = "outbox_blobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list] = mapped_column(JSON, default=list)  # rows of [label, data]
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_blobs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # Who is sending it and since when (status ``sending``): a lease another sender may take
    # back only after it expired (bot/outbox.py, CLAIM_LEASE).
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column()



async def store_blob(session: AsyncSession, data: bytes) -> int:
    """Store a photo once; pass the id to many :func:`enqueue` calls."""
    blob = OutboxBlob(data=data)
    session.add(blob)
    await session.flush()
    return blob.id


async def drop_blob(session: AsyncSession, blob_id: int | None) -> None:
    """Delete a photo no message uses (stored for messages that turned out to be queued already)."""
    if blob_id is not None:
        await session.execute(delete(OutboxBlob).where(OutboxBlob.id == blob_id))


async def enqueue_message(session: AsyncSession, user_id: int, text: str, buttons: ButtonRows, kind: str,
                          dedupe_key: str | None = None, photo: bytes | None = None,
                          photo_id: int | None = None) -> OutboxMessage | None:
    """Queue a message for ``user_id``; a second call with the same ``dedupe_key`` does nothing.

    The message's buttons become pressable for the recipient right away (the router refuses
    button data it never showed to a user).
    """
    if dedupe_key is not None and await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    if photo_id is None and photo is not None:
        photo_id = await store_blob(session, photo)
    message = OutboxMessage(
        user_id=user_id, kind=kind, dedupe_key=dedupe_key, text=text,
        buttons=[[[label, data] for label, data in row] for row in buttons], photo_id=photo_id,
        status=OutboxStatus.pending.value, attempts=0, next_attempt_at=utcnow(), last_error="")
    session.add(message)
    data = [data for row in buttons for _label, data in row]
    if data:
        # The recipient's dialog state is theirs: take their lock, as their own messages do.
        identity = (await session.execute(select(User.platform, User.platform_user_id)
                                          .where(User.id == user_id))).first()
        if identity is not None:
            await lock_user(session, *identity)
        state = await session.get(DialogState, user_id)
        if state is None:
            state = DialogState(user_id=user_id, data={}, options=[], shown=[])
            session.add(state)
        options = state.options
        remember_buttons(state, [data])
        state.options = options  # pressable now; the numbered options change when it is delivered
    await session.flush()
    return message


# ---------------------------------------------------------------- claims (the sender's side)

RETRYABLE = (OutboxStatus.pending.value, OutboxStatus.failed.value)


async def claim_due(session: AsyncSession, holder: str, platforms: list[str], limit: int,
                    only_users: list[str] | None = None) -> list[int]:
    """Claim up to ``limit`` due messages for ``holder`` (status ``sending``, stamped); commit.

    PostgreSQL: one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, so two
    senders never claim the same row. SQLite: a conditional UPDATE per candidate, kept only when
    it changed a row (another process may have claimed it in between).
    """
    now = utcnow()
    due = (select(OutboxMessage.id).join(User, User.id == OutboxMessage.user_id)
           .where(OutboxMessage.status.in_(RETRYABLE), OutboxMessage.next_attempt_at <= now,
                  User.platform.in_(platforms))
           .order_by(OutboxMessage.id).limit(limit))
    if only_users is not None:  # these platform user ids only (the terminal chat's own)
        due = due.where(User.platform_user_id.in_(only_users))
    claim = dict(status=OutboxStatus.sending.value, claimed_by=holder, claimed_at=now)
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(due.with_for_update(of=OutboxMessage, skip_locked=True)
                                                            .scalar_subquery()))
            .values(**claim).returning(OutboxMessage.id))
        claimed = sorted(rows.all())
    else:
        claimed = []
        for message_id in (await session.scalars(due)).all():
            result = await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status.in_(RETRYABLE))
                .values(**claim))
            if result.rowcount == 1:
                claimed.append(message_id)
    await session.commit()
    return claimed


async def release_claims(session: AsyncSession, holder: str, ids: list[int]) -> None:
    """Give back claimed messages that were not attempted (the sender is stopping)."""
    if ids:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == holder,
                                        OutboxMessage.status == OutboxStatus.sending.value)
            .values(status=OutboxStatus.pending.value, claimed_by=None, claimed_at=None))
        await session.commit()


async def recover_expired(session: AsyncSession, lease_seconds: float, platforms: list[str] | None = None,
                          only_users: list[str] | None = None) -> int:
    """Queue again what a crashed sender left in ``sending``: only claims older than the lease
    (of ``only_users`` on ``platforms`` when given)."""
    now = utcnow()
    query = update(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.sending.value,
        or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - timedelta(seconds=lease_seconds)))
    if only_users is not None:
        query = query.where(OutboxMessage.user_id.in_(select(User.id).where(
            User.platform.in_(platforms or []), User.platform_user_id.in_(only_users))))
    result = await session.execute(
        query.values(status=OutboxStatus.pending.value, next_attempt_at=now, claimed_by=None, claimed_at=None))
    await session.commit()
    return result.rowcount or 0


async def purge_unused_blobs(session: AsyncSession) -> int:
    """Delete photos no waiting message uses any more (charts of summaries already delivered)."""
    waiting = select(OutboxMessage.photo_id).where(
        OutboxMessage.photo_id.is_not(None),
        OutboxMessage.status.in_((*RETRYABLE, OutboxStatus.sending.value)))
    result = await session.execute(delete(OutboxBlob).where(OutboxBlob.id.not_in(waiting)))
    return result.rowcount or 0
