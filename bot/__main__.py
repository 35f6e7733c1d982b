"""Command line: ``python -m bot <command>``; ``--help`` works on every level."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.settings import Settings

FEATURE_CLIS: tuple[str, ...] = ("bot.cli_guidance", "bot.cli_progress", "bot.cli_reports")  # modules with register(subparsers); each feature adds its own


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Hà Tĩnh online public services bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the bot: Telegram and/or Zalo when TELEGRAM_BOT_TOKEN / ZALO_BOT_TOKEN "
                                     "is set, else the terminal chat")
    run.set_defaults(run=cmd_run)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal (reads stdin line by line when piped)")
    chat.add_argument("--user-id", default="1", help="terminal user id (default 1)")
    chat.add_argument("--as", dest="role", choices=["citizen", "team", "official", "admin"],
                      help="give the terminal user this role first (local testing)")
    chat.add_argument("--unit", help="unit code for --as team/official (default: the province)")
    chat.set_defaults(run=cmd_chat)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_sub.add_parser("upgrade", help="apply migrations (also done at every start)").set_defaults(run=cmd_db_upgrade)

    admin = sub.add_parser("admin", help="manage roles")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    grant = admin_sub.add_parser("grant", help="give a user a role: admin grant telegram:12345 official --unit 42")
    grant.add_argument("who", help="<platform>:<user id>, e.g. telegram:12345 or zalo:abc123")
    grant.add_argument("role", choices=["citizen", "team", "official", "admin"])
    grant.add_argument("--unit", help="administrative unit code (default: the province)")
    grant.set_defaults(run=cmd_admin_grant)
    admin_sub.add_parser("list", help="list users who are not plain citizens").set_defaults(run=cmd_admin_list)

    for module_name in FEATURE_CLIS:
        __import__(module_name, fromlist=["register"]).register(sub)
    return parser


async def cmd_run(args, app) -> int:
    settings = app.settings
    if settings.telegram_bot_token or settings.zalo_bot_token:
        from bot.server import run_channels

        await run_channels(app)
        return 0
    print("Chưa đặt TELEGRAM_BOT_TOKEN hay ZALO_BOT_TOKEN: mở trò chuyện trong cửa sổ dòng lệnh.",
          file=sys.stderr)
    return await cmd_chat(argparse.Namespace(user_id="1", role=None, unit=None), app)


async def cmd_chat(args, app) -> int:
    from bot.channels.console import run_console

    if args.role:
        from db.admin import grant_role

        async with app.sessions() as session:
            await grant_role(session, "console", args.user_id, args.role, args.unit)
    await run_console(app, user_id=args.user_id)
    return 0


async def cmd_db_upgrade(args, app) -> int:
    print("Cơ sở dữ liệu đã được cập nhật.")
    return 0


async def cmd_admin_grant(args, app) -> int:
    from db.admin import grant_role

    platform, _, user_id = args.who.partition(":")
    if platform not in ("telegram", "zalo", "console") or not user_id:
        print("Sai định dạng: dùng <nền tảng>:<mã người dùng>, ví dụ telegram:12345", file=sys.stderr)
        return 2
    try:
        async with app.sessions() as session:
            user = await grant_role(session, platform, user_id, args.role, args.unit)
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


async def _main(args) -> int:
    from bot.app import App

    app = App(Settings())
    try:
        if getattr(args, "needs_db", True):
            await app.prepare()
        return await args.run(args, app)
    finally:
        await app.aclose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command != "run" or not (settings.telegram_bot_token or settings.zalo_bot_token):
        # One-shot commands and the terminal chat print their own output; keep logs to problems.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
