"""Help requests: a citizen asks the community digital technology team to sit beside them.

One row per request, every step a row in ``help_events`` (who, when, what). The status model:
``open`` (nobody has it yet) → ``taken`` (one member, the taker) → ``done`` or ``not_possible``;
the citizen may withdraw it (``cancelled``) while it is open or taken. Taking is one UPDATE that
only succeeds while the request is still open, so two members pressing at once get one taker.
The phone number is stored only when the citizen agreed to give it, shown only to the taker,
and erased by :func:`forget_user`.
"""

from __future__ import annotations

import enum
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.text import fold_key
from db.base import Base, HistoryColumns, Numbered, aware, numbered, utcnow
from db.models import AdminUnit, Role, UnitLevel, User
from db.reports import MAX_DESCRIPTION, MIN_DESCRIPTION
from db.units import strip_kind, unit_and_descendants

MAX_OPEN = 3  # open or taken requests one citizen may have at once
MAX_SHORT = 200  # village name, "when suits you", a reason
MIN_NEED, MAX_NEED = MIN_DESCRIPTION, MAX_DESCRIPTION  # the same limits as a report's description
MAX_MESSAGE = MAX_DESCRIPTION


class HelpStatus(str, enum.Enum):
    open = "open"
    taken = "taken"
    done = "done"
    not_possible = "not_possible"
    cancelled = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (HelpStatus.open, HelpStatus.taken)


OPEN_STATUSES = [HelpStatus.open.value, HelpStatus.taken.value]


class Routed(str, enum.Enum):
    """Who was told when the request was sent."""

    village = "village"  # the team members of the citizen's village
    commune = "commune"  # every team member of the commune
    officials = "officials"  # no team in the commune: its officials (or the province's)
    nobody = "nobody"  # neither a team nor an official uses the bot yet


class HelpRequest(Numbered, Base):
    __tablename__ = "help_requests"
    NUMBER_PREFIX, STATUS = "HT", HelpStatus  # "HT-000123"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)  # the commune
    village_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    village_text: Mapped[str] = mapped_column(String(MAX_SHORT), default="")  # as the citizen typed it
    topic_id: Mapped[str | None] = mapped_column(String(60))
    need: Mapped[str] = mapped_column(Text, default="")
    when_text: Mapped[str] = mapped_column(String(MAX_SHORT), default="")
    contact: Mapped[str] = mapped_column(String(8), default="bot")  # "bot" or "phone"
    phone: Mapped[str | None] = mapped_column(String(20))  # only with consent; erased by /xoadulieu
    status: Mapped[str] = mapped_column(String(16), default=HelpStatus.open.value, index=True)
    routed: Mapped[str] = mapped_column(String(12), default=Routed.commune.value)
    taker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    close_note: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    taken_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    escalated_at: Mapped[datetime | None] = mapped_column()
    rated_at: Mapped[datetime | None] = mapped_column()


class HelpEvent(HistoryColumns, Base):
    """One thing that happened to a request (messages are counted here, their text is not kept);
    ``action``: created, taken, message, done, not_possible, …"""

    __tablename__ = "help_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"), index=True)


# --- helpers ------------------------------------------------------------------------------

def request_number(request_id: int) -> str:
    return numbered(HelpRequest.NUMBER_PREFIX, request_id)


_PHONE = re.compile(r"^0[0-9]{9,10}$")


def clean_phone(text: str) -> str | None:
    """A Vietnamese phone number as typed ("0912 345 678", "+84912345678") → "0912345678"; else None."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if _PHONE.match(digits) else None


def clip(text: str, limit: int = MAX_SHORT) -> str:
    return " ".join((text or "").split())[:limit]


# --- places -------------------------------------------------------------------------------

async def villages_of(session: AsyncSession, commune_code: str) -> list[AdminUnit]:
    """The villages of a commune known to the bot (named by its teams when they joined)."""
    return list((await session.scalars(select(AdminUnit).where(
        AdminUnit.parent_code == commune_code, AdminUnit.level == UnitLevel.thon, AdminUnit.active.is_(True))
        .order_by(AdminUnit.name))).all())


async def match_village(session: AsyncSession, commune_code: str, text: str) -> AdminUnit | None:
    """The known village of the commune named ``text`` (accent-insensitive); never creates one."""
    wanted = strip_kind(fold_key(text))
    if not wanted:
        return None
    for village in await villages_of(session, commune_code):
        if strip_kind(village.name_key) == wanted:
            return village
    return None


# --- who is told --------------------------------------------------------------------------

async def team_members(session: AsyncSession, unit_code: str, village_code: str | None = None) -> list[User]:
    """Active team members of the commune (of the village only, when ``village_code`` is given)."""
    query = select(User).where(User.role == Role.team, User.unit_code == unit_code, User.active.is_(True))
    if village_code:
        query = query.where(User.village_code == village_code)
    return list((await session.scalars(query.order_by(User.id))).all())


async def officials_for(session: AsyncSession, unit_code: str) -> list[User]:
    """Active officials of the commune; when it has none, those of the units above it."""
    code: str | None = unit_code
    seen: set[str] = set()
    while code and code not in seen:
        seen.add(code)
        found = list((await session.scalars(select(User).where(
            User.role == Role.official, User.unit_code == code, User.active.is_(True)).order_by(User.id))).all())
        if found:
            return found
        unit = await session.get(AdminUnit, code)
        code = unit.parent_code if unit else None
    return []


async def may_take(session: AsyncSession, user: User, request: HelpRequest) -> bool:
    """Team members of the request's commune, officials whose unit holds it, and admins."""
    if user.role is Role.admin:
        return True
    if user.role is Role.team:
        return user.unit_code == request.unit_code
    if user.role is Role.official and user.unit_code:
        return request.unit_code in await unit_and_descendants(session, user.unit_code)
    return False


