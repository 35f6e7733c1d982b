"""The one web server: Telegram and Zalo webhooks, /healthz and media links, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import httpx

from bot.app import App
from bot.server import run_channels
from handlers.messages import Reply
from tests.conftest import make_settings
from tests.e2e_zalo import free_port, running_zalo_bot
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo

SECRET = "webhook-secret_0123456789"
ZALO_USER = "a1b2c3d4e5f6a7b8c9d0"
TELEGRAM_USER = 4242
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100


@asynccontextmanager
async def web_server(tmp_path, **extra):
    """Both fakes and the bot in webhook mode; yields (telegram fake, zalo fake, app, base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeTelegram() as telegram, FakeZalo(allow_http_webhook=True) as zalo:
        settings = dict(telegram_bot_token=telegram.token, telegram_base_url=f"{telegram.url}/bot",
                        telegram_base_file_url=f"{telegram.url}/file/bot",
                        zalo_bot_token=zalo.token, zalo_base_url=zalo.url,
                        webhook_url=base, webhook_secret=SECRET, port=port)
        settings.update(extra)
        app = App(make_settings(tmp_path, **settings))
        await app.prepare()
        stop = asyncio.Event()
        task = asyncio.create_task(run_channels(app, stop))
        try:
            await telegram.wait_for(lambda c: c.method == "setWebhook", timeout=10)
            await zalo.wait_for(lambda c: c.method == "setWebhook" and c.ok, timeout=10)
            yield telegram, zalo, app, base
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            await app.aclose()


async def test_both_webhooks_are_set_with_the_secret(tmp_path):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        assert zalo.webhook["url"] == f"{base}/zalo" and zalo.webhook["secret_token"] == SECRET
        assert telegram.webhook["url"] == f"{base}/telegram"
        assert not zalo.calls("deleteWebhook")  # webhook mode: no polling


async def test_zalo_events_with_the_right_secret_are_answered_wrapped_or_bare(tmp_path, caplog):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        # Delivered by the fake itself, wrapped in {ok, result} like the official sample.
        zalo.user_sends_text(ZALO_USER, "/start", display_name="Lan")
        [greeting] = await zalo.wait_messages(ZALO_USER, 1)
        assert greeting.text.startswith("Xin chào Lan!") and "1. 📚 Hướng dẫn" in greeting.text
        for _ in range(100):  # answered once the event was handled (after the reply went out)
            if zalo.webhook_deliveries:
                break
            await asyncio.sleep(0.01)
        assert zalo.webhook_deliveries[-1][1] == 200

        mark = zalo.mark()
        assert await zalo.post_to_webhook(zalo.make_text_event(ZALO_USER, "3"), wrapped=False) == 200
        [chosen] = await zalo.wait_messages(ZALO_USER, 1, since=mark)
        assert chosen.text.startswith("Cách dùng trợ lý")

        mark = zalo.mark()
        with caplog.at_level(logging.WARNING):
            for wrapped in (True, False):
                status = await zalo.post_to_webhook(zalo.make_text_event(ZALO_USER, "/menu"),
                                                    secret="wrong-secret", wrapped=wrapped)
                assert status == 403
            assert await zalo.post_to_webhook(zalo.make_text_event(ZALO_USER, "/menu"), secret="") == 403
        await asyncio.sleep(0.2)
        assert zalo.messages_to(ZALO_USER, since=mark) == []
        assert "Zalo webhook call with a wrong secret" in caplog.text
        assert "wrong-secret" not in caplog.text and SECRET not in caplog.text

        async with httpx.AsyncClient() as http:
            bad = await http.post(f"{base}/zalo", content=b"not json",
                                  headers={"X-Bot-Api-Secret-Token": SECRET})
        assert bad.status_code == 400


async def test_a_zalo_event_delivered_twice_by_webhook_is_answered_once(tmp_path):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        event = zalo.make_text_event(ZALO_USER, "/start")
        assert await zalo.post_to_webhook(event) == 200
        assert await zalo.post_to_webhook(event) == 200
        await zalo.wait_messages(ZALO_USER, 1)
        await asyncio.sleep(0.2)
        assert len(zalo.messages_to(ZALO_USER)) == 1


async def test_telegram_updates_with_the_right_secret_are_answered_and_wrong_ones_refused(tmp_path):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        update_id = telegram.user_sends_text(TELEGRAM_USER, "/start", first_name="Lan")
        [greeting] = await telegram.wait_messages(TELEGRAM_USER, 1)
        assert greeting.text.startswith("Xin chào Lan!")

        mark = telegram.mark()
        update = dict(telegram.updates_log[update_id], update_id=update_id + 100)
        assert await telegram.post_update_to_webhook(update, url=f"{base}/telegram", secret="wrong") == 403
        await asyncio.sleep(0.2)
        assert telegram.messages_to(TELEGRAM_USER, since=mark) == []


async def test_healthz_reports_the_database_and_both_channels(tmp_path):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{base}/healthz")
        assert response.status_code == 200
        health = response.json()
        assert {k: health[k] for k in ("ok", "database", "telegram", "zalo")} == {
            "ok": True, "database": True, "telegram": True, "zalo": True}
        assert health["parts"]["telegram"]["ok"] and health["parts"]["telegram"]["last_success"]


async def test_a_chart_for_zalo_is_served_from_an_unguessable_link(tmp_path):
    async with web_server(tmp_path) as (telegram, zalo, app, base):
        @app.router.registry.command("chart")
        async def chart(ctx):
            return Reply("Biểu đồ tiến độ", photo=PNG)

        zalo.user_sends_text(ZALO_USER, "/chart")
        [photo] = await zalo.wait_messages(ZALO_USER, 1)
        assert photo.method == "sendPhoto" and photo.params["caption"] == "Biểu đồ tiến độ"
        url = photo.params["photo"]
        assert url.startswith(f"{base}/media/") and url.endswith(".png")
        async with httpx.AsyncClient() as http:
            served = await http.get(url)
            assert served.status_code == 200
            assert served.content == PNG and served.headers["content-type"] == "image/png"
            assert (await http.get(f"{base}/media/unknown.png")).status_code == 404
            guessed = url[:-8] + "AAAA.png"
            assert (await http.get(guessed)).status_code == 404


async def test_polling_with_a_public_base_url_serves_media_but_takes_no_webhooks(tmp_path):
    port = free_port()
    async with running_zalo_bot(tmp_path, public_base_url=f"http://127.0.0.1:{port}", port=port) as (zalo, app):

        @app.router.registry.command("chart")
        async def chart(ctx):
            return Reply("Biểu đồ", photo=PNG)

        zalo.user_sends_text(ZALO_USER, "/chart")
        [photo] = await zalo.wait_messages(ZALO_USER, 1)
        async with httpx.AsyncClient() as http:
            assert (await http.get(photo.params["photo"])).content == PNG
            refused = await http.post(f"http://127.0.0.1:{port}/zalo", json={},
                                      headers={"X-Bot-Api-Secret-Token": "x" * 10})
            assert refused.status_code in (404, 405)
            health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
        assert {k: v for k, v in health.items() if k != "parts"} == {"ok": True, "database": True, "zalo": True}
        assert health["parts"]["zalo"]["last_success"] and health["parts"]["outbox-sender"]["ok"]


async def test_a_webhook_call_is_answered_only_after_the_message_was_handled(tmp_path):
    """Issue 12.14: a 200 means the update's transaction committed (and the replies went out),
    so a process killed mid-handling leaves the update to the platform's redelivery."""
    from sqlalchemy import select

    from db.models import ProcessedUpdate

    async with web_server(tmp_path) as (telegram, zalo, app, base):
        @app.router.registry.command("slow")
        async def slow(ctx):
            await asyncio.sleep(0.3)
            return Reply("xong")

        update_id = telegram.user_sends_text(TELEGRAM_USER, "/slow")
        for _ in range(100):
            if any(uid == update_id for uid, _ in telegram.webhook_deliveries):
                break
            await asyncio.sleep(0.01)
        assert (update_id, 200) in telegram.webhook_deliveries
        assert [m.text for m in telegram.messages_to(TELEGRAM_USER)] == ["xong"]  # already handled

        event = zalo.make_text_event(ZALO_USER, "/slow")
        assert await zalo.post_to_webhook(event) == 200
        assert [m.text for m in zalo.messages_to(ZALO_USER)] == ["xong"]
        async with app.sessions() as session:
            keys = set((await session.scalars(select(ProcessedUpdate.key))).all())
        assert f"telegram:{update_id}" in keys and f"zalo:{event['message']['message_id']}" in keys


async def test_webhook_set_points_every_channel_at_the_one_url(tmp_path, capsys):
    """`python -m bot webhook set`: what the leader does at start, by hand."""
    import argparse

    from bot.cli.run import cmd_webhook_set

    async with FakeTelegram() as telegram, FakeZalo(allow_http_webhook=True) as zalo:
        app = App(make_settings(tmp_path, telegram_bot_token=telegram.token,
                                telegram_base_url=f"{telegram.url}/bot",
                                telegram_base_file_url=f"{telegram.url}/file/bot",
                                zalo_bot_token=zalo.token, zalo_base_url=zalo.url,
                                webhook_url="https://bot.example.vn/", webhook_secret=SECRET))
        try:
            assert await cmd_webhook_set(argparse.Namespace(), app) == 0
        finally:
            await app.aclose()
        assert telegram.webhook["url"] == "https://bot.example.vn/telegram"
        assert telegram.webhook["secret_token"] == SECRET
        assert zalo.webhook["url"] == "https://bot.example.vn/zalo" and zalo.webhook["secret_token"] == SECRET
        assert "telegram: https://bot.example.vn/telegram" in capsys.readouterr().out

        unset = App(make_settings(tmp_path, telegram_bot_token=telegram.token, webhook_url=""))
        try:
            assert await cmd_webhook_set(argparse.Namespace(), unset) == 2  # nothing to point at
        finally:
            await unset.aclose()
