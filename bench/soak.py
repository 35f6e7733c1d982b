"""Soak: 30,000 mixed webhook calls through the real bot, run by hand (figures in BENCHMARKS.md).

``python -m bot run`` runs as its own process (webhook mode, SQLite), against the fake Telegram
and Zalo servers of tests/. This script posts to its webhooks, from ``--workers`` senders at
once, the traffic of tests/fuzz.py: valid messages and button presses, garbage JSON, oversized
bodies and texts, hostile files (a 12000x12000 PNG, a spreadsheet of 400,000 empty cells, a
16,000-column CSV, random bytes named .xlsx…), malformed Zalo events; while the fakes inject
faults (429, 500, 403 on sends, failed button answers). Meanwhile a probe user sends /menu
every ``--probe-every`` seconds and the time until its reply is recorded: the longest stall
another user saw. At the end: the bot is still alive and answers; no 500; how many error
lines and tracebacks its log has (and no "Task exception was never retrieved"); the bot
process's RSS at start and after the run (VmRSS, and its peak VmHWM). The matcher is built into
its disk cache (``python -m bot matcher``) before the bot starts, so a run never times a cold build.

    .venv/bin/python bench/soak.py [--updates 30000] [--workers 8] [--seed 1]

``--tracemalloc N`` runs the bot under tracemalloc (N frames; ~10 times slower) and prints the
Python allocations that grew most from a third of the run (warm: the matcher built, every kind
of update seen) to its end, by traceback: what keeps growing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e_zalo import free_port  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.fake_zalo import FakeZalo  # noqa: E402
from tests.fuzz import Traffic  # noqa: E402

SECRET = "soak-secret_0123456789"
PROBE = 699_999
STAFF = {700_001: "official", 700_002: "official", 700_003: "team", 700_004: "admin"}


def rss(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def cli(env: dict, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env=env, cwd=env["SOAK_DIR"],
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    _out, err = await process.communicate()
    if process.returncode:
        raise SystemExit(f"python -m bot {' '.join(args)} failed: {err.decode()[-2000:]}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--probe-every", type=float, default=0.5)
    parser.add_argument("--log", help="keep the bot's log in this file")
    parser.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                        help="also measure RSS this long after the run (the bot trims freed memory "
                             "every bot.memory.TRIM_EVERY seconds: 65 sees one trim)")
    parser.add_argument("--skip", default="", help="kinds not to send, e.g. tg-file,zalo-other")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace the bot's Python allocations and print what grew most")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram() as telegram, FakeZalo(allow_http_webhook=True, auto_deliver_webhook=False) as zalo:
            env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": f"{telegram.url}/bot",
                   "TELEGRAM_BASE_FILE_URL": f"{telegram.url}/file/bot", "ZALO_BOT_TOKEN": zalo.token,
                   "ZALO_BASE_URL": zalo.url, "WEBHOOK_URL": base, "WEBHOOK_SECRET": SECRET, "PORT": str(port),
                   "PUBLIC_BASE_URL": "", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/soak.db",
                   "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "SOAK_DIR": tmp,
                   "ADMIN_TELEGRAM_IDS": "700004"}
            await cli(env, "db", "upgrade")
            # The matcher built into its disk cache first, as a deployment does (README): the figures
            # are of a bot that reads it back at start, never of one building it at the first question
            # (27.9 s and 364 MB once, when the user's cache folder had been emptied from outside).
            await cli(env, "matcher")
            for user, role in STAFF.items():
                if role in ("official", "team"):
                    await cli(env, "admin", "grant", f"telegram:{user}", role, "--unit",
                              "42" if role == "official" else "18754")
            log_path = Path(tmp) / "bot.log"
            log_file = log_path.open("wb")
            command = (["-X", f"tracemalloc={args.tracemalloc}", "-c", TRACED.format(folder=tmp)]
                       if args.tracemalloc else ["-m", "bot", "run"])
            process = await asyncio.create_subprocess_exec(sys.executable, *command, env=env, cwd=tmp,
                                                           stdout=asyncio.subprocess.DEVNULL, stderr=log_file)
            try:
                await telegram.wait_for(lambda c: c.method == "setWebhook", timeout=120)
                await asyncio.sleep(3.0)  # settled: the first /healthz, the sender's first round
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"{base}/healthz") as response:
                        health_start = response.status
                    rss_start = rss(process.pid)
                    report = await soak(http, base, telegram, zalo, rng, args, process.pid,
                                        warm=lambda: snapshot(process, tmp, 0, args))
                    await asyncio.sleep(5.0)  # let the outbox and the last handlers finish
                    rss_end = rss(process.pid)
                    rss_settled = None
                    if args.settle:
                        await asyncio.sleep(args.settle)
                        rss_settled = rss(process.pid)
                    await snapshot(process, tmp, 1, args)
                    grown = traced_growth(tmp) if args.tracemalloc else ""
                    async with http.get(f"{base}/healthz") as response:
                        health_end = response.status, await response.json()
                    alive = process.returncode is None
                    # Still answering?
                    mark = telegram.mark()
                    await post(http, base, "telegram", telegram_text(PROBE, "/menu", 99_999_999))
                    await telegram.wait_messages(PROBE, 1, since=mark, timeout=30)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=60)
                log_file.close()
            log = log_path.read_text(errors="replace")
            if args.log:
                Path(args.log).write_text(log)
    lines = log.splitlines()
    levels = collections.Counter(word for line in lines for word in ("ERROR", "CRITICAL") if f" {word} " in line)
    first_lines = collections.Counter(line.split(": ", 1)[-1][:90] for line in lines
                                      if " ERROR " in line or " CRITICAL " in line)
    stalls = report["stalls"]
    print(f"updates sent: {report['sent']} in {report['seconds']:.0f} s ({report['sent'] / report['seconds']:.0f}/s); "
          f"kinds: {dict(sorted(report['kinds'].items()))}")
    print(f"HTTP statuses: {dict(sorted(report['statuses'].items()))}")
    print(f"bot alive at the end: {alive}; exit status after SIGTERM: {process.returncode}; "
          f"/healthz at start {health_start}, at the end {health_end[0]}")
    print(f"probe /menu replies: {len(stalls)}, median {statistics.median(stalls):.2f} s, "
          f"p99 {sorted(stalls)[int(len(stalls) * 0.99) - 1]:.2f} s, longest {max(stalls):.2f} s; "
          f"probes unanswered within 60 s: {report['lost_probes']}")
    print(f"RSS at start {rss_start[0]:.0f} MB; after the run {rss_end[0]:.0f} MB (peak {rss_end[1]:.0f} MB); "
          f"along the run: {', '.join(f'{mb:.0f}' for mb in report['rss'])} MB"
          + (f"; {args.settle:.0f} s after the run {rss_settled[0]:.0f} MB" if rss_settled else ""))
    print(f"log: {len(lines)} lines, {dict(levels)}, tracebacks {log.count('Traceback')}, "
          f"'Task exception was never retrieved' {log.count('Task exception was never retrieved')}")
    for text, count in first_lines.most_common(8):
        print(f"  {count:5d} × {text}")
    if health_end[0] != 200:
        print(f"/healthz: {json.dumps(health_end[1])[:600]}")
    if grown:
        print(grown)


# The bot under tracemalloc: SIGUSR1 writes a snapshot (after a full collection) to snapshot-N.
TRACED = """
import gc, itertools, signal, sys, runpy, tracemalloc
taken = itertools.count()
def dump(*_):
    gc.collect()
    tracemalloc.take_snapshot().dump(f"{folder}/snapshot-{{next(taken)}}")
