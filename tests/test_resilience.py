"""Issue 12 points 4, 5, 7 and 12: presses, malformed events, refused tokens, no network, /healthz."""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx

import handlers.progress.daily as daily
from bot.app import App
from bot.channels.zalo import ZaloChannel, ZaloClient
from bot.server import run_channels
from tests.conftest import make_settings
from tests.e2e import running_bot, start_bot_process
from tests.e2e_zalo import free_port, running_zalo_bot
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.test_webserver import SECRET, TELEGRAM_USER, ZALO_USER, web_server

USER = 5151


async def test_a_press_whose_answer_fails_is_still_handled(tmp_path, caplog):
    """Point 4: "query is too old" (presses queued while the bot was down) loses nothing."""
    async with running_bot(tmp_path) as (fake, app):
        fake.user_sends_text(USER, "/menu")
        [menu] = await fake.wait_messages(USER, 1, timeout=10)
        data = fake.buttons(menu)[0][0][1]
        fake.fail_next("answerCallbackQuery", error_code=400, description="Bad Request: query is too old "
                       "and response timeout expired or query ID is invalid")
        mark = fake.mark()
        fake.user_presses(USER, data)
        [answer] = await fake.wait_messages(USER, 1, timeout=10, since=mark)
    assert "trục trặc" not in (answer.text or "")  # the press was handled, no apology
    assert fake.calls("answerCallbackQuery", ok=False)


async def test_malformed_zalo_events_do_not_stop_polling_and_healthz_tells(tmp_path, caplog):
    """Point 5: one bad event is ignored with one line; polling goes on; /healthz is true."""
    port = free_port()
    async with running_zalo_bot(tmp_path, public_base_url=f"http://127.0.0.1:{port}", port=port) as (zalo, app):
        good = zalo.make_text_event(ZALO_USER, "/menu")
        for bad in ({"event_name": "message.text.received", "message": "not a dict"}, [1, 2], 5, "x",
                    {"event_name": "message.text.received",
                     "message": {**good["message"], "from": "x", "message_id": "m-bad"}},
                    {"event_name": "message.text.received",
                     "message": {**good["message"], "chat": [1], "message_id": "m-bad2"}}):
            zalo.inject_event(bad)
        zalo.inject_event(good)
        [menu] = await zalo.wait_messages(ZALO_USER, 1, timeout=10)
        assert menu.text.startswith("Menu chính")
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/healthz")
        health = response.json()
        assert response.status_code == 200 and health["zalo"] is True
        assert health["parts"]["zalo"]["last_success"] is not None
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("bot")]


async def test_a_dead_zalo_poller_makes_the_channel_not_running(app):
    async with FakeZalo() as zalo:
        channel = ZaloChannel(app, ZaloClient(zalo.token, zalo.url), poll_timeout=0.2)
        await channel.start()
        assert channel.running
        channel._poller.cancel()
        await asyncio.sleep(0.05)
        assert not channel.running
        await channel.stop()


async def test_healthz_fails_when_a_background_loop_dies(tmp_path, monkeypatch):
    """Point 5: each loop's last success is reported, and a loop that ended makes /healthz fail."""
    async def broken_daily_job(app, stop):
        raise RuntimeError("boom")

    monkeypatch.setattr(daily, "run_daily_job", broken_daily_job)
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        async with httpx.AsyncClient() as http:
            for _ in range(50):
                response = await http.get(f"{base}/healthz")
                if "daily-summary" in response.json()["parts"] and response.status_code == 503:
                    break
                await asyncio.sleep(0.1)
        health = response.json()
        assert response.status_code == 503 and health["ok"] is False
        assert health["parts"]["daily-summary"] == {"ok": False, "problem": "stopped: RuntimeError",
                                                    "last_success": None}
        assert health["parts"]["outbox-sender"]["ok"] and health["parts"]["outbox-sender"]["last_success"]
        assert health["telegram"] and health["zalo"] and health["database"]


