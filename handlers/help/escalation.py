"""Requests nobody took: after HELP_ESCALATE_HOURS they go to the commune's officials.

``escalate_due`` does one pass; ``escalation_loop`` runs it every few minutes in the process
that runs the background jobs. Each official is told once per request (the outbox dedupe key).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import help_requests as repo
from db.base import utcnow
from handlers.help.news import escalate
from handlers.registry import Runtime

log = logging.getLogger(__name__)


async def escalate_due(session: AsyncSession, kb, hours: float, now: datetime | None = None) -> int:
    """Tell the officials about every request still open ``hours`` after it was sent; commit."""
    escalated = 0
    for request in await repo.due_for_escalation(session, now or utcnow(), hours):
        if await escalate(session, kb, request, hours):
            escalated += 1
    await session.commit()
    return escalated


async def escalation_loop(app: Runtime, stop: asyncio.Event, every: float = 300.0) -> None:
    """Every ``every`` seconds until ``stop``, escalate what is due."""
    from content.kb import KnowledgeBase

    kb = getattr(getattr(app, "services", None), "kb", None) or KnowledgeBase.load()
    while not stop.is_set():
        try:
            async with app.sessions() as session:
                await escalate_due(session, kb, app.settings.help_escalate_hours)
            app.beat("help-escalation")
        except Exception:  # noqa: BLE001 - a bad moment must not stop the escalations
            log.exception("help request escalation failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