signal.signal(signal.SIGUSR1, dump)
sys.argv = ["bot", "run"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


async def snapshot(process, folder: str, number: int, args) -> None:
    if not args.tracemalloc:
        return
    process.send_signal(signal.SIGUSR1)
    path = Path(folder) / f"snapshot-{number}"
    for _ in range(600):
        await asyncio.sleep(0.5)
        if path.exists() and path.stat().st_size and abs(time.time() - path.stat().st_mtime) > 1:
            return


def traced_growth(folder: str, top: int = 25) -> str:
    import tracemalloc

    start, end = (tracemalloc.Snapshot.load(f"{folder}/snapshot-{n}") for n in (0, 1))
    traced = [sum(stat.size for stat in s.statistics("filename")) / 1e6 for s in (start, end)]
    lines = [f"traced Python memory: {traced[0]:.1f} MB after a third of the run, {traced[1]:.1f} MB at the end; "
             "grew most:"]
    for stat in end.compare_to(start, "traceback")[:top]:
        lines.append(f"  {stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+8d} blocks")
        lines += [f"      {frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
                  for frame in list(stat.traceback)[-8:]]
    return "\n".join(lines)


def telegram_text(user: int, text: str, update_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else [],
        "from": {"id": user, "is_bot": False, "first_name": "Probe"}, "chat": {"id": user, "type": "private"}}}


