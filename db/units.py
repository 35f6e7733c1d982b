"""Administrative units: the province and its communes and wards, and villages under them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.text import fold_key
from db.models import AdminUnit, UnitLevel

PROVINCE_CODE = "42"  # Hà Tĩnh in the national code list (vietnam-provinces ProvinceCode.P_42)


def current_units() -> list[AdminUnit]:
    """The province and its current communes and wards (two-level structure since 01/07/2025)."""
    import vietnam_provinces as vp

    province = vp.Province.from_code(vp.ProvinceCode.P_42)
    units = [
        AdminUnit(
            code=PROVINCE_CODE, name=f"Tỉnh {province.name}", name_key=fold_key(province.name),
            level=UnitLevel.tinh, kind="tỉnh", parent_code=None,
        )
    ]
    for ward in vp.Ward.iter_by_province(vp.ProvinceCode.P_42):
        units.append(
            AdminUnit(
                code=str(int(ward.code)), name=ward.name, name_key=fold_key(ward.name),
                level=UnitLevel.xa, kind=ward.division_type.value, parent_code=PROVINCE_CODE,
            )
        )
    return units


async def seed_units(session: AsyncSession) -> int:
    """Insert the units that are missing (idempotent); return how many were added."""
    existing = set((await session.scalars(select(AdminUnit.code))).all())
    added = 0
    for unit in current_units():
        if unit.code not in existing:
            session.add(unit)
            added += 1
            if unit.level is UnitLevel.tinh:
                await session.flush()
    await session.commit()
    return added


def strip_kind(key: str) -> str:
    """Drop a leading unit kind from a folded name: "xa cam xuyen" → "cam xuyen"."""
    for prefix in ("thanh pho ", "phuong ", "xa ", "thi tran ", "thon ", "to dan pho ", "tinh ", "so "):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


async def find_units(session: AsyncSession, text: str, level: UnitLevel | None = None) -> list[AdminUnit]:
    """Units whose code equals ``text`` or whose name matches it accent-insensitively."""
    text = text.strip()
    unit = await session.get(AdminUnit, text)
    if unit is not None and (level is None or unit.level == level):
        return [unit]
    wanted = fold_key(text)
    query = select(AdminUnit).where(AdminUnit.active.is_(True))
    if level is not None:
        query = query.where(AdminUnit.level == level)
    candidates = (await session.scalars(query)).all()
    exact = [u for u in candidates if u.name_key == wanted]
    if exact:
        return exact
    bare = strip_kind(wanted)
    return [u for u in candidates if strip_kind(u.name_key) == bare]


async def search_units(session: AsyncSession, text: str, limit: int = 50) -> list[AdminUnit]:
    """Units named like ``text``: exact matches (:func:`find_units`), else those whose name contains
    it (:func:`units_containing`); provinces and departments first, then communes, then villages."""
    found = await find_units(session, text) or await units_containing(session, text)
    order = {UnitLevel.tinh: 0, UnitLevel.huyen: 1, UnitLevel.xa: 2, UnitLevel.thon: 3}
    return sorted(found, key=lambda u: (order[u.level], u.name_key))[:limit]


async def unit_and_descendants(session: AsyncSession, code: str) -> set[str]:
    """The codes of ``code`` and every unit below it."""
    rows = (await session.execute(select(AdminUnit.code, AdminUnit.parent_code))).all()
    children: dict[str | None, list[str]] = {}
    for child, parent in rows:
        children.setdefault(parent, []).append(child)
    found, stack = set(), [code]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


async def units_containing(session: AsyncSession, text: str, level: UnitLevel | None = None) -> list[AdminUnit]:
    """Units whose name contains ``text`` (accent-insensitive, kind words ignored): choices for a partial name."""
    wanted = strip_kind(fold_key(text))
    if len(wanted) < 3:
        return []
    query = select(AdminUnit).where(AdminUnit.active.is_(True))
    if level is not None:
        query = query.where(AdminUnit.level == level)
    return [u for u in (await session.scalars(query.order_by(AdminUnit.name))).all()
            if wanted in strip_kind(u.name_key)]
