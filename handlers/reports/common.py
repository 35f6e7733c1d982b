"""Small helpers every part of the reports feature uses."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from content.text import fold_key
from db.models import AdminUnit
from handlers.i18n import _
from handlers.messages import Reply
from handlers.registry import Context

PAGE_SIZE = 10
SKIP_WORDS = {"0", "-", "bo qua", "boqua", "khong", "k", "ko", "skip", "no", "khong biet", "kb"}


def fold(text: str) -> str:
    return fold_key(text)


def no_buttons(ctx: Context) -> None:
    """A free-text step: a typed number must not pick an option of an earlier message."""
    ctx.state.options = []


async def unit_name(session: AsyncSession, code: str | None) -> str:
    unit = await session.get(AdminUnit, code) if code else None
    return unit.name if unit else ""


def refused() -> Reply:
    return Reply(_("This report does not exist or is not in your unit."))