async def test_webhook_json_that_is_no_update_gets_400_or_200_and_one_line(tmp_path, caplog):
    """Point 12: never a 500, never a traceback; the bot goes on answering."""
    garbage = [{}, [], [1, 2], 5, "text", None, True, {"update_id": "x"}, {"update_id": 1, "message": "m"},
               {"update_id": 7, "poll": {"id": "1", "question": "?", "options": [], "total_voter_count": 0,
                                          "is_closed": False, "is_anonymous": True, "type": "regular",
                                          "allows_multiple_answers": False}},
               {"update_id": 8, "message": {"message_id": 1, "date": 0, "chat": "x"}},
               {"update_id": 9, "callback_query": {"id": 1, "from": 5, "chat_instance": "c"}}]
    zalo_garbage = [{}, [], 5, "x", {"event_name": "message.text.received", "message": "not a dict"},
                    {"ok": True, "result": {"event_name": "message.text.received",
                                            "message": {"from": "x", "chat": {"id": "c"}, "text": "hi"}}},
                    {"event_name": "message.text.received",
                     "message": {"from": {"id": ["u"]}, "chat": {"id": {"a": 1}}, "text": 5,
                                 "message_id": {"x": 1}}}]
    with caplog.at_level(logging.WARNING):
        async with web_server(tmp_path) as (telegram, zalo, app, base):
            async with httpx.AsyncClient() as http:
                for body in garbage:
                    response = await http.post(f"{base}/telegram", json=body,
                                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                    assert response.status_code in (200, 400), (body, response.status_code)
                for body in zalo_garbage:
                    response = await http.post(f"{base}/zalo", json=body, headers={"X-Bot-Api-Secret-Token": SECRET})
                    assert response.status_code in (200, 400), (body, response.status_code)
                response = await http.post(f"{base}/telegram", content=b"\xff{not json",
                                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert response.status_code == 400
            telegram.user_sends_text(TELEGRAM_USER, "/menu")  # still answering
            await telegram.wait_messages(TELEGRAM_USER, 1, timeout=10)
            zalo.user_sends_text(ZALO_USER, "/menu")
            await zalo.wait_messages(ZALO_USER, 1, timeout=10)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


async def test_a_refused_telegram_token_stops_the_bot_with_status_1(tmp_path, caplog):
    """Point 7: a 401 at start, or later while polling, ends the process with a clear line."""
    async with FakeTelegram() as fake:
        app = App(make_settings(tmp_path, telegram_bot_token="999:WRONG-token-xyz",
                                telegram_base_url=f"{fake.url}/bot", telegram_base_file_url=f"{fake.url}/file/bot"))
        await app.prepare()
        with caplog.at_level(logging.CRITICAL):
            assert await asyncio.wait_for(run_channels(app, asyncio.Event()), timeout=20) == 1
        await app.aclose()
    assert any("refused TELEGRAM_BOT_TOKEN" in r.getMessage() for r in caplog.records)

    caplog.clear()
    async with FakeTelegram() as fake:
        app = App(make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/two.db",
                                telegram_bot_token=fake.token, telegram_base_url=f"{fake.url}/bot",
                                telegram_base_file_url=f"{fake.url}/file/bot"))
        await app.prepare()
        task = asyncio.create_task(run_channels(app, asyncio.Event()))
        await fake.wait_for(lambda call: call.method == "deleteWebhook", timeout=10)
        await asyncio.sleep(0.5)  # polling
        fake.fail_next("getUpdates", error_code=401, times=100)  # the token was revoked meanwhile
        assert await asyncio.wait_for(task, timeout=30) == 1
        await app.aclose()
    assert any("refused TELEGRAM_BOT_TOKEN" in r.getMessage() for r in caplog.records)


async def test_python_m_bot_run_exits_non_zero_on_a_refused_token(tmp_path):
    async with FakeTelegram() as fake:
        process = await start_bot_process(tmp_path, fake, TELEGRAM_BOT_TOKEN="999:WRONG-token-xyz")
        try:
            _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
    assert process.returncode == 1
    assert "CRITICAL" in err.decode() and "refused TELEGRAM_BOT_TOKEN" in err.decode()
    assert "WRONG-token-xyz" not in err.decode()


async def test_no_network_at_start_is_retried_until_telegram_answers(tmp_path, caplog):
    """Point 7: the platform unreachable at start: try again with a growing pause, then work."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    fake = FakeTelegram(port=port)
    app = App(make_settings(tmp_path, telegram_bot_token=fake.token, telegram_base_url=f"{url}/bot",
                            telegram_base_file_url=f"{url}/file/bot"))
    await app.prepare()
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING):
        task = asyncio.create_task(run_channels(app, stop))
        await asyncio.sleep(2.0)  # nothing listens yet
        assert not task.done()
        async with fake:
            await fake.wait_for(lambda call: call.method == "deleteWebhook", timeout=20)
            fake.user_sends_text(USER, "/start")
            await fake.wait_messages(USER, 1, timeout=10)
            stop.set()
            assert await asyncio.wait_for(task, timeout=10) == 0
    await app.aclose()
    assert any("cannot be reached" in r.getMessage() for r in caplog.records)
