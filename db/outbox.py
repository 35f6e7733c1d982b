"""The outbox: every proactive message waits here until the sender (bot/outbox.py) delivers it.

A handler enqueues in the same transaction as the change it announces, so a message exists
exactly when the change was committed. Delivery state follows FixMyStreet's ``send_fail_count``
pattern: attempts, last error, next attempt time.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, select
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
