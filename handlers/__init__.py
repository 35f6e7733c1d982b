"""Handlers: what the bot does. Each module registers its commands, buttons and dialogs.

Registration order sets nothing but the order of the command list; the main menu sorts
by each item's ``order``. The guidance module owns free text, so it goes last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.router import Router


def register_all(router: "Router") -> None:
    from handlers import guidance, start

    start.register(router)
    from handlers import invites, reports

    invites.register(router)
    reports.register(router)  # also wires the router's outbox hook
    from handlers import progress

    progress.register(router)
    guidance.register(router)  # last: it owns free text
