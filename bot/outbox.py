"""The one rate-limited sender of proactive messages: it delivers what ``db.outbox`` queued.

A sender claims due messages atomically (status ``sending``, stamped with who and when;
``db.outbox.claim_due``), delivers each, and marks it ``sent`` (committed) right after the
platform call. Only one process sends at a time (the leader, ``bot/leader.py``), so the whole
deployment keeps to ``BROADCAST_RATE``; the claims make even two senders (a crash, a takeover)
deliver each message once.

The one way a message can go out twice: the sending process dies after the platform accepted
the message and before the ``sent`` commit (one UPDATE statement). The Bot APIs have no
idempotency key, so that window is accepted and stated (README). A claim is taken back only
after its lease (:data:`CLAIM_LEASE`) expired, so another sender never resends what a live
sender is delivering. A crash before the platform call loses nothing: the row is still there
and is retried once its lease expired.

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

from sqlalchemy import update

from bot.leader import process_id
from db.base import utcnow
from db.models import User
from db.outbox import OutboxBlob, OutboxMessage, OutboxStatus, claim_due, recover_expired, release_claims
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
CLAIM_BATCH = 10  # claimed at once: 0.4 s of sending at 25/s
# A claim older than this is a crashed sender's: longer than one attempt can take (a 60 s
# inline wait for a 429 plus the HTTP timeouts).
CLAIM_LEASE = 300.0


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: 5, 10, 20 … at most one hour."""
    return min(BASE_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


class OutboxSender:
    """Deliver due outbox messages through ``channels`` (channels, or platform → deliver(chat_id, reply))."""

    def __init__(self, app: App, channels: Mapping[str, Deliver] | Iterable[Channel], rate: float | None = None,
                 idle: float = 1.0, holder: str | None = None, lease: float | None = None,
                 only_users: Collection[str] | None = None) -> None:
        self.app = app
        # The terminal chat delivers only its own users' messages (platform user ids): two
        # terminals on one database must not print each other's.
        self.only_users = sorted(only_users) if only_users is not None else None
        self.channels: dict[str, Deliver] = (dict(channels) if isinstance(channels, Mapping)
                                             else {channel.platform: channel.deliver for channel in channels})
        self.rate = rate if rate is not None else app.settings.broadcast_rate
        self.idle = idle  # seconds between polls when nothing is due
        self._next_slot = 0.0
        self.holder = holder or process_id()  # stamped on the messages this sender claims
        self.lease = lease if lease is not None else getattr(app.settings, "outbox_claim_lease", CLAIM_LEASE)
        self.sent_count = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set."""
        while not stop.is_set():
            try:
                sent = await self.drain(stop)
                self.app.beat("outbox-sender")
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
            async with self.app.sessions() as session:
                batch = await claim_due(session, self.holder, list(self.channels), CLAIM_BATCH, self.only_users)
            if not batch:
                break
            waiting = list(batch)
            try:
                while waiting and (stop is None or not stop.is_set()):
                    delivered += await self._send_one(waiting.pop(0))
            finally:
                # claimed but not attempted (a stop, an error): back in the queue at once
                if waiting:
                    async with self.app.sessions() as session:
                        await release_claims(session, self.holder, waiting)
        return delivered

    async def recover(self) -> int:
        """Queue again what a crashed sender left in ``sending`` once its lease expired."""
        async with self.app.sessions() as session:
            count = await recover_expired(session, self.lease, list(self.channels), self.only_users)
        if count:
            log.warning("outbox: %d message(s) interrupted by a crash will be sent again", count)
        return count

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
            if message is None or message.status != OutboxStatus.sending.value or message.claimed_by != self.holder:
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
            message.claimed_at = utcnow()  # the lease runs from the attempt
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
                                  .values(status=OutboxStatus.sent.value, sent_at=utcnow(), claimed_by=None))
            await session.commit()
        self.sent_count += 1
        return 1

    async def _finish(self, message_id: int, status: OutboxStatus | None, error: str,
                      delay: float = 0.0, gone: bool = False) -> None:
        async with self.app.sessions() as session:
            message = await session.get(OutboxMessage, message_id)
            message.last_error = error[:500]
            message.claimed_by = message.claimed_at = None
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
