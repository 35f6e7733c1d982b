"""The Zalo channel against the fake Zalo Bot API: polling, errors, delivery, media links."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from bot.channels.zalo import QUOTA_BACKOFF, ZaloChannel, ZaloClient, ZaloError, ZaloNetworkError
from bot.media import MediaStore
from bot.outbox import OutboxSender
from db.base import utcnow
from db.models import User
from db.outbox import OutboxMessage, OutboxStatus
from handlers.messages import Button, DeliveryError, Incoming, RateLimited, RecipientGone, Reply
from handlers.notify import enqueue
from tests.e2e_zalo import free_port
from tests.fake_zalo import FakeZalo

USER = "6ede9afa1b5e4ba1f2d3"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def fake():
    async with FakeZalo() as server:
        yield server


@pytest.fixture
async def make_channel(app, fake):
    channels = []

    def make(**kw) -> ZaloChannel:
        channel = ZaloChannel(app, ZaloClient(fake.token, fake.url), **kw)
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.stop()


async def _zalo_user(app, user_id: str = USER) -> User:
    await app.router.handle(Incoming.from_text("zalo", user_id, user_id, "/start", display_name="Hà"))
    async with app.sessions() as session:
        return await session.scalar(select(User).where(User.platform == "zalo", User.platform_user_id == user_id))


async def test_idle_polls_end_with_408_and_cause_no_errors(make_channel, fake, caplog):
    channel = make_channel(poll_timeout=0.2)
    with caplog.at_level(logging.WARNING):
        await channel.start()
        await asyncio.sleep(1.0)  # several long polls end idle with HTTP 408
        fake.user_sends_text(USER, "/menu")
        [menu] = await fake.wait_messages(USER, 1)
    assert menu.text.startswith("Menu chính")
    assert fake.calls("deleteWebhook")  # polling and webhook are exclusive
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_polling_backs_off_after_an_error_and_recovers(make_channel, fake, caplog):
    fake.fail_next("getUpdates", error_code=502, description="Bad Gateway")
    channel = make_channel(poll_timeout=0.2)
    with caplog.at_level(logging.WARNING):
        await channel.start()
        fake.user_sends_text(USER, "/menu")
        await fake.wait_messages(USER, 1)
    assert any("getUpdates failed" in r.getMessage() for r in caplog.records)
    assert fake.token not in caplog.text


async def test_polling_removes_a_webhook_left_behind(make_channel, fake):
    fake.fail_next("deleteWebhook", error_code=500)  # the first removal fails
    fake.webhook = {"url": "https://old.example/zalo", "secret_token": "old-secret", "updated_at": 1}
    fake.auto_deliver_webhook = False  # keep events for getUpdates
    channel = make_channel(poll_timeout=0.2)
    await channel.start()
    fake.user_sends_text(USER, "/menu")
    await fake.wait_messages(USER, 1, timeout=8)
    assert fake.webhook["url"] == ""


async def test_the_token_never_appears_in_errors_or_logs(fake, caplog):
    token = fake.token
    # Nothing listens on this port: a network error.
    client = ZaloClient(token, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ZaloNetworkError) as raised:
        await client.call("getMe")
    await client.aclose()
    assert token not in str(raised.value) and token.split(":")[1] not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__

    # An API that echoes the URL in its error description.
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"ok": False, "error_code": 400,
                                         "description": f"Bad Request: {request.url}"})

    client = ZaloClient(token, "https://bot-api.example", transport=httpx.MockTransport(echo))
    with caplog.at_level(logging.DEBUG), pytest.raises(ZaloError) as raised:
        await client.call("sendMessage", chat_id=USER, text="x")
    await client.aclose()
    assert raised.value.code == 400
    assert token not in str(raised.value) and "<token>" in str(raised.value)
    assert token not in caplog.text


async def test_deliver_maps_zalo_errors_for_the_outbox(make_channel, fake):
    channel = make_channel()
    reply = Reply("Thông báo")
    fake.fail_next("sendMessage", error_code=429)
    with pytest.raises(RateLimited) as limited:
        await channel.deliver(USER, reply)
    assert limited.value.retry_after == QUOTA_BACKOFF > 60  # longer than the outbox's inline wait
    fake.fail_next("sendMessage", error_code=403)
    with pytest.raises(RecipientGone):
        await channel.deliver(USER, reply)
    fake.fail_next("sendMessage", error_code=400, description="Bad Request: user not found")
    with pytest.raises(RecipientGone):
        await channel.deliver(USER, reply)
    fake.fail_next("sendMessage", error_code=400, description="Bad Request")
    with pytest.raises(DeliveryError) as other:
        await channel.deliver(USER, reply)
    assert not isinstance(other.value, (RecipientGone, RateLimited))
    await channel.deliver(USER, reply)
    assert fake.last_message(USER).text == "Thông báo"


async def test_quota_exceeded_keeps_the_message_in_the_outbox_until_a_retry_succeeds(app, make_channel, fake):
    user = await _zalo_user(app)
    async with app.sessions() as session:
        await enqueue(session, user.id, Reply("Báo cáo mới: <b>Thôn 3</b>", buttons=[]), kind="test")
        await session.commit()
    channel = make_channel()
    sender = OutboxSender(app, {"zalo": channel.deliver}, rate=0)
    fake.set_quota(0)
    assert await sender.drain() == 0
    async with app.sessions() as session:
        message = await session.scalar(select(OutboxMessage))
    assert message.status == OutboxStatus.pending.value
    later = (utcnow() + timedelta(seconds=60)).replace(tzinfo=None)
    assert message.next_attempt_at.replace(tzinfo=None) > later
    assert "Quota exceeded" in message.last_error

    fake.set_quota(None)
    async with app.sessions() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        await session.commit()
    assert await sender.drain() == 1
    assert fake.last_message(USER).text == "Báo cáo mới: Thôn 3"


async def test_a_number_typed_after_a_proactive_message_chooses_its_option(app, make_channel, fake):
    await _zalo_user(app)  # their last reply was the main menu
    channel = make_channel()
    await channel.deliver(USER, Reply("Có tin mới cho bạn.", buttons=[[Button("Xem trợ giúp", "help")]]))
    assert fake.last_message(USER).text.endswith("1. Xem trợ giúp\n(Trả lời bằng một số: 1)")
    mark = fake.mark()
    await channel.handle_event(fake.make_text_event(USER, "1"))
    [answer] = fake.messages_to(USER, since=mark)
    assert answer.text.startswith("Cách dùng trợ lý")


async def test_a_reply_that_hits_the_quota_is_handed_to_the_outbox(app, make_channel, fake, caplog):
    from sqlalchemy import select

    from db.outbox import OutboxMessage

    user = await _zalo_user(app)
    channel = make_channel()
    fake.set_quota(0)
    with caplog.at_level(logging.WARNING):
        await channel.handle_event(fake.make_text_event(USER, "/menu"))
    async with app.sessions() as session:
        [kept] = (await session.scalars(select(OutboxMessage))).all()
    assert kept.user_id == user.id and kept.text.startswith("Menu chính") and kept.status == "pending"
    assert "kept in the outbox" in caplog.text


async def test_a_chart_is_sent_by_an_expiring_link_or_as_text_alone(app, make_channel, fake):
    media = MediaStore(app.sessions)
    linked = make_channel(media=media, public_url="https://bot.example.vn/")
    await linked.send_reply(USER, Reply("<b>Tiến độ</b> hôm nay", photo=PNG, locale="vi"))
    [photo] = fake.messages_to(USER)
    assert photo.method == "sendPhoto" and photo.params["caption"] == "Tiến độ hôm nay"
    prefix = "https://bot.example.vn/media/"
    assert photo.params["photo"].startswith(prefix) and photo.params["photo"].endswith(".png")
    name = photo.params["photo"][len(prefix):]
    assert len(name) >= 32 and (await media.get(name)).data == PNG

    unlinked = make_channel(media=MediaStore(app.sessions), public_url="")
    mark = fake.mark()
    await unlinked.send_reply(USER, Reply("Tiến độ", photo=PNG, locale="vi"))
    [text] = fake.messages_to(USER, since=mark)
    assert text.method == "sendMessage"
    assert text.text == "Tiến độ\n\n(Hình ảnh này chỉ xem được trên Telegram.)"


async def test_a_document_is_sent_as_a_link_or_explained(app, make_channel, fake):
    media = MediaStore(app.sessions)
    linked = make_channel(media=media, public_url="https://bot.example.vn")
    await linked.send_reply(USER, Reply("Xuất báo cáo", document=b"PK\x03\x04xlsx", filename="bao-cao.xlsx",
                                        locale="vi"))
    [message] = fake.messages_to(USER)
    assert "Tải tệp bao-cao.xlsx" in message.text and "https://bot.example.vn/media/" in message.text
    name = message.text.split("/media/")[1].split()[0]
    assert (await media.get(name)).filename == "bao-cao.xlsx" and name.endswith(".xlsx")

    mark = fake.mark()
    await make_channel().send_reply(USER, Reply("Xuất báo cáo", document=b"x", filename="bao-cao.xlsx",
                                                locale="vi"))
    [explained] = fake.messages_to(USER, since=mark)
    assert "Không gửi được tệp bao-cao.xlsx qua Zalo" in explained.text


async def test_group_messages_and_the_bots_own_messages_are_ignored(app, make_channel, fake):
    channel = make_channel()
    await channel.handle_event(fake.make_text_event(USER, "/start", chat_id="group1", chat_type="GROUP"))
    bot_event = fake.make_text_event(USER, "/start")
    bot_event["message"]["from"]["is_bot"] = True
    await channel.handle_event(bot_event)
    assert fake.calls("sendMessage") == []


async def test_the_media_store_expires_and_forgets_unknown_names(app):
    """Media live in the database (any process serves any link) and expire; housekeeping deletes them."""
    from bot.jobs import housekeeping

    store = MediaStore(app.sessions, ttl=0.05)
    first = await store.put(PNG, "image/png", "png")
    assert (await store.get(first)).data == PNG and await store.get("nope.png") is None
    assert (await MediaStore(app.sessions).get(first)).data == PNG  # another store, same database
    await asyncio.sleep(0.06)
    assert await store.get(first) is None
    assert await housekeeping(app) == (0, 1)


def test_admin_grant_works_with_a_zalo_string_id(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    assert main(["admin", "grant", f"zalo:{USER}", "official"]) == 0
    assert f"zalo:{USER} → official" in capsys.readouterr().out
    assert main(["admin", "list"]) == 0
    assert f"zalo:{USER}\tofficial" in capsys.readouterr().out


async def test_a_reply_refused_with_403_is_one_log_line_without_traceback(make_channel, fake, caplog):
    channel = make_channel(poll_timeout=0.2)
    await channel.start()
    fake.fail_next("sendMessage", chat_id=USER, error_code=403, description="Forbidden: user blocked the bot")
    with caplog.at_level(logging.WARNING):
        fake.user_sends_text(USER, "/menu")
        await fake.wait_for(lambda call: call.method == "sendMessage" and not call.ok)
        fake.user_sends_text(USER, "/help")  # handled in turn after the refused one: it is done
        [answer] = await fake.wait_messages(USER, 1)
    assert answer.text.startswith("Cách dùng trợ lý")
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", f"Zalo refused a reply to chat {USER}: error 403: Forbidden: user blocked the bot")]
    assert records[0].exc_info is None and "Traceback" not in caplog.text
    assert len(fake.calls("sendMessage", ok=False)) == 1  # no apology Zalo would refuse again
