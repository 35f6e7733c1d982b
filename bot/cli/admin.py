"""``admin grant`` and ``admin list``: roles."""

from __future__ import annotations

import sys


def register(sub) -> None:
    admin = sub.add_parser("admin", help="manage roles")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    grant = admin_sub.add_parser("grant", help="give a user a role: admin grant telegram:12345 official --unit 42")
    grant.add_argument("who", help="<platform>:<user id>, e.g. telegram:12345 or zalo:abc123")
    grant.add_argument("role", choices=["citizen", "team", "official", "admin"])
    grant.add_argument("--unit", help="unit code or name, e.g. \"Cẩm Xuyên\" (default: the province)")
    grant.set_defaults(run=cmd_admin_grant)
    admin_sub.add_parser("list", help="list users who are not plain citizens").set_defaults(run=cmd_admin_list)


async def cmd_admin_grant(args, app) -> int:
    from bot.cli.units import resolve_unit
    from db.admin import grant_role

    platform, _, user_id = args.who.partition(":")
    if platform not in ("telegram", "zalo", "console") or not user_id:
        print("Sai định dạng: dùng <nền tảng>:<mã người dùng>, ví dụ telegram:12345", file=sys.stderr)
        return 2
    try:
        async with app.sessions() as session:
            unit_code = None
            if args.unit:
                unit = await resolve_unit(session, args.unit)
                if unit is None:
                    return 1
                unit_code = unit.code
            user = await grant_role(session, platform, user_id, args.role, unit_code)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"{platform}:{user_id} → {user.role.value} ({user.unit_code or '-'})")
    return 0


async def cmd_admin_list(args, app) -> int:
    from db.admin import list_privileged

    async with app.sessions() as session:
        for user in await list_privileged(session):
            print(f"{user.platform}:{user.platform_user_id}\t{user.role.value}\t{user.unit_code or '-'}\t{user.display_name}")
    return 0
