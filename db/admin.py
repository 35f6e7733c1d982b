"""Role management used by the CLI and by admin handlers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AdminUnit, Role, User
from db.units import PROVINCE_CODE


async def get_or_create_user(session: AsyncSession, platform: str, platform_user_id: str) -> User:
    user = await session.scalar(select(User).where(User.platform == platform,
                                                   User.platform_user_id == platform_user_id))
    if user is None:
        user = User(platform=platform, platform_user_id=platform_user_id, chat_id=platform_user_id,
                    display_name="", role=Role.citizen, locale="vi")
        session.add(user)
        await session.flush()
    return user


async def grant_role(session: AsyncSession, platform: str, platform_user_id: str, role: str,
                     unit_code: str | None = None) -> User:
    """Give a user a role in a unit (the province by default); creates the user if new."""
    unit_code = unit_code or PROVINCE_CODE
    if await session.get(AdminUnit, unit_code) is None:
        raise ValueError(f"Không có đơn vị hành chính mã {unit_code}")
    user = await get_or_create_user(session, platform, platform_user_id)
    user.role = Role(role)
    user.unit_code = unit_code
    if user.role.at_least(Role.official):
        from db.subscriptions import subscribe

        await subscribe(session, user.id)  # officials get the daily summary
    await session.commit()
    return user


async def list_privileged(session: AsyncSession) -> list[User]:
    return list((await session.scalars(
        select(User).where(User.role != Role.citizen).order_by(User.role, User.id))).all())
