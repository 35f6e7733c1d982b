"""Guidance throughput with 1, 2 and 3 bot processes on PostgreSQL against 1 process on SQLite.

Each configuration, in one run and side by side: N real `python -m bot run` processes in
webhook mode on one fresh database, the fake Telegram Bot API server and the load generator in
this process. Users talk in a closed loop (send a question, wait for the answer, send the next);
each message is posted to one of the processes in turn, as a reverse proxy would, and the
webhook answers once the message was handled (committed) and its reply sent. Users ask real
questions (tests/data/questions-*.tsv) with /start and /help mixed in.

Prints updates/s, p50/p95 latency, and where the CPU time goes per update: the bot processes
(/proc/<pid>/stat), the PostgreSQL server (its backends, children of the postmaster) and this
process (fake server and load generator). The machine may be shared: CPU ms per update moves
least with load.

    eval "$(scripts/postgres.sh start)"     # or TEST_POSTGRES_URL=postgresql+asyncpg://…/postgres
    .venv/bin/python bench/workers.py [--users 40] [--messages 15] [--processes 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.e2e_throughput import MESSAGES  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

SECRET = "bench-workers-secret_0123456789"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu(postmaster: int | None) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster and its children (backends)."""
    if postmaster is None:
        return 0.0
    total = cpu_seconds(postmaster)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def find_postmaster(url: str) -> int | None:
    directory = os.environ.get("PGTEST_DIR", "/tmp/hatinh-bot-pg")
    pid_file = Path(directory) / "data" / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Config:
    def __init__(self, name: str, processes: int, database_url: str) -> None:
        self.name, self.processes, self.database_url = name, processes, database_url


async def run_config(config: Config, users: int, messages: int, workdir: Path, postmaster: int | None) -> dict:
    async with FakeTelegram(auto_deliver_webhook=False) as fake:
        ports = [free_port() for _ in range(config.processes)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": config.database_url,
               "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": f"{fake.url}/bot",
               "TELEGRAM_BASE_FILE_URL": f"{fake.url}/file/bot", "ZALO_BOT_TOKEN": "",
               "WEBHOOK_URL": f"http://127.0.0.1:{ports[0]}", "WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING"}
        procs = []
        for port in ports:  # one after another: the first migrates, the others find nothing to do
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=workdir, env={**env, "PORT": str(port)},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))
        try:
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as http:
                for port in ports:
                    for _ in range(600):
                        try:
                            if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                        await asyncio.sleep(0.1)
                    else:
                        raise RuntimeError(f"{config.name}: a process did not start")
                turn = 0

                async def post(user: int, text: str, latencies: list[float] | None) -> None:
                    nonlocal turn
                    update_id = fake.user_sends_text(user, text, first_name="Lan")
                    port = ports[turn % len(ports)]
                    turn += 1
                    started = time.perf_counter()
                    response = await http.post(f"http://127.0.0.1:{port}/telegram", json=fake.updates_log[update_id],
                                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                    assert response.status_code == 200, response.status_code
                    if latencies is not None:
                        latencies.append(time.perf_counter() - started)

                # Warm up: every process loads the knowledge base and the matcher on first use.
                await asyncio.gather(*(post(10_000 + u, text, None) for u in range(users)
                                       for text in ("/start", MESSAGES[u % len(MESSAGES)])))
                latencies: list[float] = []
                cpu_before = [cpu_seconds(p.pid) for p in procs]
                pg_before, own_before = postgres_cpu(postmaster), time.process_time()
                started = time.perf_counter()

                async def user_loop(u: int) -> None:
                    for i in range(messages):
                        await post(10_000 + u, MESSAGES[(u * 37 + i) % len(MESSAGES)], latencies)

                await asyncio.gather(*(user_loop(u) for u in range(users)))
                wall = time.perf_counter() - started
                bots = sum(cpu_seconds(p.pid) for p in procs) - sum(cpu_before)
                pg = postgres_cpu(postmaster) - pg_before if config.name.startswith("PostgreSQL") else 0.0
                own = time.process_time() - own_before
        finally:
            for p in procs:
                if p.returncode is None:
                    p.send_signal(signal.SIGTERM)
            await asyncio.gather(*(asyncio.wait_for(p.wait(), 30) for p in procs), return_exceptions=True)
    n = len(latencies)
    latencies.sort()
    return {"name": config.name, "updates": n, "rate": n / wall,
            "p50": statistics.median(latencies) * 1000, "p95": latencies[int(n * 0.95) - 1] * 1000,
            "bots": bots / n * 1000, "pg": pg / n * 1000, "own": own / n * 1000}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--messages", type=int, default=15)
    parser.add_argument("--processes", default="1,2,3")
    args = parser.parse_args()
    url = os.environ.get("TEST_POSTGRES_URL", "")
    if not url:
        sys.exit('TEST_POSTGRES_URL is not set: eval "$(scripts/postgres.sh start)" first')
    import asyncpg

    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    postmaster = find_postmaster(url)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        configs = [Config("SQLite, 1 process", 1, f"sqlite+aiosqlite:///{workdir}/bench.db")]
        names = []
        for count in [int(x) for x in args.processes.split(",")]:
            name = f"b_{uuid.uuid4().hex[:10]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            names.append(name)
            configs.append(Config(f"PostgreSQL, {count} process{'es' if count > 1 else ''}", count,
                                  url.rsplit("/", 1)[0] + f"/{name}"))
        try:
            for config in configs:
                result = await run_config(config, args.users, args.messages, workdir, postmaster)
                results.append(result)
                print(f"{result['name']}: {result['rate']:.0f} updates/s", file=sys.stderr)
        finally:
            for name in names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    base = results[0]["rate"]
    print(f"\n{args.users} users x {args.messages} messages, closed loop, {os.cpu_count()} CPUs\n")
    print("| configuration | updates/s | vs SQLite | p50 ms | p95 ms | CPU ms/update: bots | PostgreSQL | fake server + load |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['rate']:.0f} | {r['rate'] / base:.2f} | {r['p50']:.0f} | {r['p95']:.0f} "
              f"| {r['bots']:.1f} | {r['pg']:.1f} | {r['own']:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
