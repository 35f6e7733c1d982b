"""Difficulty reports: categories (data), typed statuses, history, photos, followers; repository functions.

The status model copies FixMyStreet's typed states: every status has a type (open, fixed,
closed) so "is it still open?" never depends on a label. Every change is a row in
``report_history`` (who, when, from → to, note).
"""

from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.text import read_int
from db.base import Base, HistoryColumns, Numbered, aware, numbered, utcnow
from db.models import AdminUnit, Role, User
from db.units import unit_and_descendants

MAX_PHOTOS = 3
MIN_DESCRIPTION, MAX_DESCRIPTION = 10, 2000
DAILY_LIMIT = 20
REOPEN_DAYS = 14
STALE_DAYS = 3
DRAFT_HOURS = 24


class ReportKind(str, enum.Enum):
    difficulty = "difficulty"
    good_practice = "good_practice"


class StatusType(str, enum.Enum):
    open = "open"
    fixed = "fixed"
    closed = "closed"


class ReportStatus(str, enum.Enum):
    new = "new"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    reopened = "reopened"
    fixed = "fixed"
    not_responsible = "not_responsible"
    duplicate = "duplicate"
    closed = "closed"
    noted = "noted"  # a good practice, acknowledged
    shared = "shared"  # a good practice, shared with every team of the province

    @property
    def type(self) -> StatusType:
        return STATUS_TYPES[self]

    @property
    def is_open(self) -> bool:
        return self.type is StatusType.open


STATUS_TYPES = {
    ReportStatus.new: StatusType.open, ReportStatus.acknowledged: StatusType.open,
    ReportStatus.in_progress: StatusType.open, ReportStatus.reopened: StatusType.open,
    ReportStatus.fixed: StatusType.fixed,
    ReportStatus.not_responsible: StatusType.closed, ReportStatus.duplicate: StatusType.closed,
    ReportStatus.closed: StatusType.closed,
    ReportStatus.noted: StatusType.closed, ReportStatus.shared: StatusType.closed,
}
# What an official may do with each kind: a good practice is acknowledged or shared, never "resolved".
OUTCOMES = {
    "difficulty": (ReportStatus.acknowledged, ReportStatus.in_progress, ReportStatus.fixed,
                   ReportStatus.not_responsible, ReportStatus.duplicate, ReportStatus.closed),
    "good_practice": (ReportStatus.noted, ReportStatus.shared),
}
OPEN_STATUSES = [s.value for s in ReportStatus if s.is_open]


def statuses_of(kind: StatusType) -> list[str]:
    return [s.value for s in ReportStatus if s.type is kind]


CATEGORIES_FILE = Path(__file__).resolve().parent.parent / "content" / "report_categories.toml"


def category_seeds(path: Path = CATEGORIES_FILE) -> list[dict]:
    """The categories listed in ``content/report_categories.toml``, in their order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [{"key": item["key"], "name": item["name"], "name_en": item.get("name_en", ""),
             "active": bool(item.get("active", True))} for item in data.get("category", [])]


class ReportCategory(Base):
    """A category of report: admin data, editable in the database."""

    __tablename__ = "report_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))  # Vietnamese
    name_en: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def label(self, locale: str = "vi") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Report(Numbered, Base):
    __tablename__ = "reports"
    NUMBER_PREFIX, STATUS = "BC", ReportStatus  # "BC-000123"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_key: Mapped[str] = mapped_column(String(40), unique=True)  # one report per draft, even if sent twice
    kind: Mapped[str] = mapped_column(String(16), default=ReportKind.difficulty.value)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)  # the place: its commune
    village_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))  # the place: its village
    # Who handles it: the commune itself, or the unit it was transferred to (another commune, a
    # department, the province). The place never changes; a transfer changes only this.
    handling_unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    description: Mapped[str] = mapped_column(Text)
    people_affected: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.new.value, index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_action_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    in_progress_at: Mapped[datetime | None] = mapped_column()
    fixed_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    reopened_at: Mapped[datetime | None] = mapped_column()


class ReportPhoto(Base):
    """A photo of a report; while the report is a draft it hangs on the draft key."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    draft_key: Mapped[str | None] = mapped_column(String(40), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    mime_type: Mapped[str] = mapped_column(String(60), default="image/jpeg")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ReportHistory(HistoryColumns, Base):
    """One change of a report; ``action``: "status", "comment", "reroute", "same_problem", …"""

    __tablename__ = "report_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    from_unit: Mapped[str | None] = mapped_column(String(32))
    to_unit: Mapped[str | None] = mapped_column(String(32))