async def scope_of(session: AsyncSession, user: User) -> set[str] | None:
    """The communes whose requests ``user`` sees; None means all (admins)."""
    if user.role is Role.admin:
        return None
    if user.role is Role.team:
        return {user.unit_code} if user.unit_code else set()
    if user.role is Role.official and user.unit_code:
        return await unit_and_descendants(session, user.unit_code)
    return set()


# --- the citizen's side -------------------------------------------------------------------

async def open_requests_of(session: AsyncSession, citizen_id: int) -> list[HelpRequest]:
    return list((await session.scalars(select(HelpRequest).where(
        HelpRequest.citizen_id == citizen_id, HelpRequest.status.in_(OPEN_STATUSES))
        .order_by(HelpRequest.id))).all())


class LimitReached(Exception):
    """The citizen already has :data:`MAX_OPEN` open requests."""


async def create_request(session: AsyncSession, citizen: User, unit_code: str, village_code: str | None,
                         village_text: str, topic_id: str | None, need: str, when_text: str,
                         phone: str | None) -> HelpRequest:
    """Store a new request (refused with :class:`LimitReached` past :data:`MAX_OPEN` open ones)."""
    if len(await open_requests_of(session, citizen.id)) >= MAX_OPEN:
        raise LimitReached()
    now = utcnow()
    request = HelpRequest(citizen_id=citizen.id, unit_code=unit_code, village_code=village_code,
                          village_text=clip(village_text), topic_id=topic_id, need=need[:MAX_NEED],
                          when_text=clip(when_text), contact="phone" if phone else "bot", phone=phone,
                          status=HelpStatus.open.value, routed=Routed.commune.value, created=now,
                          close_note="", rating_comment="")
    session.add(request)
    await session.flush()
    session.add(HelpEvent(request_id=request.id, actor_id=citizen.id, created=now, action="created", note=""))
    await session.flush()
    return request


async def get_request(session: AsyncSession, request_id: int) -> HelpRequest | None:
    return await session.get(HelpRequest, request_id)


async def add_event(session: AsyncSession, request: HelpRequest, actor: User | None, action: str,
                    note: str = "") -> None:
    session.add(HelpEvent(request_id=request.id, actor_id=actor.id if actor else None, action=action,
                          note=note[:MAX_DESCRIPTION]))
    await session.flush()


# --- taking and closing -------------------------------------------------------------------

async def _move(session: AsyncSession, request: HelpRequest, actor: User, conditions: list, values: dict,
                action: str, note: str = "") -> bool:
    """One conditional UPDATE decides (of two people at once, one wins); the event is recorded if it did."""
    result = await session.execute(
        update(HelpRequest).where(HelpRequest.id == request.id, *conditions).values(**values)
        .execution_options(synchronize_session=False))
    await session.refresh(request)
    if not result.rowcount:
        return False
    await add_event(session, request, actor, action, note)
    return True


async def take(session: AsyncSession, request: HelpRequest, taker: User) -> bool:
    """Make ``taker`` the one who helps; False when someone else was first."""
    return await _move(session, request, taker, [HelpRequest.status == HelpStatus.open.value],
                       {"status": HelpStatus.taken.value, "taker_id": taker.id, "taken_at": utcnow()}, "taken")


async def close(session: AsyncSession, request: HelpRequest, actor: User, status: HelpStatus,
                note: str = "") -> bool:
    """Close a taken request as ``done`` or ``not_possible``; False if it was no longer taken."""
    return await _move(session, request, actor, [HelpRequest.status == HelpStatus.taken.value],
                       {"status": status.value, "closed_at": utcnow(), "close_note": note[:MAX_DESCRIPTION]},
                       status.value, note)


