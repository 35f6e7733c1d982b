"""CLI of the reports feature: ``invite create`` and ``reports export``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path


def register(sub) -> None:
    invite = sub.add_parser("invite", help="invite codes for team members and officials")
    invite_sub = invite.add_subparsers(dest="invite_command", required=True, metavar="COMMAND")
    create = invite_sub.add_parser("create", help="create an invite code and print it")
    create.add_argument("--role", choices=["team", "official"], required=True)
    create.add_argument("--unit", required=True, help="unit code (a commune for --role team)")
    create.add_argument("--uses", type=int, default=1, help="how many people may use it (default 1)")
    create.add_argument("--days", type=float, default=7, help="days before it expires (default 7)")
    create.set_defaults(run=cmd_invite_create)

    reports = sub.add_parser("reports", help="difficulty reports")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True, metavar="COMMAND")
    export = reports_sub.add_parser("export", help="one row per report, with every state's time")
    export.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="YYYY-MM-DD (included)")
    export.add_argument("--unit", help="only this unit and the units below it")
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--out", help="output file (default bao-cao_FROM_TO.FORMAT)")
    export.set_defaults(run=cmd_reports_export)


async def cmd_invite_create(args, app) -> int:
    from db import invites
    from db.models import AdminUnit, Role, UnitLevel

    async with app.sessions() as session:
        unit = await session.get(AdminUnit, args.unit)
        if unit is None:
            print(f"Không có đơn vị hành chính mã {args.unit}", file=sys.stderr)
            return 1
        if args.role == "team" and unit.level is not UnitLevel.xa:
            print("Mã mời tổ công nghệ số phải gắn với một xã/phường.", file=sys.stderr)
            return 1
        try:
            code = await invites.create_invite(session, Role(args.role), unit.code, uses=args.uses, days=args.days)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        await session.commit()
    print(code)
    return 0


async def cmd_reports_export(args, app) -> int:
    from content.dates import day_range
    from db.units import unit_and_descendants
    from handlers.reports.export import report_file, report_table

    tz = app.settings.tz
    begin, finish = day_range(args.start, args.end, tz)
    async with app.sessions() as session:
        scope = await unit_and_descendants(session, args.unit) if args.unit else None
        rows = await report_table(session, begin, finish, scope, tz)
    data = report_file(rows, args.format)
    out = Path(args.out or f"bao-cao_{args.start}_{args.end}.{args.format}")
    out.write_bytes(data)
    print(f"{len(rows) - 1} báo cáo → {out}")
    return 0