class ReportFollower(Base):
    """Someone else who met the same problem and gets the report's updates."""

    __tablename__ = "report_followers"
    __table_args__ = (UniqueConstraint("report_id", "user_id", name="uq_report_followers_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Where the follower met it and how many people there: what the official adds up.
    village_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    people_affected: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime | None] = mapped_column(default=utcnow)


# --- helpers ------------------------------------------------------------------------------

def report_number(report_id: int) -> str:
    return numbered(Report.NUMBER_PREFIX, report_id)


def parse_number(text: str) -> int | None:
    """ "BC-000123", "bc 123", "#123" or "123" → 123 (ASCII digits only: "BC-①" is None)."""
    return read_int(_NUMBER_PREFIX.sub("", text or ""), ignore=" -.")


_NUMBER_PREFIX = re.compile(r"^\s*(?:bc|#)?[\s#:-]*", re.IGNORECASE)


class ReportError(Exception):
    """A rule refused an action; ``code`` says which (the handler words it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- categories ---------------------------------------------------------------------------

async def seed_categories(session: AsyncSession, path: Path = CATEGORIES_FILE) -> int:
    """Add the file's categories that the database lacks and follow the file's order and ``active``
    flags (names already in the database are kept); return how many were added."""
    existing = {c.key: c for c in (await session.scalars(select(ReportCategory))).all()}
    added = 0
    for position, seed in enumerate(category_seeds(path)):
        category = existing.get(seed["key"])
        if category is None:
            session.add(ReportCategory(position=position, **seed))
            added += 1
        else:
            category.position, category.active = position, seed["active"]
    await session.flush()
    return added


async def categories(session: AsyncSession) -> list[ReportCategory]:
    rows = (await session.scalars(select(ReportCategory).where(ReportCategory.active.is_(True))
                                  .order_by(ReportCategory.position, ReportCategory.id))).all()
    if not rows:
        await seed_categories(session)
        return await categories(session)
    return list(rows)


# --- filing -------------------------------------------------------------------------------

async def reports_today(session: AsyncSession, user_id: int, tz, now: datetime | None = None) -> int:
    now = now or utcnow()
    local_midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return await session.scalar(select(func.count(Report.id)).where(
        Report.reporter_id == user_id, Report.created >= local_midnight.astimezone(UTC))) or 0


async def add_draft_photo(session: AsyncSession, draft_key: str, data: bytes, mime_type: str) -> int:
    """Store one photo of a draft; return how many the draft has now (never more than 3)."""
    count = await draft_photo_count(session, draft_key)
    if count >= MAX_PHOTOS:
        return count
    session.add(ReportPhoto(draft_key=draft_key, data=data, mime_type=mime_type[:60] or "image/jpeg"))
    await session.flush()
    return count + 1


async def draft_photo_count(session: AsyncSession, draft_key: str) -> int:
    return await session.scalar(select(func.count(ReportPhoto.id)).where(ReportPhoto.draft_key == draft_key)) or 0


async def discard_draft_photos(session: AsyncSession, draft_key: str) -> None:
    await session.execute(delete(ReportPhoto).where(ReportPhoto.draft_key == draft_key,
                                                    ReportPhoto.report_id.is_(None)))


async def purge_abandoned_drafts(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete photos of drafts older than 24 h that were never sent."""
    cutoff = (now or utcnow()) - timedelta(hours=DRAFT_HOURS)
    result = await session.execute(delete(ReportPhoto).where(ReportPhoto.report_id.is_(None),
                                                             ReportPhoto.created < cutoff))
    return result.rowcount or 0


async def similar_open_reports(session: AsyncSession, unit_code: str, category_id: int,
                               limit: int = 3) -> list[Report]:
    return list((await session.scalars(select(Report).where(
        Report.unit_code == unit_code, Report.category_id == category_id,
        Report.status.in_(OPEN_STATUSES)).order_by(Report.id.desc()).limit(limit))).all())


async def find_by_draft(session: AsyncSession, draft_key: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.draft_key == draft_key))


