"""Invite codes that make people team members or officials, and villages named on joining."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.text import fold_key
from db.base import Base, utcnow
from db.guidance import user_hash
from db.models import AdminUnit, Role, UnitLevel, User
from db.units import strip_kind, unit_and_descendants

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 10
DEFAULT_DAYS = 7
DEFAULT_USES = 1
MAX_WRONG = 5  # wrong codes per hour before a user is refused for an hour
WRONG_WINDOW = timedelta(hours=1)
# Wrong codes from everyone together: many accounts cannot add up to many guesses. Past the
# limit nobody may try a code until the window has moved on (a real code is rarely mistyped
# 30 times in 10 minutes, even on a day a whole district joins).
GLOBAL_MAX_WRONG = 30
GLOBAL_WINDOW = timedelta(minutes=10)
KEEP_ATTEMPTS = timedelta(days=1)  # older attempts count for nothing and are deleted
CODE_PATTERN = re.compile(rf"^[{ALPHABET}]{{8,16}}$")


class Invite(Base):
    """One invite code (stored as a SHA-256 hash: a leaked database does not leak codes)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    uses_left: Mapped[int] = mapped_column(Integer)


class JoinAttempt(Base):
    """A code someone tried; wrong ones count towards the limits.

    ``account`` is a salted hash of the platform account, not the user row: /deletemydata
    detaches the attempt from the user (``user_id`` becomes NULL) but a new user row for the
    same account still finds its count, so deleting one's data does not reset the limit.
    """

    __tablename__ = "join_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account: Mapped[str | None] = mapped_column(String(32), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class JoinResult(str, enum.Enum):
    joined = "joined"
    wrong = "wrong"  # no such code
    expired = "expired"
    used_up = "used_up"
    blocked = "blocked"  # too many wrong codes from this account in the last hour
    busy = "busy"  # too many wrong codes from everyone in the last minutes


@dataclass
class Joined:
    result: JoinResult
    role: Role | None = None
    unit: AdminUnit | None = None


def normalize_code(text: str) -> str:
    return re.sub(r"[\s-]", "", text or "").upper()


def looks_like_code(text: str) -> bool:
    return bool(CODE_PATTERN.match(normalize_code(text)))


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def may_invite(session: AsyncSession, inviter: User, role: Role, unit: AdminUnit) -> bool:
    """Admins invite anyone; officials invite team members and officials in their own scope."""
    if role not in (Role.team, Role.official):
        return False
    if role is Role.team and unit.level is not UnitLevel.xa:
        return False  # a team belongs to a commune or ward
    if inviter.role is Role.admin:
        return True
    if inviter.role is not Role.official or not inviter.unit_code:
        return False
    return unit.code in await unit_and_descendants(session, inviter.unit_code)


async def create_invite(session: AsyncSession, role: Role, unit_code: str, created_by: int | None = None,
                        uses: int = DEFAULT_USES, days: float = DEFAULT_DAYS) -> str:
    """Create an invite and return its code (shown once: only the hash is stored)."""
    if uses < 1 or days <= 0:
        raise ValueError("uses and days must be positive")
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        digest = hash_code(code)
        if not await session.scalar(select(Invite.id).where(Invite.code_hash == digest)):
            break
    session.add(Invite(code_hash=digest, role=role, unit_code=unit_code, created_by=created_by,
                       expires_at=utcnow() + timedelta(days=days), uses_left=uses))
    await session.flush()
    return code


def account_key(salt: str, user: User) -> str:
    """The salted hash that stands for ``user``'s platform account in the attempt counter."""
    return user_hash(salt, user.platform, user.platform_user_id)


async def wrong_attempts(session: AsyncSession, account: str | None = None, now: datetime | None = None,
                         window: timedelta = WRONG_WINDOW) -> int:
    """Wrong codes in the last ``window``: of one account, or of everyone (``account`` None)."""
    now = now or utcnow()
    query = select(func.count(JoinAttempt.id)).where(JoinAttempt.ok.is_(False),
                                                     JoinAttempt.created > now - window)
    if account is not None:
        query = query.where(JoinAttempt.account == account)
    return await session.scalar(query) or 0


