"""The one rate-limited sender of proactive messages: it delivers what ``db.outbox`` queued.

Each message is marked ``sending`` (committed) before the platform call and ``sent``
(committed) right after it. A crash between those two commits leaves the row in ``sending``;
on the next start it is sent again. That is the only way a message can go out twice, and the
window is one UPDATE statement long. A crash before the platform call loses nothing either:
the row is still there and is retried.

Messages go out one at a time, in queue order, at most ``rate`` per second overall (the
Telegram wiki's limit is about 30/s; never ``gather`` thousands of sends).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from db.base import utcnow
from db.models import User
from db.outbox import OutboxBlob, OutboxMessage, OutboxStatus
from handlers.messages import RateLimited, RecipientGone, Reply
from handlers.notify import reply_of

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel

log = logging.getLogger(__name__)

Deliver = Callable[[str, Reply], Awaitable[None]]

MAX_ATTEMPTS = 8
BASE_BACKOFF = 5.0  # seconds; doubled at every failed attempt
MAX_BACKOFF = 3600.0
MAX_INLINE_WAIT = 60.0  # a longer retry_after puts the message back in the queue instead
BATCH = 50
RETRYABLE = (OutboxStatus.pending.value, OutboxStatus.failed.value)


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: 5, 10, 20 … at most one hour."""
    return min(BASE_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


class OutboxSender:
    """Deliver due outbox messages through ``channels`` (channels, or platform → deliver(chat_id, reply))."""

    def __init__(self, app: App, channels: Mapping[str, Deliver] | Iterable[Channel], rate: float | None = None,
                 idle: float = 1.0, only_users: Collection[str] | None = None) -> None:
        self.app = app
        # The terminal chat delivers only its own users' messages (platform user ids): two
        # terminals on one database must not print each other's.
        self.only_users = sorted(only_users) if only_users is not None else None
        self.channels: dict[str, Deliver] = (dict(channels) if isinstance(channels, Mapping)
                                             else {channel.platform: channel.deliver for channel in channels})
        self.rate = rate if rate is not None else app.settings.broadcast_rate
        self.idle = idle  # seconds between polls when nothing is due
        self._next_slot = 0.0
        self._recovered = False
        self.sent_count = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set."""
        while not stop.is_set():
            try:
                sent = await self.drain(stop)
            except Exception:  # noqa: BLE001 - the sender must survive a bad moment
                log.exception("outbox sender failed; retrying shortly")
                sent = 0
            if not sent:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.idle)
                except TimeoutError:
                    pass

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Send everything that is due now; return how many messages were delivered."""
        await self.recover()
        delivered = 0
        while stop is None or not stop.is_set():
            batch = await self._due()
            if not batch:
                break
            for message_id in batch:
                if stop is not None and stop.is_set():
                    break
                delivered += await self._send_one(message_id)
        return delivered

    async def recover(self) -> int:
        """Put back in the queue what a crash left in ``sending`` (once per sender)."""
        if self._recovered:
            return 0
        self._recovered = True
        async with self.app.sessions() as session:
            query = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.sending.value)
            if self.only_users is not None:
                query = query.where(OutboxMessage.user_id.in_(self._own_user_ids()))
            result = await session.execute(query.values(status=OutboxStatus.pending.value, next_attempt_at=utcnow()))
            await session.commit()
        if result.rowcount:
            log.warning("outbox: %d message(s) interrupted by a crash will be sent again", result.rowcount)
        return result.rowcount or 0

    def _own_user_ids(self):
        return select(User.id).where(User.platform.in_(list(self.channels)),
                                     User.platform_user_id.in_(self.only_users or []))

    async def _due(self) -> list[int]:
        async with self.app.sessions() as session:
            query = (select(OutboxMessage.id).join(User, User.id == OutboxMessage.user_id)
                     .where(OutboxMessage.status.in_(RETRYABLE),
                            OutboxMessage.next_attempt_at <= utcnow(),
                            User.platform.in_(list(self.channels))))
            if self.only_users is not None:
                query = query.where(User.platform_user_id.in_(self.only_users))
            rows = await session.scalars(query.order_by(OutboxMessage.id).limit(BATCH))
            return list(rows)

    async def _throttle(self) -> None:
        """A token bucket of size one: sends are spaced 1/rate seconds apart."""
        now = time.monotonic()
        wait = self._next_slot - now
        if wait > 0:  # also the pause a 429's retry_after asked for
            await asyncio.sleep(wait)
        self._next_slot = max(now, self._next_slot) + (1.0 / self.rate if self.rate > 0 else 0.0)

    async def _send_one(self, message_id: int) -> int:
        async with self.app.sessions() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is None or message.status not in RETRYABLE:
                return 0
            user = await session.get(User, message.user_id)
            if user is None or not user.active or not user.chat_id:
                message.status, message.last_error = OutboxStatus.dead.value, "recipient inactive"
                await session.commit()
                return 0
            photo = None
            if message.photo_id is not None:
                blob = await session.get(OutboxBlob, message.photo_id)
                photo = blob.data if blob is not None else None
            reply = reply_of(message, photo)
            reply.locale = user.locale
            deliver, chat_id = self.channels[user.platform], user.chat_id
            message.status = OutboxStatus.sending.value
            await session.commit()

        while True:
            await self._throttle()
            try:
                await deliver(chat_id, reply)
            except RateLimited as exc:
                if exc.retry_after <= MAX_INLINE_WAIT:
                    log.info("outbox: rate limited, waiting %.1fs", exc.retry_after)
                    self._next_slot = time.monotonic() + exc.retry_after
                    continue  # not a failure: the same message goes next
                await self._finish(message_id, status=OutboxStatus.pending, error=str(exc),
                                   delay=exc.retry_after)
                return 0
            except RecipientGone as exc:
                await self._finish(message_id, status=OutboxStatus.dead, error=str(exc), gone=True)
                return 0
            except Exception as exc:  # noqa: BLE001 - any other failure is retried with backoff
                log.warning("outbox: message %s failed: %s", message_id, exc)
                await self._finish(message_id, status=None, error=f"{type(exc).__name__}: {exc}")
                return 0
            break
        # The duplicate window: from the platform's answer to this commit.
        async with self.app.sessions() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                                  .values(status=OutboxStatus.sent.value, sent_at=utcnow()))
            await session.commit()
        self.sent_count += 1
        return 1

    async def _finish(self, message_id: int, status: OutboxStatus | None, error: str,
                      delay: float = 0.0, gone: bool = False) -> None:
        async with self.app.sessions() as session:
            message = await session.get(OutboxMessage, message_id)
            message.last_error = error[:500]
            if gone:
                message.status = OutboxStatus.dead.value
                user = await session.get(User, message.user_id)
                if user is not None:
                    user.active = False
            elif status is OutboxStatus.pending:
                message.status = OutboxStatus.pending.value
                message.next_attempt_at = utcnow() + timedelta(seconds=delay)
            else:
                message.attempts += 1
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxStatus.dead.value
                else:
                    message.status = OutboxStatus.failed.value
                    message.next_attempt_at = utcnow() + timedelta(seconds=backoff(message.attempts))
            await session.commit()
