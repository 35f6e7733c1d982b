"""Every background loop of the process, started from this one place.

The loops are functions of their feature (the daily summary in ``handlers/progress_daily.py``,
report reminders in ``handlers/reports``, help-request escalation in ``handlers/help``); the outbox sender delivers what they queue. Each loop
ends by itself once ``stop`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel


def start_jobs(app: App, channels: Iterable[Channel], stop: asyncio.Event) -> list[asyncio.Task]:
    """Start the sender and the features' loops as tasks; await them after setting ``stop``."""
    from bot.outbox import OutboxSender
    from handlers.help import escalation_loop
    from handlers.progress_daily import run_daily_job
    from handlers.reports import reminder_loop

    loops = {
        "outbox-sender": OutboxSender(app, channels).run(stop),  # proactive messages leave only here
        "report-reminders": reminder_loop(app, stop),
        "help-escalation": escalation_loop(app, stop),  # help requests nobody took in HELP_ESCALATE_HOURS
        "daily-summary": run_daily_job(app, stop),  # the campaign summary at DAILY_SUMMARY_TIME
    }
    return [asyncio.create_task(loop, name=name) for name, loop in loops.items()]
