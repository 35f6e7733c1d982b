"""Tests for the fake Telegram and Zalo Bot API servers (tests/fake_telegram.py, tests/fake_zalo.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

try:  # tests/ is a package (tests/__init__.py)
    from tests.fake_telegram import FakeTelegram, TelegramHTMLError, check_telegram_html
    from tests.fake_zalo import FakeZalo
except ImportError:  # run from inside tests/ without the package on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fake_telegram import FakeTelegram, TelegramHTMLError, check_telegram_html  # noqa: E402
    from fake_zalo import FakeZalo  # noqa: E402

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter  # noqa: E402
from telegram.ext import (  # noqa: E402
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

pytestmark = pytest.mark.asyncio


# --------------------------------------------------------------------------- Telegram


def _build_app(fake: FakeTelegram, results: dict):
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE):
        await update.effective_message.reply_text(
            f"echo: {update.effective_message.text}",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("A", callback_data="pick:a"),
                  InlineKeyboardButton("B", callback_data="pick:b")]]
            ),
        )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE):
        await update.effective_message.reply_text("<b>Xin chào</b>", parse_mode=ParseMode.HTML)

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE):
        f = await update.effective_message.photo[-1].get_file()
        results["photo"] = bytes(await f.download_as_bytearray())
        await update.effective_message.reply_text("got photo")

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE):
        doc = update.effective_message.document
        f = await doc.get_file()
        results["document"] = (doc.file_name, bytes(await f.download_as_bytearray()))
        await update.effective_message.reply_document(b"reply-bytes", filename="out.txt")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE):
        q = update.callback_query
        await q.answer("ok")
        await q.edit_message_text(f"picked {q.data}")

    async def on_error(update, context: ContextTypes.DEFAULT_TYPE):
        results.setdefault("errors", []).append(context.error)

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(CallbackQueryHandler(button))
    app.add_error_handler(on_error)
    return app


@contextlib.asynccontextmanager
async def running_bot():
    results: dict = {}
    async with FakeTelegram() as fake:
        app = _build_app(fake, results)
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield fake, app, results
            finally:
                await app.updater.stop()
                await app.stop()


async def test_echo_and_button_press():
    async with running_bot() as (fake, app, results):
        assert app.bot.username == "hatinh_test_bot"
        fake.user_sends_text(42, "xin chào")
        (msg,) = await fake.wait_messages(42, 1)
        assert msg.text == "echo: xin chào"
        assert fake.buttons(msg) == [[("A", "pick:a"), ("B", "pick:b")]]

        fake.user_presses(42, "pick:b")
        ans = await fake.wait_for(lambda c: c.method == "answerCallbackQuery")
        assert ans.ok and ans.params["text"] == "ok"
        edit = await fake.wait_for(lambda c: c.method == "editMessageText")
        assert edit.ok and edit.text == "picked pick:b"
        assert edit.params["message_id"] == msg.result["message_id"]

        fake.user_sends_text(42, "/start")
        start = await fake.wait_for(lambda c: c.method == "sendMessage" and c.text.startswith("<b>"))
        assert start.ok and start.params["parse_mode"] == "HTML"
        assert "errors" not in results


async def test_photo_and_document_roundtrip():
    async with running_bot() as (fake, app, results):
        data = b"\xff\xd8\xff\xe0fake-jpeg-bytes" * 10
        fake.user_sends_photo(7, data, caption="ảnh")
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.text == "got photo")
        assert results["photo"] == data
        assert any(c.method == "getFile" for c in fake.sent)

        fake.user_sends_document(7, b"a,b\n1,2\n", "data.csv", "text/csv")
        reply = await fake.wait_for(lambda c: c.method == "sendDocument")
        assert results["document"] == ("data.csv", b"a,b\n1,2\n")
        assert reply.ok and reply.files["document"] == b"reply-bytes"
        assert reply.filenames["document"] == "out.txt"
        assert reply.result["document"]["file_name"] == "out.txt"


async def test_faults_and_validation_raise_ptb_errors():
    async with running_bot() as (fake, app, results):
        bot = app.bot
        fake.fail_next("sendMessage", error_code=403)
        with pytest.raises(Forbidden, match="(?i)blocked"):
            await bot.send_message(5, "hi")
        fake.fail_next("sendMessage", chat_id=5)
        await bot.send_message(6, "other chat is not affected")
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "hi")

        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(5, "<b>unclosed", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(5, "line<br>break", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(5, "1 < 2", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(5, "Hết hạn 1.5", parse_mode=ParseMode.MARKDOWN_V2)
        await bot.send_message(5, "Hết hạn 1\\.5 *đậm*", parse_mode=ParseMode.MARKDOWN_V2)
        await bot.send_message(
            5, '<b>a</b> <a href="https://x.vn">l</a> &lt;3 <span class="tg-spoiler">s</span>',
            parse_mode=ParseMode.HTML,
        )
        with pytest.raises(BadRequest, match="(?i)too long"):
            await bot.send_message(5, "x" * 4097)
        await bot.send_message(5, "x" * 4096)
        with pytest.raises(BadRequest, match="(?i)empty"):
            await bot.send_message(5, "   ")
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(
                5, "k", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", callback_data="é" * 33)]]))
        sent = await bot.send_message(5, "same")
        with pytest.raises(BadRequest, match="(?i)not modified"):
            await sent.edit_text("same")

        # 403 "blocked" persists after user_blocks_bot
        fake.user_blocks_bot(9)
        with pytest.raises(Forbidden):
            await bot.send_message(9, "hi")
        failed = [c for c in fake.sent if not c.ok]
        assert all(c.error_code in (400, 403, 429) for c in failed)


async def test_html_checker_unit():
    assert check_telegram_html("<b>x</b> &amp; <i>y</i>") == "x & y"
    assert check_telegram_html("<pre><code class=\"language-py\">a</code></pre>") == "a"
    for bad in ["<b>x", "<b>x</i>", "<div>x</div>", "a &nbsp; b", "x</b>", "<p>x</p>"]:
        with pytest.raises(TelegramHTMLError):
            check_telegram_html(bad)


async def test_legacy_markdown_raw_callback_and_rate_limiter_retry():
    from telegram.ext import AIORateLimiter

    async with FakeTelegram() as fake:
        app = fake.app_builder().rate_limiter(AIORateLimiter(max_retries=1)).build()
        async with app:
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await app.bot.send_message(3, "user_name", parse_mode=ParseMode.MARKDOWN)
            await app.bot.send_message(3, "*ok* user\\_name", parse_mode=ParseMode.MARKDOWN)

            # a raw callback_query update registers its id, so answering it works
            fake.inject_raw_update({"callback_query": {
                "id": "raw-1", "from": {"id": 3, "is_bot": False, "first_name": "T"},
                "chat_instance": "x", "data": "d"}})
            (upd,) = await app.bot.get_updates(timeout=0)
            assert await upd.callback_query.answer() is True
            with pytest.raises(BadRequest, match="(?i)query is too old"):
                await upd.callback_query.answer()

            # AIORateLimiter waits retry_after and retries
            fake.fail_next("sendMessage", retry_after=1)
            t0 = time.monotonic()
            await app.bot.send_message(3, "after retry")
            assert time.monotonic() - t0 >= 1.0
            assert [c.ok for c in fake.messages_to(3, include_failed=True)][-2:] == [False, True]


async def test_getupdates_semantics_over_raw_http():
    async with FakeTelegram() as fake, httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}") as http:
        r = await httpx.AsyncClient().post(f"{fake.url}/bot999:WRONG/getMe")
        assert r.status_code == 401 and r.json()["description"] == "Unauthorized"

        # empty long poll returns [] after timeout
        t0 = time.monotonic()
        r = await http.post("/getUpdates", json={"timeout": 1})
        assert r.json() == {"ok": True, "result": []}
        assert 0.9 <= time.monotonic() - t0 < 2

        # wakes immediately on injection
        async def later():
            await asyncio.sleep(0.2)
            fake.user_sends_text(1, "a")

        t0 = time.monotonic()
        task = asyncio.create_task(later())
        r = await http.post("/getUpdates", data={"timeout": "5"})
        await task
        assert time.monotonic() - t0 < 1.5
        (u1,) = r.json()["result"]
        assert u1["message"]["text"] == "a" and u1["message"]["chat"]["id"] == 1

        # not confirmed yet -> delivered again; limit honoured
        for i in range(5):
            fake.user_sends_text(1, f"m{i}")
        r = await http.post("/getUpdates", json={"limit": 3})
        ids = [u["update_id"] for u in r.json()["result"]]
        assert ids == [u1["update_id"], u1["update_id"] + 1, u1["update_id"] + 2]
        r = await http.post("/getUpdates", json={"offset": ids[-1] + 1})
        rest = r.json()["result"]
        assert [u["message"]["text"] for u in rest] == ["m2", "m3", "m4"]
        r = await http.post("/getUpdates", json={"offset": rest[-1]["update_id"] + 1})
        assert r.json()["result"] == []

        # duplicate delivery (same update_id twice)
        uid = fake.user_sends_text(1, "dup")
        fake.redeliver(uid)
        r = await http.post("/getUpdates", json={"offset": rest[-1]["update_id"] + 1})
        assert [u["update_id"] for u in r.json()["result"]] == [uid, uid]
        r = await http.post("/getUpdates", json={"offset": uid + 1})
        assert r.json()["result"] == []
        fake.redeliver(uid)  # even after confirmation
        r = await http.post("/getUpdates", json={"offset": uid + 1})
        assert [u["update_id"] for u in r.json()["result"]] == [uid]

        # commands per language
        cmds = [{"command": "start", "description": "Bắt đầu"}]
        r = await http.post("/setMyCommands", data={"commands": json.dumps(cmds), "language_code": "vi"})
        assert r.json()["result"] is True
        assert fake.get_commands("vi") == cmds and fake.get_commands() == []
        r = await http.post("/getMyCommands", json={"language_code": "vi"})
        assert r.json()["result"] == cmds

        # webhook blocks getUpdates
        r = await http.post("/setWebhook", json={"url": "https://example.org/hook", "secret_token": "s3cret"})
        assert r.json()["result"] is True
        r = await http.post("/getUpdates")
        assert r.status_code == 409
        r = await http.post("/getWebhookInfo")
        assert r.json()["result"]["url"] == "https://example.org/hook"
        await http.post("/deleteWebhook")
        r = await http.post("/someFutureMethod", json={"x": 1})
        assert r.json() == {"ok": True, "result": True}
        assert fake.calls("someFutureMethod")[0].params == {"x": 1}


async def test_overlapping_getupdates_conflict():
    async with FakeTelegram() as fake, httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}") as http:
        first = asyncio.create_task(http.post("/getUpdates", json={"timeout": 3}))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(http.post("/getUpdates", json={"timeout": 0}))
        r1, r2 = await asyncio.gather(first, second)
        assert r1.status_code == 409 and "terminated by other getUpdates" in r1.json()["description"]
        assert r2.status_code == 200


async def test_rate_limit_429():
    async with FakeTelegram() as fake:
        fake.rate_limit(5)
        async with httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}") as http:
            codes = []
            for i in range(8):
                r = await http.post("/sendMessage", json={"chat_id": i, "text": "x"})
                codes.append(r.status_code)
            assert codes.count(200) == 5 and codes.count(429) == 3
            r = await http.post("/sendMessage", json={"chat_id": 1, "text": "x"})
            assert r.json()["parameters"]["retry_after"] == 1
            await asyncio.sleep(1.05)
            r = await http.post("/sendMessage", json={"chat_id": 1, "text": "x"})
            assert r.status_code == 200


async def test_telegram_webhook_delivery_with_ptb():
    """Webhook mode: the fake POSTs updates to a small aiohttp receiver (as our custom webhook
    server would be) that checks the secret header and feeds PTB's update_queue.
    (PTB's own start_webhook needs the [webhooks] extra / tornado, which is not installed.)"""
    results: dict = {}
    async with FakeTelegram() as fake:
        app = _build_app(fake, results)

        async def receive(request: web.Request):
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "right_secret":
                return web.Response(status=403)
            await app.update_queue.put(Update.de_json(await request.json(), app.bot))
            return web.Response(status=200)

        hook_app = web.Application()
        hook_app.router.add_post("/tg", receive)
        runner = web.AppRunner(hook_app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
        try:
            async with app:
                await app.start()
                await app.bot.set_webhook(hook_url, secret_token="right_secret")
                assert fake.webhook["secret_token"] == "right_secret"
                assert (await app.bot.get_webhook_info()).url == hook_url
                with pytest.raises(Conflict):
                    await app.bot.get_updates(timeout=0)
                fake.user_sends_text(77, "qua webhook")
                (m,) = await fake.wait_messages(77, 1)
                assert m.text == "echo: qua webhook"
                assert fake.webhook_deliveries[-1][1] == 200
                upd = fake.updates_log[max(fake.updates_log)]
                assert await fake.post_update_to_webhook(upd, secret="wrong") == 403
                assert await fake.post_update_to_webhook(upd) == 200
                await fake.wait_messages(77, 2)
                await app.bot.delete_webhook()
                await app.stop()
        finally:
            await runner.cleanup()


# --------------------------------------------------------------------------- Zalo


async def test_zalo_polling_and_validation():
    async with FakeZalo() as fake, httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}", timeout=10) as http:
        r = await http.post("/getMe")
        assert r.json()["result"]["account_type"] == "BASIC"
        r = await httpx.AsyncClient().post(f"{fake.url}/botnope/getMe")
        assert r.status_code == 401

        ev = fake.user_sends_text("abc123", "Xin chào", display_name="Lan")
        r = await http.post("/getUpdates", json={"timeout": "1"})
        body = r.json()
        assert r.status_code == 200 and body["ok"] is True
        assert body["result"]["event_name"] == "message.text.received"
        assert body["result"]["message"]["text"] == "Xin chào"
        assert body["result"]["message"]["chat"]["id"] == "abc123"
        assert body["result"] == ev

        t0 = time.monotonic()
        r = await http.post("/getUpdates", json={"timeout": "1"})
        assert r.status_code == 408
        assert r.json() == {"ok": False, "error_code": 408, "description": "Request timeout"}
        assert 0.9 <= time.monotonic() - t0 < 2

        # duplicates: the same message_id twice
        ev = fake.user_sends_text("abc123", "hai lần")
        fake.send_duplicate(ev)
        r1 = (await http.post("/getUpdates", params={"timeout": "1"})).json()["result"]
        r2 = (await http.post("/getUpdates", params={"timeout": "1"})).json()["result"]
        assert r1["message"]["message_id"] == r2["message"]["message_id"]

        r = await http.post("/sendMessage", json={"chat_id": "abc123", "text": "x" * 2001})
        assert r.status_code == 400 and r.json()["ok"] is False
        r = await http.post("/sendMessage", json={"chat_id": "abc123", "text": ""})
        assert r.status_code == 400
        r = await http.post("/sendMessage", json={"chat_id": "abc123", "text": "x" * 2000})
        res = r.json()["result"]
        assert isinstance(res["message_id"], str) and res["date"] > 10**12
        r = await http.post("/sendPhoto", json={"chat_id": "abc123", "photo": "not-a-url"})
        assert r.status_code == 400
        img_url = fake.serve_file("a.png", b"\x89PNG...")
        r = await http.post("/sendPhoto", json={"chat_id": "abc123", "photo": img_url, "caption": "c"})
        assert r.status_code == 200
        assert (await http.get(img_url)).content == b"\x89PNG..."
        r = await http.post("/sendChatAction", json={"chat_id": "abc123", "action": "typing"})
        assert r.json()["ok"] is True
        assert [c.method for c in fake.messages_to("abc123")] == ["sendMessage", "sendPhoto"]

        fake.fail_next("sendMessage")
        r = await http.post("/sendMessage", json={"chat_id": "abc123", "text": "hi"})
        assert r.status_code == 429 and r.json()["description"] == "Quota exceeded"

        # other event kinds
        fake.user_sends_image("u2", img_url, caption="ảnh")
        fake.user_sends_sticker("u2")
        fake.user_sends_unsupported("u2")
        kinds = []
        for _ in range(3):
            kinds.append((await http.post("/getUpdates", json={"timeout": "1"})).json()["result"])
        assert [k["event_name"] for k in kinds] == [
            "message.image.received", "message.sticker.received", "message.unsupported.received"]
        assert kinds[0]["message"]["photo_url"] == img_url

        # waiting poller is woken by an injection
        async def later():
            await asyncio.sleep(0.2)
            fake.user_sends_text("u3", "muộn")
        task = asyncio.create_task(later())
        r = await http.post("/getUpdates", json={"timeout": "5"})
        await task
        assert r.json()["result"]["message"]["text"] == "muộn"


async def test_zalo_webhook():
    received: list = []

    async def hook(request: web.Request):
        if request.headers.get("X-Bot-Api-Secret-Token") != "secret-123456":
            return web.json_response({"ok": False}, status=401)
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo"
    try:
        async with FakeZalo() as fake:
            async with httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}") as http:
                r = await http.post("/setWebhook", json={"url": "http://x.vn/h", "secret_token": "secret-123456"})
                assert r.status_code == 400  # https required
                r = await http.post("/setWebhook", json={"url": "https://x.vn/h", "secret_token": "short"})
                assert r.status_code == 400  # 8..256 chars
                r = await http.post("/setWebhook", json={"url": "https://x.vn/h", "secret_token": "secret-123456"})
                assert r.json()["result"]["url"] == "https://x.vn/h"
                r = await http.post("/getUpdates", json={"timeout": "1"})
                assert r.status_code == 400 and r.json()["ok"] is False
                r = await http.post("/getWebhookInfo")
                assert r.json()["result"]["url"] == "https://x.vn/h"

            ev = fake.make_text_event("u1", "qua webhook")
            assert await fake.post_to_webhook(ev, url=hook_url) == 200
            assert await fake.post_to_webhook(ev, url=hook_url, secret="wrong-secret") == 401
            assert await fake.post_to_webhook(ev, url=hook_url, wrapped=False) == 200
            assert received == [{"ok": True, "result": ev}, ev]

            # auto delivery to an http webhook when allowed
            fake.allow_http_webhook = True
            async with httpx.AsyncClient(base_url=f"{fake.url}/bot{fake.token}") as http:
                r = await http.post("/setWebhook", json={"url": hook_url, "secret_token": "secret-123456"})
                assert r.status_code == 200
            fake.user_sends_text("u9", "tự động")
            for _ in range(50):
                if len(received) == 3:
                    break
                await asyncio.sleep(0.05)
            assert received[-1]["result"]["message"]["text"] == "tự động"
    finally:
        await runner.cleanup()
