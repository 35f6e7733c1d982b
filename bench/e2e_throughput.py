"""End-to-end throughput: many users talking to the real bot through the fake Bot API server.

Runs, in one process and one run, the same closed-loop load (each user sends a message, waits
for the reply, sends the next) against (1) our bot: real PTB Application, router, handlers,
SQLite database; (2) a bare PTB echo bot on the same fake server: the floor the library allows.
Prints updates/s, p50/p99 reply latency and CPU time per update for both, and their ratio
(target ≥ 0.7). The machine may be busy with other work, so the two alternate for ``--rounds``
rounds (ours first in odd rounds, echo first in even ones) and the summary gives the medians;
CPU ms/update (this process's CPU time over the timed run) is the figure least moved by load.
Users send real questions (every line of tests/data/questions-*.tsv, each user from another
offset) with /start and /help mixed in; the echo bot sends each text back.

    .venv/bin/python bench/e2e_throughput.py [--users 50] [--messages 20] [--rounds 3]
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

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def load_messages() -> list[str]:
    """What users send: every question of our own question files (in scope or not, ~780
    distinct texts, so the matcher's memo of recent questions is no shortcut), with a /start
    and a /help among every ten messages."""
    questions = [line.split("\t", 1)[0] for path in sorted(DATA.glob("questions-*.tsv"))
                 for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.split("\t", 1)[0].strip()]
    messages = []
    for i, question in enumerate(questions):
        messages.append(question)
        if i % 10 == 4:
            messages.append("/start")
        elif i % 10 == 9:
            messages.append("/help")
    return messages


MESSAGES = load_messages()


class Run:
    """One timed run: wall time, CPU time of this process, and each reply's latency."""

    def __init__(self, elapsed: float, cpu: float, latencies: list[float]) -> None:
        self.elapsed, self.cpu, self.latencies = elapsed, cpu, latencies


async def drive(fake: FakeTelegram, users: int, per_user: int) -> Run:
    """Each user sends ``per_user`` messages one after another and waits for each reply."""
    latencies: list[float] = []

    async def one_user(uid: int) -> None:
        for i in range(per_user):
            mark = fake.mark()
            sent = time.perf_counter()
            fake.user_sends_text(uid, MESSAGES[(uid * 37 + i) % len(MESSAGES)], first_name=f"U{uid}")
            await fake.wait_messages(uid, 1, since=mark, timeout=60)
            latencies.append(time.perf_counter() - sent)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_user(10_000 + u) for u in range(users)))
    return Run(time.perf_counter() - start, time.process_time() - cpu, latencies)


def report(name: str, total: int, run: Run) -> float:
    rate = total / run.elapsed
    q = statistics.quantiles(run.latencies, n=100)
    print(f"{name:>10}: {total} updates in {run.elapsed:.2f} s = {rate:7.1f} updates/s; "
          f"latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; "
          f"CPU {run.cpu / total * 1000:.2f} ms/update", flush=True)
    return rate


async def bench_ours(users: int, per_user: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram() as fake:
            app = App(make_settings(Path(tmp), telegram_bot_token=fake.token, log_level="WARNING",
                                    telegram_base_url=f"{fake.url}/bot",
                                    telegram_base_file_url=f"{fake.url}/file/bot"))
            await app.prepare()
            _ = app.services.matcher  # build the index before timing, as a running bot has
            stop = asyncio.Event()
            task = asyncio.create_task(run_channels(app, stop))
            await fake.wait_for(lambda c: c.method == "deleteWebhook", timeout=10)
            await drive(fake, 5, 2)  # warm-up
            run = await drive(fake, users, per_user)
            stop.set()
            await task
            await app.aclose()
    return report("our bot", users * per_user, run)


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
            run = await drive(fake, users, per_user)
            await application.updater.stop()
            await application.stop()
    return report("echo bot", users * per_user, run)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median reported)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    ours_rates, echo_rates, ratios = [], [], []
    for round_ in range(args.rounds):
        if round_ % 2 == 0:
            ours = await bench_ours(args.users, args.messages)
            floor = await bench_echo(args.users, args.messages)
        else:
            floor = await bench_echo(args.users, args.messages)
            ours = await bench_ours(args.users, args.messages)
        ours_rates.append(ours)
        echo_rates.append(floor)
        ratios.append(ours / floor)
        print(f"round {round_ + 1}: ratio our/echo = {ours / floor:.2f}", flush=True)
    median = statistics.median
    print(f"median of {args.rounds}: our bot {median(ours_rates):.1f} updates/s, echo bot "
          f"{median(echo_rates):.1f} updates/s, ratio our/echo = {median(ratios):.2f} (target ≥ 0.70)")


if __name__ == "__main__":
    asyncio.run(main())
