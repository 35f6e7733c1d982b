"""Campaign figures and the log of imports: storage only, the arithmetic is in content/progress.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.campaign import Campaign
from content.progress import Figure
from content.progress_import import ParsedFile
from content.text import fold_key
from db.base import Base, utcnow
from db.models import AdminUnit, UnitLevel
from db.units import PROVINCE_CODE, seed_units

DEPARTMENTS_FILE = Path(__file__).resolve().parent.parent / "content" / "units" / "departments.toml"


class ProgressFigure(Base):
    """One unit's numerator and denominator for one metric on one import date."""

    __tablename__ = "progress_figures"
    __table_args__ = (
        UniqueConstraint("campaign_id", "date", "unit_code", "metric_id", name="uq_progress_figures_key"),
        Index("ix_progress_figures_campaign_date", "campaign_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"))
    metric_id: Mapped[str] = mapped_column(String(40))
    numerator: Mapped[float] = mapped_column(Float)
    denominator: Mapped[float] = mapped_column(Float)


class ProgressImport(Base):
    """Every import attempt, accepted or rejected: who, when, which file (by hash), how many rows."""

    __tablename__ = "progress_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # "imported" | "rejected"


@dataclass
class ImportResult:
    ok: bool
    rows: int = 0  # unit rows in the file
    figures: int = 0  # (unit, metric) figures written
    replaced: int = 0  # figures of the same date that were replaced
    errors: list[str] = field(default_factory=list)
    import_id: int | None = None


async def import_figures(
    session: AsyncSession, campaign: Campaign, date: dt.date, parsed: ParsedFile,
    user_id: int | None, filename: str, data: bytes, *, whole_date: bool = True, sha256: str | None = None,
) -> ImportResult:
    """Store a parsed file as the figures of ``date`` in one transaction, with an import log.

    ``whole_date`` replaces every figure of that date (the province's file is the full
    picture); otherwise only the figures of the units in the file are replaced (a commune's
    file or /update). A file with any error changes no figure; the log records the attempt.
    """
    digest = sha256 or hashlib.sha256(data).hexdigest()
    errors = list(parsed.errors)
    if not errors and not any(row.values for row in parsed.rows):
        # Never replace a day's figures with nothing (e.g. formulas whose values were never saved).
        errors = ["Tệp không có số liệu nào (mọi ô số liệu đều trống): không thay thế gì."]
    log = ProgressImport(
        campaign_id=campaign.id, date=date, user_id=user_id, filename=filename[:255],
        sha256=digest, rows=len(parsed.rows), status="rejected" if errors else "imported",
    )
    try:
        if errors:
            session.add(log)
            await session.commit()
            return ImportResult(ok=False, rows=len(parsed.rows), errors=errors, import_id=log.id)
        where = [ProgressFigure.campaign_id == campaign.id, ProgressFigure.date == date]
        if not whole_date:
            where.append(ProgressFigure.unit_code.in_({row.unit_code for row in parsed.rows}))
        replaced = await session.scalar(select(func.count()).select_from(ProgressFigure).where(*where))
        await session.execute(delete(ProgressFigure).where(*where))
        figures = [
            ProgressFigure(
                campaign_id=campaign.id, date=date, unit_code=row.unit_code, metric_id=metric_id,
                numerator=numerator, denominator=denominator,
            )
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


async def record_rejected(session: AsyncSession, campaign: Campaign, date: dt.date, user_id: int | None,
                          filename: str, sha256: str, rows: int) -> None:
    """Log a refused file (who, when, which file by hash); no figure changes."""
    session.add(ProgressImport(campaign_id=campaign.id, date=date, user_id=user_id, filename=filename[:255],
                               sha256=sha256, rows=rows, status="rejected"))
    await session.commit()


async def load_history(session: AsyncSession, campaign: Campaign, *, until: dt.date | None = None,
                       last_dates: int | None = None) -> list[Figure]:
    """Stored figures of ``campaign``, oldest date first.

    ``until`` drops later dates; ``last_dates`` keeps the latest N import dates (all a summary
    needs: the day, the one before, the trend) **plus each unit's latest figure before them**, so
    the as-of sums (a unit's figures hold until it reports again) are the same as from the whole
    history: a season of daily imports is 60,000 rows, this a tenth of it.
    """
    columns = (ProgressFigure.date, ProgressFigure.unit_code, ProgressFigure.metric_id,
               ProgressFigure.numerator, ProgressFigure.denominator)
    where = [ProgressFigure.campaign_id == campaign.id]
    if until is not None:
        where.append(ProgressFigure.date <= until)
    if last_dates is None:
        result = await session.execute(select(*columns).where(*where).order_by(ProgressFigure.date))
        return [Figure(*row) for row in result.all()]
    dates = list((await session.scalars(select(ProgressFigure.date).where(*where).distinct()
                                        .order_by(ProgressFigure.date.desc()).limit(last_dates))).all())
    if not dates:
        return []
    start = min(dates)
    latest = (select(ProgressFigure.unit_code, ProgressFigure.metric_id, func.max(ProgressFigure.date).label("day"))
              .where(ProgressFigure.campaign_id == campaign.id, ProgressFigure.date < start)
              .group_by(ProgressFigure.unit_code, ProgressFigure.metric_id).subquery())
    before = (await session.execute(
        select(*columns).join(latest, and_(ProgressFigure.unit_code == latest.c.unit_code,
                                           ProgressFigure.metric_id == latest.c.metric_id,
                                           ProgressFigure.date == latest.c.day))
        .where(ProgressFigure.campaign_id == campaign.id))).all()
    window = (await session.execute(select(*columns).where(*where, ProgressFigure.date >= start)
                                    .order_by(ProgressFigure.date))).all()
    return sorted((Figure(*row) for row in before), key=lambda f: f.date) + [Figure(*row) for row in window]


async def import_log(session: AsyncSession, campaign: Campaign, limit: int = 20) -> list[ProgressImport]:
    """The latest import attempts, newest first."""
    rows = await session.scalars(
        select(ProgressImport).where(ProgressImport.campaign_id == campaign.id)
        .order_by(ProgressImport.id.desc()).limit(limit)
    )
    return list(rows.all())


def department_units(path: Path = DEPARTMENTS_FILE) -> list[AdminUnit]:
    """The provincial departments listed in ``content/units/departments.toml``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        AdminUnit(
            code=item["code"], name=item["name"], name_key=fold_key(item["name"]), level=UnitLevel.tinh,
            kind=item.get("kind", "sở"), parent_code=PROVINCE_CODE, active=True,
        )
        for item in data.get("department", [])
    ]


async def seed_departments(session: AsyncSession, path: Path = DEPARTMENTS_FILE) -> int:
    """Insert the departments that are missing (idempotent); return how many were added."""
    if await session.get(AdminUnit, PROVINCE_CODE) is None:
        await seed_units(session)
    existing = set((await session.scalars(select(AdminUnit.code))).all())
    added = 0
    for unit in department_units(path):
        if unit.code not in existing:
            session.add(unit)
            added += 1
    await session.commit()
    return added


async def reporting_units(session: AsyncSession) -> list[AdminUnit]:
    """Active units that may report figures (for resolving rows and building templates)."""
    return list((await session.scalars(select(AdminUnit).where(AdminUnit.active.is_(True)))).all())
