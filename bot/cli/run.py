"""``run`` (the bot), ``chat`` (the terminal chat) and ``db upgrade``."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
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

    webhook = sub.add_parser("webhook", help="the platforms' webhooks (the running bot's leader sets them too)")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True, metavar="COMMAND")
    webhook_sub.add_parser("set", help="point every channel at WEBHOOK_URL with WEBHOOK_SECRET").set_defaults(
        run=cmd_webhook_set, needs_db=False)


async def cmd_run(args, app) -> int:
    settings = app.settings
    if settings.telegram_bot_token or settings.zalo_bot_token:
        from bot.server import run_channels

        return await run_channels(app)
    print("Chưa đặt TELEGRAM_BOT_TOKEN hay ZALO_BOT_TOKEN: mở trò chuyện trong cửa sổ dòng lệnh.",
          file=sys.stderr)
    return await cmd_chat(argparse.Namespace(user_id="1", role=None, unit=None), app)


async def cmd_chat(args, app) -> int:
    from bot.channels.console import run_console
    from bot.outbox import OutboxSender

    if args.role:
        from db.admin import grant_role

        async with app.sessions() as session:
            await grant_role(session, "console", args.user_id, args.role, args.unit)

    def outbox(deliver):  # the messages queued for this terminal's user, printed as they are delivered
        return OutboxSender(app, {"console": deliver}, rate=0, only_users={args.user_id})

    await run_console(app, user_id=args.user_id, outbox=outbox)
    return 0


async def cmd_db_upgrade(args, app) -> int:
    print("Cơ sở dữ liệu đã được cập nhật.")
    return 0


async def cmd_webhook_set(args, app) -> int:
    from bot.channels import build_channels

    settings = app.settings
    webhook = settings.webhook_url.rstrip("/")
    if not webhook or not settings.webhook_secret:
        print("Cần đặt WEBHOOK_URL và WEBHOOK_SECRET.", file=sys.stderr)
        return 2
    channels = build_channels(app, None, webhook, webhook=True)
    if not channels:
        print("Chưa đặt TELEGRAM_BOT_TOKEN hay ZALO_BOT_TOKEN.", file=sys.stderr)
        return 2
    for channel in channels:
        try:
            await channel.set_webhook(f"{webhook}{channel.webhook_path}", settings.webhook_secret)
            print(f"{channel.platform}: {webhook}{channel.webhook_path}")
        finally:
            await channel.stop()
    return 0