async def submit_report(session: AsyncSession, reporter: User, draft_key: str, kind: str, category_id: int,
                        unit_code: str, village_code: str | None, description: str,
                        people_affected: int | None, tz) -> Report:
    """Create the report of a draft (once: a second call returns the same report)."""
    existing = await find_by_draft(session, draft_key)
    if existing is not None:
        return existing
    if await reports_today(session, reporter.id, tz) >= DAILY_LIMIT:
        raise ReportError("daily_limit")
    now = utcnow()
    report = Report(draft_key=draft_key, kind=kind, category_id=category_id, unit_code=unit_code,
                    handling_unit_code=unit_code, village_code=village_code, description=description, people_affected=people_affected,
                    status=ReportStatus.new.value, reporter_id=reporter.id, created=now, last_action_at=now,
                    resolution_note="")
    session.add(report)
    await session.flush()
    await session.execute(update(ReportPhoto).where(ReportPhoto.draft_key == draft_key,
                                                    ReportPhoto.report_id.is_(None))
                          .values(report_id=report.id, draft_key=None))
    session.add(ReportHistory(report_id=report.id, actor_id=reporter.id, created=now, action="status",
                              from_status=None, to_status=ReportStatus.new.value, note=""))
    await session.flush()
    return report


async def follow(session: AsyncSession, report: Report, user: User, note: str = "",
                 village_code: str | None = None, people_affected: int | None = None) -> bool:
    """``user`` met the same problem (in ``village_code``, ``people_affected`` people): they get the
    report's updates and the official sees them added up. False if already following."""
    if report.reporter_id == user.id:
        return False
    if await session.scalar(select(ReportFollower.id).where(ReportFollower.report_id == report.id,
                                                            ReportFollower.user_id == user.id)):
        return False
    session.add(ReportFollower(report_id=report.id, user_id=user.id, village_code=village_code,
                               people_affected=people_affected))
    session.add(ReportHistory(report_id=report.id, actor_id=user.id, action="same_problem", note=note[:2000]))
    await session.flush()
    return True


# --- reading ------------------------------------------------------------------------------

async def get_report(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def scope_of(session: AsyncSession, user: User) -> set[str] | None:
    """The unit codes an official may see; None means everything (admins)."""
    if user.role is Role.admin:
        return None
    if user.role is not Role.official or not user.unit_code:
        return set()
    return await unit_and_descendants(session, user.unit_code)


async def in_scope(session: AsyncSession, user: User, report: Report) -> bool:
    scope = await scope_of(session, user)
    return scope is None or report.handling_unit_code in scope


@dataclass
class ReportFilter:
    group: str = "o"  # o(pen) f(ixed) c(losed) a(ll)
    category_id: int = 0
    unit_code: str = ""  # "" = the whole scope; else reports of this unit (its place or its handler)
    min_age_days: int = 0


GROUPS = {"o": [StatusType.open], "f": [StatusType.fixed], "c": [StatusType.closed],
          "a": [StatusType.open, StatusType.fixed, StatusType.closed]}


async def list_reports(session: AsyncSession, user: User, flt: ReportFilter, page: int = 1,
                       page_size: int = 10, now: datetime | None = None) -> tuple[list[Report], int]:
    """Reports in ``user``'s scope matching ``flt``, newest first: (one page, total count)."""
    now = now or utcnow()
    query = select(Report)
    scope = await scope_of(session, user)
    if scope is not None:
        query = query.where(Report.handling_unit_code.in_(scope))
    if flt.unit_code:
        units = await unit_and_descendants(session, flt.unit_code)
        query = query.where(or_(Report.unit_code.in_(units), Report.handling_unit_code.in_(units)))
    statuses = [s for kind in GROUPS.get(flt.group, GROUPS["o"]) for s in statuses_of(kind)]
    query = query.where(Report.status.in_(statuses))
    if flt.category_id:
        query = query.where(Report.category_id == flt.category_id)
    if flt.min_age_days:
        query = query.where(Report.created <= now - timedelta(days=flt.min_age_days))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.scalars(query.order_by(Report.id.desc()).offset((page - 1) * page_size)
                                  .limit(page_size))).all()
    return list(rows), total


async def photos_of(session: AsyncSession, report_id: int) -> list[ReportPhoto]:
    return list((await session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report_id)
                                       .order_by(ReportPhoto.id))).all())


