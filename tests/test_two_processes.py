"""Two `python -m bot run` processes on one PostgreSQL database behind one webhook URL (issue 11).

The fake Bot API server sets no webhook delivery of its own: the test posts each update to one
process or the other, as a reverse proxy would. `make test` starts PostgreSQL
(scripts/postgres.sh) and sets TEST_POSTGRES_URL; without it these tests are skipped (CI fails).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import App
from db.models import DialogState, Role, User
from db.reports import Report
from tests.conftest import make_settings
from tests.e2e_zalo import free_port
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL and not os.environ.get("CI"),
                                reason="TEST_POSTGRES_URL not set (make test starts PostgreSQL)")
SECRET = "two-processes-secret_0123"
RATE = 40.0
APOLOGY = "trục trặc"


class Cluster:
    """The fake Bot API, two bot processes and an App in the test for setting up and checking."""

    def __init__(self, fake: FakeTelegram, database_url: str, tmp_path: Path) -> None:
        self.fake, self.database_url, self.tmp_path = fake, database_url, tmp_path
        self.ports = [free_port(), free_port()]
        self.processes: list[asyncio.subprocess.Process | None] = [None, None]
        self.app = App(make_settings(tmp_path, database_url=database_url))
        self.turn = 0

    def env(self, index: int) -> dict:
        fake = self.fake
        return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.database_url,
                "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": f"{fake.url}/bot",
                "TELEGRAM_BASE_FILE_URL": f"{fake.url}/file/bot", "ZALO_BOT_TOKEN": "",
                "WEBHOOK_URL": f"http://127.0.0.1:{self.ports[0]}", "WEBHOOK_SECRET": SECRET,
                "PORT": str(self.ports[index]), "BROADCAST_RATE": str(RATE), "OUTBOX_CLAIM_LEASE": "3",
                "ADMIN_TELEGRAM_IDS": "1", "LOG_LEVEL": "INFO"}

    async def start(self, index: int) -> int:
        """Start process ``index``; its /healthz status once it answers (200), within 90 s."""
        log = (self.tmp_path / f"bot{index}.log").open("ab")
        self.processes[index] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.tmp_path, env=self.env(index),
            stdout=log, stderr=log)
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    status = (await http.get(f"{self.url(index)}/healthz")).status_code
                    if status == 200:
                        return status
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, self.log(index)
                await asyncio.sleep(0.2)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def log(self, index: int) -> str:
        return (self.tmp_path / f"bot{index}.log").read_text(errors="replace")[-3000:]

    async def stop(self, index: int, sig=signal.SIGTERM) -> int | None:
        """Stop process ``index`` with ``sig``; its exit status (None if it was not running)."""
        process = self.processes[index]
        status = None
        if process is not None and process.returncode is None:
            process.send_signal(sig)
            status = await asyncio.wait_for(process.wait(), timeout=30)
        self.processes[index] = None
        return status

    async def post(self, update_id: int, index: int | None = None) -> int:
        """Post an update to process ``index`` (alternating when None); answered once handled."""
        if index is None:
            index, self.turn = self.turn, 1 - self.turn
        async with httpx.AsyncClient(timeout=60) as http:  # Telegram waits up to a minute too
            response = await http.post(f"{self.url(index)}/telegram", json=self.fake.updates_log[update_id],
                                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        return response.status_code

    async def say(self, user: int, text: str, index: int | None = None):
        mark = self.fake.mark()
        status = await self.post(self.fake.user_sends_text(user, text, first_name="Lan"), index)
        assert status == 200
        return self.fake.messages_to(user, since=mark)

    async def press(self, user: int, data: str, index: int | None = None):
        mark = self.fake.mark()
        status = await self.post(self.fake.user_presses(user, data), index)
        assert status == 200
        return self.fake.messages_to(user, since=mark)


@asynccontextmanager
async def cluster(tmp_path):
    import asyncpg

    if not URL:
        pytest.fail("CI must run the PostgreSQL tests: TEST_POSTGRES_URL is not set")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(URL.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        async with FakeTelegram(auto_deliver_webhook=False) as fake:
            group = Cluster(fake, URL.rsplit("/", 1)[0] + f"/{name}", tmp_path)
            try:
                started = await asyncio.gather(group.start(0), group.start(1))  # both migrate at once
                assert started == [200, 200]
                yield group
            finally:
                await asyncio.gather(group.stop(0), group.stop(1))
                await group.app.aclose()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def answered(replies: list) -> list:
    """The replies of one step: at least one, none of them the apology."""
    assert replies and not [m.text for m in replies if APOLOGY in (m.text or "")], [m.text for m in replies]
    return replies


def data_of(fake, messages) -> list[str]:
    return [d for m in messages for row in fake.buttons(m) for _, d in row]


async def test_two_processes_share_users_dialogs_reports_summaries_and_media(tmp_path):
    async with cluster(tmp_path) as c:
        fake = c.fake
        assert fake.webhook["url"] == f"{c.url(0)}/telegram"  # set once, by the leader
        assert len([call for call in fake.sent if call.method == "setWebhook"]) == 1

        # Each process loads the knowledge base once, before the rush, and answers the same.
        warm = [[m.text or "" for m in await c.say(1999, "lam sao nop phi online", index)] for index in (0, 1)]
        assert all(texts and texts[0].strip() for texts in warm), warm
        assert not [t for texts in warm for t in texts if APOLOGY in t], warm
        assert warm[0][0] == warm[1][0] and "thanh toán" in warm[0][0].lower(), warm

        # 10 new users whose first two messages arrive at both processes at once.
        started = await asyncio.gather(*(c.say(2000 + n, "/start", i) for n in range(10) for i in (0, 1)))
        assert len(started) == 20 and all(started), "every /start got an answer"
        for n in range(10):
            greetings = [m.text for m in fake.messages_to(2000 + n)]
            assert len(greetings) == 2 and all(t.startswith("Xin chào") for t in greetings), greetings
        async with c.app.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(User)
                                        .where(User.platform_user_id.like("20%"))) == 10

        # 10 users each sending 6 messages at once, spread over both processes: no button lost.
        questions = ["/menu", "lam sao nop phi online", "/help", "cap lai mat khau vneid", "/language",
                     "dang ky khai sinh online"]
        results = await asyncio.gather(*(c.say(2000 + n, q, i % 2) for n in range(10)
                                         for i, q in enumerate(questions)))
        assert len(results) == 60 and all(results), "every message got its answer"
        assert not [m.text for replies in results for m in replies if APOLOGY in (m.text or "")]
        async with c.app.sessions() as session:
            for n in range(10):
                shown = await session.scalar(select(DialogState.shown).join(User, User.id == DialogState.user_id)
                                             .where(User.platform_user_id == str(2000 + n)))
                sent = set(data_of(fake, fake.messages_to(2000 + n)))
                assert sent and not sent - set(shown), f"user {2000 + n} lost {sent - set(shown)}"

        # A report wizard, each message on the other process; then "Gửi" tapped twice at once.
        async with c.app.sessions() as session:
            from db.models import AdminUnit, UnitLevel

            commune = await session.scalar(select(AdminUnit.code).where(AdminUnit.level == UnitLevel.xa)
                                           .order_by(AdminUnit.code).limit(1))
        assert commune, "the seeded administrative units include a commune"
        [invite] = answered(await c.say(1, f"/invite team {commune}"))
        assert "/join " in invite.text, invite.text  # the official is given a code to hand over
        [joined] = answered(await c.say(2, f"/join {invite.text.split('/join ')[1].split()[0]}"))
        assert "Tổ công nghệ số" in joined.text
        assert "rp:new" in data_of(fake, answered(await c.say(2, "thon 3")))  # the team's menu
        assert "rp:k:d" in data_of(fake, answered(await c.press(2, "rp:new")))
        categories = [d for d in data_of(fake, answered(await c.press(2, "rp:k:d"))) if d.startswith("rp:c:")]
        assert categories
        assert "rp:pl:ok" in data_of(fake, answered(await c.press(2, categories[0])))
        [ask_description] = answered(await c.press(2, "rp:pl:ok"))
        assert "Bước 4/6" in ask_description.text
        described = answered(await c.say(2, "Bà con không nhận được mã OTP khi kích hoạt VNeID mức 2"))
        assert "rp:ph" in data_of(fake, described)
        [ask_people] = answered(await c.press(2, "rp:ph"))
        assert "Bước 6/6" in ask_people.text
        summary = answered(await c.say(2, "7"))
        assert "rp:send" in data_of(fake, summary)
        mark = fake.mark()
        taps = [fake.user_presses(2, "rp:send"), fake.user_presses(2, "rp:send")]
        statuses = await asyncio.gather(c.post(taps[0], 0), c.post(taps[1], 1))
        assert statuses == [200, 200]
        answers = [m.text for m in fake.messages_to(2, since=mark)]
        assert not [t for t in answers if APOLOGY in t] and sum("BC-000001" in t for t in answers) == 1
        async with c.app.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Report)) == 1

        # The daily summary triggered in both processes (`broadcast daily` twice at once, while
        # the bot runs): one summary per official, sent by the running bot.
        from content.campaign import latest_ended, load_campaigns
        from content.progress_import import FigureRow, ParsedFile
        from db.progress import import_figures
        from tests.test_broadcast import communes, officials

        ids = await officials(c.app, "telegram", [(str(3000 + n), None) for n in range(5)])
        # figures of the campaign in view (plan 195, ended): the summary comes with its chart
        ended = latest_ended(date.today(), load_campaigns())
        rows = [FigureRow(i + 1, u.code, u.name, {m.id: (300 + 37 * i, 1000) for m in ended.metrics})
                for i, u in enumerate(await communes(c.app))]
        async with c.app.sessions() as session:
            imported = await import_figures(session, ended, ended.end, ParsedFile(rows=rows), None, "seed", b"x")
            assert imported.ok
        env = {**c.env(1), "PORT": str(free_port())}
        runs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "broadcast", "daily", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
        outputs = await asyncio.gather(*(run.communicate() for run in runs))
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert all("Bot đang chạy" in out.decode() for out, _err in outputs)  # enqueue only
        delivered = [await fake.wait_messages(3000 + n, 1, timeout=20) for n in range(5)]
        # each official's one message is the summary (a chart's caption or the text alone)
        assert all(m.text.startswith("📊") for [m] in delivered), [[m.text for m in d] for d in delivered]
        await asyncio.sleep(1.5)  # a second copy, if any, would arrive now
        assert [len(fake.messages_to(3000 + n)) for n in range(5)] == [1] * 5
        async with c.app.sessions() as session:
            from db.outbox import OutboxBlob, OutboxMessage

            assert await session.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.user_id.in_(ids))) == 5
            # the chart is drawn and stored once by the two runs, and sent to each of the five
            photos = [call for call in fake.sent if call.method == "sendPhoto"
                      and str(call.params.get("chat_id")) in {str(3000 + n) for n in range(5)}]
            assert len(photos) == 5, [call.method for call in fake.sent[-10:]]
            assert await session.scalar(select(func.count()).select_from(OutboxBlob)) == 1

        # A chart link stored by one process is served by the other.
        from bot.media import MediaStore

        name = await MediaStore(c.app.sessions).put(b"\x89PNG\r\n\x1a\n" + b"1" * 50, "image/png", "png")
        async with httpx.AsyncClient() as http:
            for index in (0, 1):
                served = await http.get(f"{c.url(index)}/media/{name}")
                assert served.status_code == 200 and served.content.startswith(b"\x89PNG")


async def test_a_broadcast_survives_the_sender_being_killed_and_keeps_the_rate(tmp_path):
    from handlers.messages import Reply
    from handlers.notify import enqueue

    async with cluster(tmp_path) as c:
        fake = c.fake
        async with c.app.sessions() as session:
            users = [User(platform="telegram", platform_user_id=str(5000 + n), chat_id=str(5000 + n),
                          role=Role.citizen) for n in range(400)]
            session.add_all(users)
            await session.flush()
            for user in users:
                await enqueue(session, user.id, Reply(f"tin {user.platform_user_id}"), kind="test")
            await session.commit()
        # The leader (the first process up) sends; kill it mid-broadcast, then start it again.
        deadline = time.monotonic() + 60  # a busy machine
        while len(fake.calls("sendMessage")) < 100:
            assert time.monotonic() < deadline, (c.log(0), c.log(1))
            await asyncio.sleep(0.05)
        leading = [index for index in (0, 1) if "runs the background work" in c.log(index)]
        assert len(leading) == 1, (c.log(0), c.log(1))  # one sender for the deployment
        [leader] = leading
        stopped = await c.stop(leader, signal.SIGKILL)
        assert stopped == -signal.SIGKILL  # killed, not ended cleanly
        before_kill = len(fake.calls("sendMessage"))
        assert 0 < before_kill < 400  # killed mid-broadcast
        restarted = await c.start(leader)
        assert restarted == 200  # back up, /healthz answers
        deadline = time.monotonic() + 90
        while len({call.chat_id for call in fake.calls("sendMessage")
                   if str(call.chat_id).startswith("5")}) < 400:
            assert time.monotonic() < deadline, (c.log(0), c.log(1))
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        sends = [call for call in fake.calls("sendMessage") if str(call.chat_id).startswith("5")]
        copies = Counter(str(call.chat_id) for call in sends)
        assert len(copies) == 400  # every message delivered
        assert sum(n - 1 for n in copies.values()) <= 1  # twice only in the crash window: at most one
        times = sorted(call.time for call in sends)
        busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
        assert busiest <= RATE + 1  # one budget for the deployment (+1: the window's edges)
