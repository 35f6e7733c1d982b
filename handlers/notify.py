"""The one way a handler sends a message to another user: queue it in the outbox.

The message is queued in the handler's transaction, so it exists exactly when the change it
announces is committed; the outbox sender (``bot/outbox.py``) delivers it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.outbox import OutboxMessage, enqueue_message
from handlers.messages import Button, Reply


async def enqueue(session: AsyncSession, user_id: int, reply: Reply, kind: str,
                  dedupe_key: str | None = None, photo_id: int | None = None) -> OutboxMessage | None:
    """Queue ``reply`` for ``user_id``; a second call with the same ``dedupe_key`` does nothing.

    The message's buttons become pressable for the recipient right away (the router refuses
    button data it never showed to a user).
    """
    buttons = [[(b.label, b.data) for b in row] for row in reply.buttons]
    return await enqueue_message(session, user_id, reply.text, buttons, kind, dedupe_key=dedupe_key,
                                 photo=reply.photo, photo_id=photo_id)


def reply_of(message: OutboxMessage, photo: bytes | None = None) -> Reply:
    """The :class:`Reply` a queued message stands for."""
    rows = [[Button(label, data) for label, data in row] for row in (message.buttons or [])]
    return Reply(message.text, buttons=rows, photo=photo)
