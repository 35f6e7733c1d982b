"""Numbered options of proactive messages on the text-only channels (Zalo, the terminal)."""

from __future__ import annotations

import contextlib

from sqlalchemy import select

from db.dialog import remember_buttons
from db.locks import lock_user
from db.models import DialogState, User
from handlers.messages import Reply


async def remember_options(app, platform: str, chat_id: str, reply: Reply) -> None:
    """The numbered options the user now sees last are this message's: "1" chooses its first.

    The router does this for replies; a proactive message is sent later, by the outbox.
    """
    data = [button.data for button in reply.all_buttons()]
    if not data:
        return
    async with getattr(app, "write_lock", contextlib.nullcontext()), app.sessions() as session:
        user = (await session.execute(select(User.id, User.platform_user_id).where(
            User.platform == platform, User.chat_id == chat_id))).first()
        if user is None:
            return
        await lock_user(session, platform, user.platform_user_id)  # as the user's own messages do
        state = await session.get(DialogState, user.id)
        if state is None:
            return
        remember_buttons(state, [data])
        await session.commit()
