"""Dialog state helpers shared by the router, the outbox and the channels."""

from __future__ import annotations

from collections.abc import Iterable

from db.models import DialogState

SHOWN_LIMIT = 400  # how many recently shown button ids stay pressable per user


def remember_buttons(state: DialogState, shown_lists: Iterable[list[str]]) -> None:
    """Make each list of button ids pressable for the user; the last list becomes the options.

    Re-shown ids move to the end so they stay pressable longest; at most ``SHOWN_LIMIT`` stay.
    Fields are assigned only when they change (an unchanged state costs no UPDATE).
    """
    shown = list(state.shown or [])
    options: list[str] | None = None
    for data in shown_lists:
        if not data:
            continue
        options = list(data)
        fresh = set(data)
        shown = [item for item in shown if item not in fresh] + list(dict.fromkeys(options))
    if options is not None and options != state.options:
        state.options = options
    shown = shown[-SHOWN_LIMIT:]
    if shown != (state.shown or []):
        state.shown = shown
