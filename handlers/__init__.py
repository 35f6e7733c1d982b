"""Handlers: what the bot does. Each feature registers its commands, buttons and dialogs.

Registration order sets the order of the command list and of the attachment handlers; the main
menu sorts by each item's ``order``. The guidance module owns free text, so it goes last.
"""

from __future__ import annotations

from handlers.registry import Registry


def build_registry() -> Registry:
    """Every feature's handlers, registered in one place."""
    from handlers import guidance, help, invites, progress, reports, start

    registry = Registry()
    start.register(registry)
    invites.register(registry)
    reports.register(registry)
    progress.register(registry)
    help.register(registry)  # help requests (/hotro, /yeucau)
    guidance.register(registry)  # last: it owns free text
    return registry
