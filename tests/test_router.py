"""The router and the first handlers, without any network."""

from __future__ import annotations

from sqlalchemy import select

from db.admin import grant_role
from db.models import DialogState, Role, User
from handlers.messages import Incoming


async def test_start_greets_in_vietnamese_and_registers_the_user(app, talker):
    await talker.say("/start")
    assert "Xin chào Bà Lan" in talker.text
    assert "help" in talker.button_data()
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == "1"))
    assert user is not None and user.role is Role.citizen and user.locale == "vi"
    assert user.display_name == "Bà Lan"


async def test_menu_shows_only_features_for_the_users_role(app, talker):
    await talker.say("/menu")
    labels = talker.button_labels()
    assert "❓ Trợ giúp" in labels
    for item in app.router.registry.menu_items:
        if item.min_role is not Role.citizen:
            assert item.data not in talker.button_data()


async def test_language_switches_to_english_and_back(talker):
    await talker.say("/language")
    assert talker.button_data() == ["lang:vi", "lang:en"]
    await talker.press("lang:en")
    assert talker.text == "Language set to English."
    await talker.say("/start")
    assert talker.text.startswith("Hello Bà Lan")
    await talker.say("/language")
    await talker.press("lang:vi")
    assert talker.text == "Đã chuyển sang tiếng Việt."


async def test_a_typed_number_chooses_the_option_in_that_position(talker):
    await talker.say("/language")
    await talker.say("2")
    assert talker.text == "Language set to English."


async def test_a_number_out_of_range_is_not_taken_as_an_option(talker):
    await talker.say("/language")
    await talker.say("7")
    assert "Language set" not in talker.text


async def test_a_forged_button_is_refused(talker):
    await talker.say("/start")
    await talker.press("lang:en")  # never shown: /start shows no language buttons
    assert "không còn hiệu lực" in talker.text
    await talker.say("/start")
    assert talker.text.startswith("Xin chào")  # the language did not change


async def test_a_button_for_a_higher_role_is_refused_even_if_shown(app, talker):
    called = []

    @app.router.registry.button("secret", min_role=Role.official)
    async def secret(ctx):
        called.append(ctx.user.id)

    await talker.say("/start")
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == "1"))
        state = await session.get(DialogState, user.id)
        state.shown = [*state.shown, "secret:1"]
        await session.commit()
    await talker.press("secret:1")
    assert called == []
    assert "chỉ dành cho" in talker.text


async def test_unknown_command_gets_a_helpful_answer(talker):
    await talker.say("/xyz")
    assert "/xyz" in talker.text and "/help" in talker.text


async def test_unknown_command_text_is_escaped(talker):
    await talker.say("/a<b>")
    assert "<b>" not in talker.text


async def test_cancel_leaves_a_dialog(app, talker):
    await talker.say("/start")
    async with app.sessions() as session:
        user = await session.scalar(select(User).where(User.platform_user_id == "1"))
        state = await session.get(DialogState, user.id)
        state.dialog, state.step = "nowhere", "x"
        await session.commit()
    await talker.say("/cancel")
    assert "Đã huỷ" in talker.text
    async with app.sessions() as session:
        state = await session.get(DialogState, user.id)
        assert state.dialog is None


async def test_help_lists_the_commands(talker):
    await talker.say("/help")
    assert "/start" in talker.text and "/ngonngu" in talker.text and "/huy" in talker.text


async def test_the_same_update_delivered_twice_is_handled_once(app, talker):
    incoming = Incoming.from_text("telegram", "5", "5", "/start", update_id="991")
    first = await talker.send(incoming)
    again = await talker.send(Incoming.from_text("telegram", "5", "5", "/start", update_id="991"))
    assert first and again == []


async def test_admin_ids_from_settings_are_admins_from_the_first_message(tmp_path):
    from bot.app import App
    from tests.conftest import make_settings

    app = App(make_settings(tmp_path, admin_telegram_ids="777"))
    await app.prepare()
    try:
        await app.router.handle(Incoming.from_text("telegram", "777", "777", "/start"))
        async with app.sessions() as session:
            user = await session.scalar(select(User).where(User.platform_user_id == "777"))
        assert user.role is Role.admin
    finally:
        await app.aclose()


async def test_grant_role_refuses_an_unknown_unit(app):
    async with app.sessions() as session:
        try:
            await grant_role(session, "telegram", "9", "official", "no-such-unit")
        except ValueError as exc:
            assert "no-such-unit" in str(exc)
        else:
            raise AssertionError("an unknown unit was accepted")


async def test_units_are_seeded_with_69_communes_and_wards(app):
    from db.models import AdminUnit, UnitLevel

    async with app.sessions() as session:
        communes = (await session.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.xa))).all()
    assert len(communes) == 69
    assert {u.kind for u in communes} == {"xã", "phường"}


async def test_a_unique_violation_from_a_race_is_handled_again_once_and_never_shown(app, talker):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from handlers.messages import Reply

    calls = []

    @app.router.registry.command("race")
    async def race(ctx):
        calls.append(1)
        if len(calls) == 1:  # what a concurrent transaction's commit makes the first attempt hit
            raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed: reports.number"))
        return Reply("ok")

    await talker.say("/race")
    assert talker.text == "ok" and len(calls) == 2

    @app.router.registry.command("broken")
    async def broken(ctx):
        calls.append(1)
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed: reports.number"))

    calls.clear()
    with pytest.raises(IntegrityError):  # a bug, not a race: tried twice, then the channel apologises
        await talker.say("/broken")
    assert len(calls) == 2