async def cancel(session: AsyncSession, request: HelpRequest, citizen: User) -> bool:
    """The citizen withdraws an open or taken request."""
    return await _move(session, request, citizen,
                       [HelpRequest.citizen_id == citizen.id, HelpRequest.status.in_(OPEN_STATUSES)],
                       {"status": HelpStatus.cancelled.value, "closed_at": utcnow()}, "cancelled")


async def not_done_yet(session: AsyncSession, request: HelpRequest, citizen: User) -> bool:
    """The citizen says a request closed as done is not: it goes back to its taker."""
    if request.citizen_id != citizen.id or request.status != HelpStatus.done.value or request.rating:
        return False
    request.status, request.closed_at = HelpStatus.taken.value, None
    await add_event(session, request, citizen, "not_done")
    return True


async def rate(session: AsyncSession, request: HelpRequest, citizen: User, stars: int) -> bool:
    """Record the citizen's 1–5 rating of a closed request (once)."""
    if (request.citizen_id != citizen.id or request.rating or not 1 <= stars <= 5
            or request.status not in (HelpStatus.done.value, HelpStatus.not_possible.value)):
        return False
    request.rating, request.rated_at = stars, utcnow()
    await add_event(session, request, citizen, "rated", str(stars))
    return True


# --- lists --------------------------------------------------------------------------------

async def open_in(session: AsyncSession, scope: set[str] | None, limit: int = 20) -> list[HelpRequest]:
    """Requests nobody has taken yet in ``scope`` (None: everywhere), oldest first."""
    query = select(HelpRequest).where(HelpRequest.status == HelpStatus.open.value)
    if scope is not None:
        query = query.where(HelpRequest.unit_code.in_(scope))
    return list((await session.scalars(query.order_by(HelpRequest.id).limit(limit))).all())


async def count_open(session: AsyncSession, scope: set[str] | None) -> int:
    """How many requests nobody has taken yet in ``scope`` (None: everywhere)."""
    query = select(func.count(HelpRequest.id)).where(HelpRequest.status == HelpStatus.open.value)
    if scope is not None:
        query = query.where(HelpRequest.unit_code.in_(scope))
    return await session.scalar(query) or 0


async def taken_by(session: AsyncSession, user_id: int) -> list[HelpRequest]:
    return list((await session.scalars(select(HelpRequest).where(
        HelpRequest.taker_id == user_id, HelpRequest.status == HelpStatus.taken.value)
        .order_by(HelpRequest.id))).all())


async def due_for_escalation(session: AsyncSession, now: datetime, hours: float) -> list[HelpRequest]:
    """Open requests sent to a team more than ``hours`` ago that no official has been told of."""
    return list((await session.scalars(select(HelpRequest).where(
        HelpRequest.status == HelpStatus.open.value, HelpRequest.escalated_at.is_(None),
        HelpRequest.created <= now - timedelta(hours=hours)).order_by(HelpRequest.id))).all())


async def list_requests(session: AsyncSession, scope: set[str] | None = None, status: str | None = None,
                        start: datetime | None = None, end: datetime | None = None) -> list[HelpRequest]:
    query = select(HelpRequest)
    if scope is not None:
        query = query.where(HelpRequest.unit_code.in_(scope))
    if status:
        query = query.where(HelpRequest.status == status)
    if start is not None:
        query = query.where(HelpRequest.created >= start)
    if end is not None:
        query = query.where(HelpRequest.created < end)
    return list((await session.scalars(query.order_by(HelpRequest.id))).all())


# --- figures for officials ----------------------------------------------------------------

