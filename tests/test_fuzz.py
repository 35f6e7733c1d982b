"""Issue 12, "Tests and measures": the soak's fuzz (bench/soak.py), short, in every test run.

A few hundred mixed webhook calls (valid, garbage, oversized, hostile files, malformed Zalo
events) with faults from the fake servers, through the real bot in webhook mode: never a 500,
no unhandled task exception, and the bot still answers afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random

import httpx

from tests.fuzz import Traffic
from tests.test_webserver import SECRET, TELEGRAM_USER, ZALO_USER, web_server

CALLS = 400


async def test_mixed_hostile_traffic_never_breaks_the_bot(tmp_path):
    loop = asyncio.get_running_loop()
    unhandled = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context.get("message")))
    rng = random.Random(12)
    statuses: collections.Counter = collections.Counter()
    try:
        async with web_server(tmp_path) as (telegram, zalo, app, base):
            traffic = Traffic(rng, telegram, zalo, users=30)
            async with httpx.AsyncClient(timeout=60) as http:
                async def send(count: int) -> None:
                    for _ in range(count):
                        _kind, channel, body = traffic.next()
                        header = ("X-Telegram-Bot-Api-Secret-Token" if channel == "telegram"
                                  else "X-Bot-Api-Secret-Token")
                        content = body if isinstance(body, bytes) else json.dumps(body).encode()
                        response = await http.post(f"{base}/{channel}", content=content,
                                                   headers={header: SECRET, "Content-Type": "application/json"})
                        statuses[response.status_code] += 1
                        if rng.random() < 0.05:  # faults from the platforms, on fuzzed users' chats
                            telegram.fail_next("sendMessage", chat_id=700_000 + rng.randrange(30),
                                               error_code=rng.choice([429, 500, 403]), times=2)

                await asyncio.gather(*(send(CALLS // 4) for _ in range(4)))
            mark = telegram.mark()
            telegram.user_sends_text(TELEGRAM_USER, "/menu")
            await telegram.wait_messages(TELEGRAM_USER, 1, timeout=20, since=mark)
            zalo.user_sends_text(ZALO_USER, "/menu")
            await zalo.wait_messages(ZALO_USER, 1, timeout=20)
            async with httpx.AsyncClient() as http:
                health = (await http.get(f"{base}/healthz")).json()
    finally:
        loop.set_exception_handler(previous)
    assert sum(statuses.values()) == CALLS
    assert set(statuses) <= {200, 400, 413}, statuses  # never a 500
    assert not unhandled, unhandled
    assert health["telegram"] and health["zalo"] and health["database"], health
    assert sum(traffic.counts.values()) == CALLS and len(traffic.counts) >= 6
