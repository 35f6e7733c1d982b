"""Where one feature adds to what another shows, without importing it.

The officials' daily summary (handlers/progress) ends with optional lines that other features
provide (difficulty reports, help requests), and the officials' Excel export (handlers/reports)
carries extra sheets from other features (help requests). Each feature adds its provider here
in its ``register()``; the showing feature asks this module, never the providing feature, so
the feature packages stay independent of each other (an import-linter contract checks it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from content.sheets import Sheet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummaryLine:
    """One optional line: ``full`` in the chat and CLI text, ``short`` under the daily chart."""

    full: str
    short: str


SummaryExtra = Callable[[AsyncSession, "set[str] | None", date], Awaitable["SummaryLine | None"]]
# (session, knowledge base, start, end, unit codes or None for everywhere, time zone) -> sheets
ExportSheets = Callable[[AsyncSession, object, datetime, datetime, "set[str] | None", object], Awaitable[list[Sheet]]]

# name -> provider, in the order the features registered them (idempotent by name).
SUMMARY_EXTRAS: dict[str, SummaryExtra] = {}
EXPORT_SHEETS: dict[str, ExportSheets] = {}


def add_summary_extra(name: str, provider: SummaryExtra) -> None:
    """Add (or replace) an optional line of the summary, e.g. help requests answered yesterday."""
    SUMMARY_EXTRAS[name] = provider


def add_export_sheets(name: str, provider: ExportSheets) -> None:
    """Add (or replace) extra sheets of the officials' Excel export."""
    EXPORT_SHEETS[name] = provider


async def summary_extras(session: AsyncSession, unit_codes: set[str] | None, day: date) -> list[SummaryLine]:
    """Every optional line for this scope, in the current locale; a failing provider is skipped."""
    lines = []
    for name, provider in SUMMARY_EXTRAS.items():
        try:
            line = await provider(session, unit_codes, day)
        except Exception:  # noqa: BLE001 - an optional line never stops the summary
            log.exception("summary line %s failed", name)
            continue
        if line is not None:
            lines.append(line)
    return lines


async def export_sheets(session: AsyncSession, kb, start: datetime, end: datetime, scope: set[str] | None,
                        tz) -> list[Sheet]:
    """Every feature's extra sheets for the export of [start, end) within ``scope``."""
    sheets: list[Sheet] = []
    for provider in EXPORT_SHEETS.values():
        sheets += await provider(session, kb, start, end, scope, tz)
    return sheets