@dataclass
class UnitFigures:
    """One commune's requests: how many were opened, taken, done; how fast; how they were rated."""

    unit_code: str
    unit_name: str = ""
    opened: int = 0
    taken: int = 0  # taken at some point (also those done or not possible since)
    done: int = 0
    not_possible: int = 0
    cancelled: int = 0
    still_open: int = 0  # open or taken now
    take_hours: list[float] = field(default_factory=list, repr=False)
    finish_hours: list[float] = field(default_factory=list, repr=False)
    ratings: list[int] = field(default_factory=list, repr=False)

    @property
    def median_hours_to_take(self) -> float | None:
        return round(statistics.median(self.take_hours), 1) if self.take_hours else None

    @property
    def median_hours_to_finish(self) -> float | None:
        return round(statistics.median(self.finish_hours), 1) if self.finish_hours else None

    @property
    def rating_count(self) -> int:
        return len(self.ratings)

    @property
    def rating_average(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    def as_dict(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name, "opened": self.opened,
                "taken": self.taken, "done": self.done, "not_possible": self.not_possible,
                "cancelled": self.cancelled, "still_open": self.still_open,
                "median_hours_to_take": self.median_hours_to_take,
                "median_hours_to_finish": self.median_hours_to_finish,
                "ratings": self.rating_count, "rating_average": self.rating_average}


def figures_of(requests, names: dict[str, str] | None = None) -> list[UnitFigures]:
    """Per-commune figures of ``requests`` (one entry per commune that has any), by commune name.

    ``requests`` are :class:`HelpRequest` objects or rows with the columns of :data:`FIGURE_COLUMNS`.
    """
    names = names or {}
    by_unit: dict[str, UnitFigures] = {}
    for r in requests:
        f = by_unit.setdefault(r.unit_code, UnitFigures(r.unit_code, names.get(r.unit_code, r.unit_code)))
        f.opened += 1
        created, taken_at, closed_at = aware(r.created), aware(r.taken_at), aware(r.closed_at)
        if taken_at is not None:
            f.taken += 1
            f.take_hours.append((taken_at - created).total_seconds() / 3600)
        status = HelpStatus(r.status)
        if status is HelpStatus.done:
            f.done += 1
            if closed_at is not None:
                f.finish_hours.append((closed_at - created).total_seconds() / 3600)
        elif status is HelpStatus.not_possible:
            f.not_possible += 1
        elif status is HelpStatus.cancelled:
            f.cancelled += 1
        else:
            f.still_open += 1
        if r.rating:
            f.ratings.append(r.rating)
    return sorted(by_unit.values(), key=lambda f: (f.unit_name, f.unit_code))


def total_of(figures: list[UnitFigures], name: str = "") -> UnitFigures:
    """All communes together (medians over every request, not a median of medians)."""
    total = UnitFigures("", name)
    for f in figures:
        for attr in ("opened", "taken", "done", "not_possible", "cancelled", "still_open"):
            setattr(total, attr, getattr(total, attr) + getattr(f, attr))
        total.take_hours += f.take_hours
        total.finish_hours += f.finish_hours
        total.ratings += f.ratings
    return total


async def unit_names(session: AsyncSession, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {u.code: u.name for u in (await session.scalars(select(AdminUnit).where(
        AdminUnit.code.in_(sorted(codes))))).all()}


FIGURE_COLUMNS = (HelpRequest.unit_code, HelpRequest.status, HelpRequest.created, HelpRequest.taken_at,
                  HelpRequest.closed_at, HelpRequest.rating)


async def unit_figures(session: AsyncSession, scope: set[str] | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> list[UnitFigures]:
    """Per-commune figures of the requests created in [start, end) within ``scope`` (only the columns needed)."""
    query = select(*FIGURE_COLUMNS)
    if scope is not None:
        query = query.where(HelpRequest.unit_code.in_(scope))
    if start is not None:
        query = query.where(HelpRequest.created >= start)
    if end is not None:
        query = query.where(HelpRequest.created < end)
    rows = (await session.execute(query)).all()
    return figures_of(rows, await unit_names(session, {r.unit_code for r in rows}))


async def helped_between(session: AsyncSession, start: datetime, end: datetime,
                         scope: set[str] | None = None) -> int:
    """People helped: requests closed as done in [start, end) within ``scope``."""
    query = select(func.count(HelpRequest.id)).where(
        HelpRequest.status == HelpStatus.done.value, HelpRequest.closed_at >= start, HelpRequest.closed_at < end)
    if scope is not None:
        query = query.where(HelpRequest.unit_code.in_(scope))
    return await session.scalar(query) or 0


# --- privacy ------------------------------------------------------------------------------

async def forget_user(session: AsyncSession, user_id: int) -> None:
    """Erase a user's link to help requests and every phone number they gave.

    Their open requests are withdrawn (nobody could reach them any more); requests they had
    taken go back to the commune's open list, so the citizen is not left waiting on nobody.
    """
    now = utcnow()
    await session.execute(update(HelpRequest).where(HelpRequest.citizen_id == user_id,
                                                    HelpRequest.status.in_(OPEN_STATUSES))
                          .values(status=HelpStatus.cancelled.value, closed_at=now)
                          .execution_options(synchronize_session=False))
    await session.execute(update(HelpRequest).where(HelpRequest.citizen_id == user_id)
                          .values(citizen_id=None, phone=None, contact="bot")
                          .execution_options(synchronize_session=False))
    await session.execute(update(HelpRequest).where(HelpRequest.taker_id == user_id,
                                                    HelpRequest.status == HelpStatus.taken.value)
                          .values(status=HelpStatus.open.value, taker_id=None, taken_at=None)
                          .execution_options(synchronize_session=False))
    await session.execute(update(HelpRequest).where(HelpRequest.taker_id == user_id).values(taker_id=None)
                          .execution_options(synchronize_session=False))
    await session.execute(update(HelpEvent).where(HelpEvent.actor_id == user_id).values(actor_id=None)
                          .execution_options(synchronize_session=False))
