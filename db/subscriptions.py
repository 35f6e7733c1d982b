"""Who gets the daily campaign summary: officials subscribe (automatically when they become one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models import Role, User

SUMMARY_ROLES = (Role.official, Role.admin)  # roles that may receive the daily summary


class SummarySubscription(Base):
    """One row per user who wants the daily summary."""

    __tablename__ = "summary_subscriptions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


async def subscribe(session: AsyncSession, user_id: int) -> bool:
    """Subscribe ``user_id`` (flushes, the caller commits); False if already subscribed."""
    if await session.get(SummarySubscription, user_id) is not None:
        return False
    session.add(SummarySubscription(user_id=user_id))
    await session.flush()
    return True


async def unsubscribe(session: AsyncSession, user_id: int) -> bool:
    """Unsubscribe ``user_id`` (the caller commits); False if they were not subscribed."""
    result = await session.execute(delete(SummarySubscription).where(SummarySubscription.user_id == user_id))
    return bool(result.rowcount)


async def is_subscribed(session: AsyncSession, user_id: int) -> bool:
    return await session.get(SummarySubscription, user_id) is not None


async def subscribed_officials(session: AsyncSession) -> list[User]:
    """Active subscribed users who are still officials (or admins), by id."""
    rows = await session.scalars(
        select(User).join(SummarySubscription, SummarySubscription.user_id == User.id)
        .where(User.active.is_(True), User.role.in_(SUMMARY_ROLES)).order_by(User.id)
    )
    return list(rows.all())