async def reports_of(session: AsyncSession, user_id: int, limit: int = 20) -> list[Report]:
    """The reports ``user_id`` sent or follows (same problem), newest first."""
    followed = select(ReportFollower.report_id).where(ReportFollower.user_id == user_id)
    return list((await session.scalars(select(Report).where(
        or_(Report.reporter_id == user_id, Report.id.in_(followed)))
        .order_by(Report.id.desc()).limit(limit))).all())


async def history_of(session: AsyncSession, report_id: int) -> list[ReportHistory]:
    return list((await session.scalars(select(ReportHistory).where(ReportHistory.report_id == report_id)
                                       .order_by(ReportHistory.id))).all())


async def followers_of(session: AsyncSession, report: Report) -> list[int]:
    """The reporter and the followers: everyone told about a change."""
    ids = [report.reporter_id] if report.reporter_id else []
    ids += list((await session.scalars(select(ReportFollower.user_id)
                                       .where(ReportFollower.report_id == report.id))).all())
    return list(dict.fromkeys(ids))


async def officials_for(session: AsyncSession, unit_code: str) -> list[User]:
    """Active officials whose scope contains ``unit_code`` (its unit and every unit above)."""
    ancestors: list[str] = []
    code: str | None = unit_code
    while code and code not in ancestors:
        ancestors.append(code)
        unit = await session.get(AdminUnit, code)
        code = unit.parent_code if unit else None
    return list((await session.scalars(select(User).where(
        User.role == Role.official, User.unit_code.in_(ancestors), User.active.is_(True))
        .order_by(User.id))).all())


@dataclass
class Recipients:
    """The officials told about something in a unit: those of the unit itself and those above it."""

    own: list[User]
    above: list[User]

    @property
    def all(self) -> list[User]:
        return self.own + self.above


async def officials_to_tell(session: AsyncSession, unit_code: str) -> Recipients:
    """The active officials whose scope holds ``unit_code``, split into the unit's own and those above
    (the province): with no official in a commune, only the province's hear of it."""
    officials = await officials_for(session, unit_code)
    own = [u for u in officials if u.unit_code == unit_code]
    return Recipients(own, [u for u in officials if u.unit_code != unit_code])


# --- handling -----------------------------------------------------------------------------

TIMESTAMP = {ReportStatus.acknowledged: "acknowledged_at", ReportStatus.in_progress: "in_progress_at",
             ReportStatus.fixed: "fixed_at", ReportStatus.not_responsible: "closed_at",
             ReportStatus.duplicate: "closed_at", ReportStatus.closed: "closed_at",
             ReportStatus.noted: "closed_at", ReportStatus.shared: "closed_at",
             ReportStatus.reopened: "reopened_at"}


async def change_status(session: AsyncSession, report: Report, actor: User | None, to: ReportStatus,
                        note: str = "", action: str = "status") -> ReportHistory:
    """Move ``report`` to ``to`` and record who did it, when and why."""
    now = utcnow()
    entry = ReportHistory(report_id=report.id, actor_id=actor.id if actor else None, created=now,
                          action=action, from_status=report.status, to_status=to.value, note=note[:2000])
    report.status = to.value
    report.last_action_at = now
    column = TIMESTAMP.get(to)
    if column:
        setattr(report, column, now)
    if to is ReportStatus.fixed or (note and to.type is not StatusType.open):
        report.resolution_note = note[:2000]
    if actor is not None and actor.role.at_least(Role.official) and actor.id != report.reporter_id:
        report.handler_id = report.handler_id or actor.id  # the first official who acted
    session.add(entry)
    await session.flush()
    return entry


async def take(session: AsyncSession, report: Report, official: User) -> ReportHistory:
    report.handler_id = official.id
    return await change_status(session, report, official, ReportStatus.acknowledged)


async def add_comment(session: AsyncSession, report: Report, actor: User, text: str) -> ReportHistory:
    entry = ReportHistory(report_id=report.id, actor_id=actor.id, action="comment", note=text[:2000])
    report.last_action_at = utcnow()
    session.add(entry)
    await session.flush()
    return entry


