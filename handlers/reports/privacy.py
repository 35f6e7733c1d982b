"""/deletemydata: what is removed, and what stays anonymised."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from db import reports as repo
from db.invites import forget_attempts
from db.models import DialogState, Role, User
from db.outbox import OutboxMessage


async def delete_my_data(session: AsyncSession, user: User) -> None:
    """Remove a user's personal data; their reports stay, without any link to them."""
    await repo.forget_reporter(session, user.id)
    await forget_attempts(session, user.id)
    await session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    drafts = await session.get(DialogState, user.id)
    if drafts is not None and (drafts.data or {}).get("draft"):
        await repo.discard_draft_photos(session, drafts.data["draft"])
    user.platform_user_id = f"deleted:{user.id}:{uuid.uuid4().hex[:8]}"
    user.chat_id = ""
    user.display_name = ""
    user.role = Role.citizen
    user.unit_code = None
    user.village_code = None
    user.active = False
    await session.flush()
