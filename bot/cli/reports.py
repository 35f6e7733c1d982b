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
    create.add_argument("--unit", required=True,
                        help="unit code or name, e.g. \"Cẩm Xuyên\" (a commune or ward for --role team)")
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
    from bot.cli.units import resolve_unit
    from db import invites
    from db.models import Role, UnitLevel

    levels = (UnitLevel.xa,) if args.role == "team" else None
    async with app.sessions() as session:
        unit = await resolve_unit(session, args.unit, levels)
        if unit is None:
            if args.role == "team":
                print("Mã mời tổ công nghệ số phải gắn với một xã/phường.", file=sys.stderr)
            return 1
        try:
            code = await invites.create_invite(session, Role(args.role), unit.code, uses=args.uses, days=args.days)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        await session.commit()
    role = "thành viên tổ công nghệ số" if args.role == "team" else "cán bộ"
    print(code)
    print(f"Mã mời {role} của {unit.name} ({unit.code}), dùng {args.uses} lần, hết hạn sau {args.days:g} ngày.")
    print(f"Người được mời gửi cho bot: /join {code}")
    username = await telegram_username(app.settings)
    if username:
        print(f"Hoặc mở đường dẫn: https://t.me/{username}?start={code}")
    else:
        print(f"Trên Telegram, đường dẫn là https://t.me/<tên bot>?start={code} "
              "(đặt TELEGRAM_BOT_TOKEN để in sẵn đường dẫn).")
    return 0


async def telegram_username(settings) -> str:
    """The bot's Telegram username (getMe), or "" without a token or when Telegram does not answer."""
    if not settings.telegram_bot_token:
        return ""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{settings.telegram_base_url}{settings.telegram_bot_token}/getMe")
        return str(answer.json()["result"]["username"])
    except Exception:  # noqa: BLE001 - the link is a convenience; the /join line is enough
        return ""


async def cmd_reports_export(args, app) -> int:
    from content.dates import day_range
    from db.units import unit_and_descendants
    from handlers.extensions import export_sheets
    from handlers.reports.export import report_file, report_table

    tz = app.settings.tz
    begin, finish = day_range(args.start, args.end, tz)
    async with app.sessions() as session:
        scope = await unit_and_descendants(session, args.unit) if args.unit else None
        rows = await report_table(session, begin, finish, scope, tz)
        more = await export_sheets(session, app.services.kb, begin, finish, scope, tz) if args.format == "xlsx" else []
    data = report_file(rows, args.format, more)
    out = Path(args.out or f"bao-cao_{args.start}_{args.end}.{args.format}")
    out.write_bytes(data)
    print(f"{len(rows) - 1} báo cáo → {out}")
    return 0