async def reroute(session: AsyncSession, report: Report, actor: User, unit: AdminUnit, note: str = "") -> ReportHistory:
    """Send the report to another unit to handle: it starts again as new there; its place stays."""
    now = utcnow()
    entry = ReportHistory(report_id=report.id, actor_id=actor.id, created=now, action="reroute",
                          from_status=report.status, to_status=ReportStatus.new.value,
                          from_unit=report.handling_unit_code, to_unit=unit.code, note=note[:2000])
    report.handling_unit_code = unit.code
    report.status = ReportStatus.new.value
    report.handler_id = None
    report.last_action_at = now
    session.add(entry)
    await session.flush()
    return entry


async def mark_duplicate(session: AsyncSession, report: Report, original: Report, actor: User) -> None:
    """``report`` is the same problem as ``original``: close it and move its people over."""
    if original.id == report.id:
        raise ReportError("same_report")
    report.duplicate_of_id = original.id
    await change_status(session, report, actor, ReportStatus.duplicate, note=original.number)
    moved = {f.user_id: f for f in (await session.scalars(select(ReportFollower).where(
        ReportFollower.report_id == report.id))).all()}
    for user_id in await followers_of(session, report):
        if user_id != original.reporter_id and not await session.scalar(select(ReportFollower.id).where(
                ReportFollower.report_id == original.id, ReportFollower.user_id == user_id)):
            if user_id in moved:  # a follower of the duplicate: where they met it
                village, people = moved[user_id].village_code, moved[user_id].people_affected
            else:  # the duplicate's reporter: its place and people
                village, people = report.village_code, report.people_affected
            session.add(ReportFollower(report_id=original.id, user_id=user_id, village_code=village,
                                       people_affected=people))
    session.add(ReportHistory(report_id=original.id, actor_id=actor.id, action="duplicate_link",
                              note=report.number))
    await session.flush()


def can_reopen(report: Report, now: datetime | None = None) -> bool:
    """A difficulty closed less than 14 days ago (a good practice has nothing to reopen)."""
    now = now or utcnow()
    if report.kind != ReportKind.difficulty.value:
        return False
    if report.status_enum.is_open or report.status_enum is ReportStatus.duplicate:
        return False
    closed = aware(report.fixed_at if report.status_enum is ReportStatus.fixed else report.closed_at)
    closed = closed or aware(report.last_action_at)
    return closed is not None and now - closed <= timedelta(days=REOPEN_DAYS)


async def reopen(session: AsyncSession, report: Report, user: User, now: datetime | None = None) -> ReportHistory:
    if report.reporter_id != user.id and user.id not in await followers_of(session, report):
        raise ReportError("not_yours")
    if not can_reopen(report, now):
        raise ReportError("too_late")
    return await change_status(session, report, user, ReportStatus.reopened)


async def stale_reports(session: AsyncSession, now: datetime) -> list[Report]:
    cutoff = now - timedelta(days=STALE_DAYS)
    return list((await session.scalars(select(Report).where(
        Report.status.in_(OPEN_STATUSES), Report.last_action_at <= cutoff).order_by(Report.id))).all())


async def team_members_of(session: AsyncSession, unit_code: str) -> list[User]:
    """Active team members in ``unit_code`` and every unit below it."""
    units = await unit_and_descendants(session, unit_code)
    return list((await session.scalars(select(User).where(
        User.role == Role.team, User.unit_code.in_(units), User.active.is_(True)).order_by(User.id))).all())


# --- privacy ------------------------------------------------------------------------------

async def forget_reporter(session: AsyncSession, user_id: int) -> None:
    """Unlink a user from every report (the reports stay, anonymised)."""
    await session.execute(update(Report).where(Report.reporter_id == user_id).values(reporter_id=None))
    await session.execute(update(Report).where(Report.handler_id == user_id).values(handler_id=None))
    await session.execute(update(ReportHistory).where(ReportHistory.actor_id == user_id).values(actor_id=None))
    await session.execute(delete(ReportFollower).where(ReportFollower.user_id == user_id))


# --- export -------------------------------------------------------------------------------

async def count_export_rows(session: AsyncSession, start: datetime, end: datetime,
                            scope: set[str] | None) -> int:
    query = select(func.count(Report.id)).where(Report.created >= start, Report.created < end)
    if scope is not None:
        query = query.where(Report.handling_unit_code.in_(scope))
    return await session.scalar(query) or 0
