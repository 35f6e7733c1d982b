"""Command line: ``python -m bot <command>``; ``--help`` works on every level.

One module per command group, each with ``register(subparsers)``; a command's ``run(args, app)``
gets the prepared :class:`bot.app.App` (``needs_db=False`` skips migrations and seeding).
"""

from __future__ import annotations

import argparse
import asyncio

from bot.logs import setup_logging
from bot.settings import Settings

GROUPS: tuple[str, ...] = ("bot.cli.run", "bot.cli.admin", "bot.cli.guidance", "bot.cli.progress",
                           "bot.cli.reports", "bot.cli.help_requests", "bot.cli.units")  # in --help order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Hà Tĩnh online public services bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in GROUPS:
        __import__(module_name, fromlist=["register"]).register(sub)
    return parser


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
    setup_logging(settings, quiet=args.command != "run"
                  or not (settings.telegram_bot_token or settings.zalo_bot_token))
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130
