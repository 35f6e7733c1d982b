"""End to end: the real bot over real HTTP against the fake Telegram Bot API on 127.0.0.1."""

from __future__ import annotations

from sqlalchemy import select

from db.models import User
from tests.e2e import running_bot

USER = 4242


async def test_start_language_and_forged_button_through_telegram(tmp_path):
    async with running_bot(tmp_path) as (fake, app):
        fake.user_sends_text(USER, "/start", first_name="Lan")
        [greeting] = await fake.wait_messages(USER, 1)
        assert greeting.text.startswith("Xin chào Lan!")
        assert greeting.params.get("parse_mode") == "HTML"
        buttons = fake.buttons(greeting)
        assert ("❓ Trợ giúp", "help") in [b for row in buttons for b in row]

        # Pressing a shown button works and the press is answered.
        mark = fake.mark()
        fake.user_presses(USER, "lang:choose", first_name="Lan")
        [choice] = await fake.wait_messages(USER, 1, since=mark)
        assert fake.buttons(choice) == [[("🇻🇳 Tiếng Việt", "lang:vi"), ("🇬🇧 English", "lang:en")]]
        await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)

        mark = fake.mark()
        fake.user_presses(USER, "lang:en", first_name="Lan")
        [switched] = await fake.wait_messages(USER, 1, since=mark)
        assert switched.text == "Language set to English."

        mark = fake.mark()
        fake.user_sends_text(USER, "/start", first_name="Lan")
        [english] = await fake.wait_messages(USER, 1, since=mark)
        assert english.text.startswith("Hello Lan!")

        # A forged press: data this user was never shown.
        mark = fake.mark()
        fake.user_presses(USER, "report:take:999", first_name="Lan")
        [refused] = await fake.wait_messages(USER, 1, since=mark)
        assert "no longer valid" in refused.text

        async with app.sessions() as session:
            user = await session.scalar(select(User).where(User.platform == "telegram",
                                                           User.platform_user_id == str(USER)))
        assert user is not None and user.display_name == "Lan" and user.locale == "en"


async def test_command_list_is_registered_in_vietnamese_and_english(tmp_path):
    async with running_bot(tmp_path) as (fake, app):
        await fake.wait_for(lambda c: c.method == "setMyCommands" and c.params.get("language_code") == "en")
        vi = {c["command"]: c["description"] for c in fake.get_commands()}
        en = {c["command"]: c["description"] for c in fake.get_commands(language_code="en")}
        assert vi["start"] == "Bắt đầu và mở menu chính"
        assert en["start"] == "Start and show the main menu"


async def test_an_error_in_a_handler_is_told_to_the_user_in_vietnamese(tmp_path):
    async with running_bot(tmp_path) as (fake, app):
        @app.router.registry.command("boom")
        async def boom(ctx):
            raise RuntimeError("kaboom")

        fake.user_sends_text(USER, "/boom")
        [message] = await fake.wait_messages(USER, 1)
        assert "trục trặc" in message.text
