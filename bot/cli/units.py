"""``units find NAME``, and reading a unit given by name or code on the command line."""

from __future__ import annotations

import sys

LEVEL_NAMES = {"tinh": "tỉnh/sở", "huyen": "huyện", "xa": "xã/phường", "thon": "thôn/tổ dân phố"}


def register(sub) -> None:
    units = sub.add_parser("units", help="administrative units (communes, wards, departments)")
    units_sub = units.add_subparsers(dest="units_command", required=True, metavar="COMMAND")
    find = units_sub.add_parser("find", help="list the codes of the units whose name matches (accents optional)")
    find.add_argument("name", nargs="+", help='e.g. "cam xuyen" or "Sở Tư pháp"')
    find.add_argument("--villages", action="store_true", help="also list villages (thôn, tổ dân phố)")
    find.set_defaults(run=cmd_units_find)


def _line(unit) -> str:
    return f"{unit.code}\t{unit.name}\t{LEVEL_NAMES.get(unit.level.value, unit.level.value)}"


async def cmd_units_find(args, app) -> int:
    from db.models import UnitLevel
    from db.units import search_units

    text = " ".join(args.name)
    async with app.sessions() as session:
        units = [u for u in await search_units(session, text) if args.villages or u.level is not UnitLevel.thon]
    if not units:
        print(f"Không tìm thấy đơn vị nào tên \"{text}\".", file=sys.stderr)
        return 1
    for unit in units:
        print(_line(unit))
    return 0


async def resolve_unit(session, text: str, levels=None):
    """The one unit ``text`` names (a code or a name, accents optional), or None after printing why.

    ``levels``: the unit levels allowed (default: anything but a village). Several matches print
    the choices with their codes.
    """
    from db.models import UnitLevel
    from db.units import find_units, search_units

    levels = levels or (UnitLevel.tinh, UnitLevel.huyen, UnitLevel.xa)
    exact = [u for u in await find_units(session, text) if u.level in levels]
    if len(exact) == 1:
        return exact[0]
    choices = exact or [u for u in await search_units(session, text) if u.level in levels]
    if len(choices) == 1 and not exact:
        print(f"Không có đơn vị tên đúng \"{text}\". Có phải: {_line(choices[0])}? Dùng mã của nó.",
              file=sys.stderr)
        return None
    if not choices:
        print(f"Không tìm thấy đơn vị \"{text}\". Tìm mã bằng: python -m bot units find TÊN", file=sys.stderr)
        return None
    print(f"Có {len(choices)} đơn vị khớp với \"{text}\"; dùng mã của đơn vị bạn muốn:", file=sys.stderr)
    for unit in choices[:20]:
        print("  " + _line(unit), file=sys.stderr)
    return None
