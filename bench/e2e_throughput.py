"""End-to-end throughput: many users talking to the real bot through the fake Bot API server.

Runs, in one process and one run, the same closed-loop load (each user sends a message, waits
for the reply, sends the next) against (1) our bot: real PTB Application, router, handlers,
SQLite database; (2) a bare PTB echo bot on the same fake server: the floor the library allows.
Prints updates/s and p50/p99 reply latency for both, and their ratio (target ≥ 0.7).

    .venv/bin/python bench/e2e_throughput.py [--users 50] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, MessageHandler, filters  # noqa: E402

from bot.app import App  # noqa: E402
from bot.channels.telegram import PerUserUpdateProcessor  # noqa: E402
from bot.server import run_channels  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

MESSAGES = ["/start", "lam sao nop phi online", "tra cuu ho so o mo", "quên mật khẩu vneid", "/help"]


async def drive(fake: FakeTelegram, users: int, per_user: int) -> tuple[float, list[float]]:
    """Each user sends ``per_user`` messages one after another; return (elapsed, latencies)."""
    latencies: list[float] = []

    async def one_user(uid: int) -> None:
        for i in range(per_user):
            mark = fake.mark()
            sent = time.perf_counter()
            fake.user_sends_text(uid, MESSAGES[i % len(MESSAGES)], first_name=f"U{uid}")
            await fake.wait_messages(uid, 1, since=mark, timeout=60)
            latencies.append(time.perf_counter() - sent)

    start = time.perf_counter()
    await asyncio.gather(*(one_user(10_000 + u) for u in range(users)))
    return time.perf_counter() - start, latencies


def report(name: str, total: int, elapsed: float, latencies: list[float]) -> float:
    rate = total / elapsed
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:>10}: {total} updates in {elapsed:.2f} s = {rate:7.1f} updates/s; "
          f"latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")
    return rate


async def bench_ours(users: int, per_user: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram() as fake:
            app = App(make_settings(Path(tmp), telegram_bot_token=fake.token, log_level="WARNING",
                                    telegram_base_url=f"{fake.url}/bot",
                                    telegram_base_file_url=f"{fake.url}/file/bot"))
            await app.prepare()
            app.matcher  # build the index before timing, as a running bot has
            stop = asyncio.Event()
            task = asyncio.create_task(run_channels(app, stop))
            await fake.wait_for(lambda c: c.method == "deleteWebhook", timeout=10)
            await drive(fake, 5, 2)  # warm-up
            elapsed, latencies = await drive(fake, users, per_user)
            stop.set()
            await task
            await app.aclose()
    return report("our bot", users * per_user, elapsed, latencies)


async def bench_echo(users: int, per_user: int) -> float:
    async with FakeTelegram() as fake:
        async def echo(update: Update, context) -> None:
            await update.effective_message.reply_text(update.effective_message.text)

        application = (ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot")
                       .base_file_url(f"{fake.url}/file/bot")
                       .concurrent_updates(PerUserUpdateProcessor()).build())
        application.add_handler(MessageHandler(filters.ALL, echo))
        async with application:
            await application.start()
            await application.updater.start_polling()
            await drive(fake, 5, 2)
            elapsed, latencies = await drive(fake, users, per_user)
            await application.updater.stop()
            await application.stop()
    return report("echo bot", users * per_user, elapsed, latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    ours = await bench_ours(args.users, args.messages)
    floor = await bench_echo(args.users, args.messages)
    print(f"ratio our/echo = {ours / floor:.2f} (target ≥ 0.70)")


if __name__ == "__main__":
    asyncio.run(main())
