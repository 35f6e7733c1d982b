"""Importing one unit's figures (a commune's file, or /update) without touching the other units.

``db.progress.import_figures`` replaces a whole date (the province's file is the full picture);
an official below the province reports only their own unit(s), so only those figures are
replaced here. Same transaction and import log as the full import.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.campaign import Campaign
from content.progress_import import ParsedFile
from db.progress import ImportResult, ProgressFigure, ProgressImport


async def merge_figures(
    session: AsyncSession, campaign: Campaign, date: dt.date, parsed: ParsedFile,
    user_id: int | None, filename: str, data: bytes,
) -> ImportResult:
    """Store ``parsed`` for ``date``, replacing only the figures of the units it contains.

    A file with any error changes no figure (only the log records the attempt).
    """
    digest = hashlib.sha256(data).hexdigest()
    errors = list(parsed.errors) or ([] if parsed.rows else ["Tệp không có dòng số liệu nào."])
    log = ProgressImport(
        campaign_id=campaign.id, date=date, user_id=user_id, filename=filename[:255],
        sha256=digest, rows=len(parsed.rows), status="rejected" if errors else "imported",
    )
    try:
        if errors:
            session.add(log)
            await session.commit()
            return ImportResult(ok=False, rows=len(parsed.rows), errors=errors, import_id=log.id)
        codes = {row.unit_code for row in parsed.rows}
        where = (ProgressFigure.campaign_id == campaign.id, ProgressFigure.date == date,
                 ProgressFigure.unit_code.in_(codes))
        replaced = await session.scalar(select(func.count()).select_from(ProgressFigure).where(*where))
        await session.execute(delete(ProgressFigure).where(*where))
        figures = [
            ProgressFigure(campaign_id=campaign.id, date=date, unit_code=row.unit_code, metric_id=metric_id,
                           numerator=numerator, denominator=denominator)
            for row in parsed.rows
            for metric_id, (numerator, denominator) in row.values.items()
        ]
        session.add_all(figures)
        session.add(log)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(ok=True, rows=len(parsed.rows), figures=len(figures), replaced=replaced or 0,
                        import_id=log.id)
