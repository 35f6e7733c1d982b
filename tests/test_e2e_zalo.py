"""End to end: the real bot over real HTTP against the fake Zalo Bot API on 127.0.0.1 (long polling)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.models import ProcessedUpdate, User
from handlers.messages import Reply
from tests.e2e_zalo import running_zalo_bot

USER = "e4ea2cd5189df1c3a88c"  # Zalo ids are opaque hex strings


async def test_start_gives_a_numbered_menu_and_a_typed_number_chooses(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        fake.user_sends_text(USER, "/start", display_name="Lan")
        [greeting] = await fake.wait_messages(USER, 1)
        assert greeting.method == "sendMessage"
        assert greeting.text.startswith("Xin chào Lan!")
        assert "<b>" not in greeting.text and "reply_markup" not in greeting.params
        assert "1. 📚 Hướng dẫn" in greeting.text
        assert "2. 🙋 Nhờ tổ công nghệ số giúp" in greeting.text
        assert "3. ❓ Trợ giúp" in greeting.text
        assert greeting.text.rstrip().endswith("(Trả lời bằng một số: 1, 2, 3, 4)")

        mark = fake.mark()
        fake.user_sends_text(USER, "3", display_name="Lan")
        [help_message] = await fake.wait_messages(USER, 1, since=mark)
        assert help_message.text.startswith("Cách dùng trợ lý")
        assert "/start – Bắt đầu và mở menu chính" in help_message.text

        async with app.sessions() as session:
            user = await session.scalar(select(User).where(User.platform == "zalo",
                                                           User.platform_user_id == USER))
        assert user is not None and user.display_name == "Lan" and user.chat_id == USER


async def test_a_question_without_diacritics_is_answered(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        fake.user_sends_text(USER, "lam sao nop phi online")
        [answer] = await fake.wait_messages(USER, 1)
        assert answer.text.startswith("Nộp phí, lệ phí trực tuyến")
        assert "👍 Hữu ích" in answer.text and "(Trả lời bằng một số:" in answer.text


async def test_a_long_reply_is_split_on_paragraphs_under_2000_characters(tmp_path):
    paragraphs = [f"Đoạn {i}: " + "thủ tục hành chính trực tuyến " * 12 for i in range(20)]
    async with running_zalo_bot(tmp_path) as (fake, app):
        @app.router.registry.command("long")
        async def long(ctx):
            return Reply("\n\n".join(paragraphs))

        fake.user_sends_text(USER, "/long")
        await fake.wait_for(lambda c: c.method == "sendMessage" and "Đoạn 19" in (c.text or ""))
        messages = fake.messages_to(USER)
        assert len(messages) >= 3
        assert all(len(m.text) <= 2000 for m in messages)
        assert "\n\n".join(m.text for m in messages) == "\n\n".join(paragraphs)
        assert not fake.calls(ok=False)


async def test_a_sticker_and_an_unsupported_message_get_a_friendly_answer(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        fake.user_sends_sticker(USER)
        [thanks] = await fake.wait_messages(USER, 1)
        assert thanks.text.startswith("Cảm ơn bạn! 😊")
        assert "/menu" in thanks.text

        mark = fake.mark()
        fake.user_sends_unsupported(USER)
        [sorry] = await fake.wait_messages(USER, 1, since=mark)
        assert "chưa đọc được" in sorry.text


async def test_a_duplicated_event_is_handled_once(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        event = fake.user_sends_text(USER, "/start")
        await fake.wait_messages(USER, 1)
        fake.send_duplicate(event)
        fake.inject_event(fake.make_text_event(USER, "/menu"))  # something after it, to wait on
        await fake.wait_for(lambda c: c.method == "sendMessage" and (c.text or "").startswith("Menu chính"))
        await asyncio.sleep(0.1)
        assert len(fake.messages_to(USER)) == 2
        async with app.sessions() as session:
            keys = set(await session.scalars(select(ProcessedUpdate.key)))
        assert f"zalo:{event['message']['message_id']}" in keys


async def test_a_duplicate_is_refused_by_the_database_too_after_a_restart(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        event = fake.user_sends_text(USER, "/start")
        await fake.wait_messages(USER, 1)
    # A new process forgets the in-memory ids; the router's ProcessedUpdate table remembers.
    async with running_zalo_bot(tmp_path) as (fake, app):
        fake.send_duplicate(event)
        fake.user_sends_text(USER, "/menu")
        await fake.wait_for(lambda c: c.method == "sendMessage")
        await asyncio.sleep(0.1)
        [menu] = fake.messages_to(USER)
        assert menu.text.startswith("Menu chính")


async def test_an_image_message_is_downloaded_as_a_photo_attachment(tmp_path):
    jpeg = b"\xff\xd8\xff\xe0" + b"x" * 5000
    received = []
    async with running_zalo_bot(tmp_path) as (fake, app):
        async def on_photo(ctx):
            received.append((ctx.incoming.text, ctx.incoming.attachments))
            return Reply("Đã nhận ảnh.")

        app.router.registry.attachment_handlers.insert(0, on_photo)
        url = fake.serve_file("hoso.jpg", jpeg)
        fake.user_sends_image(USER, url, caption="ảnh lỗi")
        [ack] = await fake.wait_messages(USER, 1)
        assert ack.text == "Đã nhận ảnh."
        [(caption, [attachment])] = received
        assert caption == "ảnh lỗi"
        assert attachment.kind == "photo" and attachment.data == jpeg
        assert attachment.mime_type == "image/jpeg" and attachment.filename.endswith(".jpg")


async def test_a_photo_over_10_mb_is_refused_kindly(tmp_path):
    async with running_zalo_bot(tmp_path) as (fake, app):
        received = []

        async def on_photo(ctx):
            received.append(ctx.incoming)

        app.router.registry.attachment_handlers.insert(0, on_photo)
        url = fake.serve_file("big.jpg", b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024 + 10))
        fake.user_sends_image(USER, url)
        [refusal] = await fake.wait_messages(USER, 1)
        assert "quá lớn" in refusal.text
        assert received == []