async def post(http: aiohttp.ClientSession, base: str, channel: str, body) -> int:
    header = "X-Telegram-Bot-Api-Secret-Token" if channel == "telegram" else "X-Bot-Api-Secret-Token"
    data = body if isinstance(body, bytes) else json.dumps(body)
    try:
        async with http.post(f"{base}/{channel}", data=data, headers={header: SECRET, "Content-Type": "application/json"},
                             timeout=aiohttp.ClientTimeout(total=120)) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return -1 if not isinstance(exc, TimeoutError) else -2


async def soak(http, base, telegram, zalo, rng, args, pid: int, warm) -> dict:
    traffic = Traffic(rng, telegram, zalo, staff=STAFF, skip=tuple(filter(None, args.skip.split(","))))
    statuses: collections.Counter = collections.Counter()
    stalls: list[float] = []
    lost = 0
    done = asyncio.Event()
    remaining = args.updates
    started = time.monotonic()

    samples: list[float] = []

    async def sender() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            if remaining % 5000 == 0:
                samples.append(rss(pid)[0])
            if remaining == args.updates * 2 // 3:
                await warm()  # the bot is warm: a tracemalloc snapshot, when asked for
            _kind, channel, body = traffic.next()
            statuses[await post(http, base, channel, body)] += 1

    async def faults() -> None:
        while not done.is_set():
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            # On fuzzed users' chats only: the probe measures stalls, not faults.
            user = 700_000 + rng.randrange(traffic.users)
            telegram.fail_next(rng.choice(["sendMessage", "sendDocument", "sendPhoto"]), chat_id=user,
                               error_code=rng.choice([429, 500, 403, 400]), times=rng.randint(1, 5))
            zalo.fail_next("sendMessage", chat_id=f"{rng.randrange(traffic.users):020x}",
                           error_code=rng.choice([429, 500, 403]), times=rng.randint(1, 3))

    async def probe() -> None:
        nonlocal lost
        update_id = 90_000_000
        while not done.is_set():
            update_id += 1
            mark = telegram.mark()
            began = time.monotonic()
            asyncio.create_task(post(http, base, "telegram", telegram_text(PROBE, "/menu", update_id)))
            try:
                await telegram.wait_messages(PROBE, 1, since=mark, timeout=60)
                stalls.append(time.monotonic() - began)
            except AssertionError:
                lost += 1
            await asyncio.sleep(args.probe_every)

    helpers = [asyncio.create_task(faults()), asyncio.create_task(probe())]
    await asyncio.gather(*(sender() for _ in range(args.workers)))
    seconds = time.monotonic() - started
    done.set()
    await asyncio.gather(*helpers)
    telegram.clear_faults()
    zalo.clear_faults()
    return {"sent": args.updates, "seconds": seconds, "statuses": statuses, "stalls": stalls or [0.0],
            "lost_probes": lost, "kinds": traffic.counts, "rss": samples}


if __name__ == "__main__":
    asyncio.run(main())