async def redeem(session: AsyncSession, user: User, code: str, now: datetime | None = None, *,
                 salt: str = "") -> Joined:
    """Try ``code`` for ``user``: on success the user gets the invite's role and unit.

    ``salt`` is USER_HASH_SALT, for the hash of the account that counts its wrong codes.
    """
    now = now or utcnow()
    account = account_key(salt, user)
    await session.execute(delete(JoinAttempt).where(JoinAttempt.created < now - KEEP_ATTEMPTS))
    if await wrong_attempts(session, account, now) >= MAX_WRONG:
        return Joined(JoinResult.blocked)
    if await wrong_attempts(session, None, now, GLOBAL_WINDOW) >= GLOBAL_MAX_WRONG:
        return Joined(JoinResult.busy)
    invite = await session.scalar(select(Invite).where(Invite.code_hash == hash_code(code)))
    result = JoinResult.joined
    if invite is None:
        result = JoinResult.wrong
    elif _aware(invite.expires_at) <= now:
        result = JoinResult.expired
    else:
        # One statement decides who gets the last use, even with two people at once.
        taken = await session.execute(update(Invite).where(Invite.id == invite.id, Invite.uses_left > 0)
                                      .values(uses_left=Invite.uses_left - 1))
        if not taken.rowcount:
            result = JoinResult.used_up
    session.add(JoinAttempt(user_id=user.id, account=account, created=now, ok=result is JoinResult.joined))
    if result is not JoinResult.joined:
        await session.flush()
        return Joined(result)
    if user.role is not Role.admin:
        user.role = invite.role
    user.unit_code = invite.unit_code
    if invite.role is not Role.team:
        user.village_code = None
    if user.role.at_least(Role.official):
        from db.subscriptions import subscribe

        await subscribe(session, user.id)  # officials get the daily summary
    await session.flush()
    return Joined(result, invite.role, await session.get(AdminUnit, invite.unit_code))


def village_code(commune_code: str, name: str) -> str:
    """A stable code for a village: the same name, with or without accents, gives the same code."""
    key = strip_kind(fold_key(name))
    return f"{commune_code}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def clean_village_name(text: str) -> str:
    name = " ".join((text or "").split())[:100]
    key = fold_key(name)
    if strip_kind(key) == key and key:  # no kind given: "3" or "Trung Tiến" → "Thôn 3"
        name = f"Thôn {name}"
    return name[:1].upper() + name[1:]


async def find_or_create_village(session: AsyncSession, commune_code: str, text: str) -> AdminUnit | None:
    """The village named ``text`` under the commune, created on first mention."""
    name = clean_village_name(text)
    wanted = strip_kind(fold_key(name))
    if not wanted:
        return None
    villages = (await session.scalars(select(AdminUnit).where(
        AdminUnit.parent_code == commune_code, AdminUnit.level == UnitLevel.thon))).all()
    for village in villages:
        if strip_kind(village.name_key) == wanted:
            return village
    code = village_code(commune_code, name)
    existing = await session.get(AdminUnit, code)
    if existing is not None:
        return existing
    kind = "tổ dân phố" if fold_key(name).startswith("to dan pho") else "thôn"
    village = AdminUnit(code=code, name=name, name_key=fold_key(name), level=UnitLevel.thon, kind=kind,
                        parent_code=commune_code, active=True)
    session.add(village)
    await session.flush()
    return village


async def forget_attempts(session: AsyncSession, user_id: int) -> None:
    """/deletemydata: attempts lose their link to the user; the hashed account keeps counting."""
    await session.execute(update(JoinAttempt).where(JoinAttempt.user_id == user_id).values(user_id=None))
