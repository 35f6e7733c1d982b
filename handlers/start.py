"""Greeting, main menu, help, language choice and leaving a dialog."""

from __future__ import annotations

from handlers.i18n import N_, _, current_locale, use_locale
from handlers.messages import Button, Reply
from handlers.registry import Context, Registry


def greeting(ctx: Context) -> Reply:
    name = ctx.user.display_name or _("there")
    from html import escape

    text = _(
        "Hello {name}! I am the online public services assistant of Hà Tĩnh province.\n\n"
        "I can guide you step by step: logging in with VNeID, submitting a dossier on the "
        "National Public Service Portal, paying fees online and getting electronic certified copies.\n\n"
        "Choose from the menu below, or just type your question, with or without accents."
    ).format(name=escape(name, quote=False))
    return Reply(text, buttons=ctx.main_menu())


async def menu(ctx: Context) -> Reply:
    return Reply(_("Main menu: choose what you need."), buttons=ctx.main_menu())


async def help_text(ctx: Context) -> Reply:
    lines = [_("<b>How to use this bot</b>"),
             _("Type your question in your own words, for example: \"quên mật khẩu VNeID\" or "
               "\"nop phi online the nao\". Or choose from the menu."),
             "", _("<b>Commands</b>")]
    # One line a command, under its Vietnamese name when it has one (/baocao, not /report).
    vietnamese = current_locale.get() == "vi"
    lines += [f"/{cmd.names[1] if vietnamese and len(cmd.names) > 1 else cmd.names[0]} – {_(cmd.description)}"
              for cmd in ctx.registry.command_list
              if cmd.listed and cmd.description and ctx.role.at_least(cmd.min_role)]
    lines += ["", _("On Zalo or in the terminal, answer with the number of an option.")]
    return Reply("\n".join(lines), buttons=ctx.main_menu())


def register(registry: Registry) -> None:
    @registry.command("start", description=N_("Start and show the main menu"))
    async def start(ctx: Context):
        from handlers.invites import join_with_code, looks_like_code

        if looks_like_code(ctx.incoming.args):  # the t.me/<bot>?start=<code> deep link
            return await join_with_code(ctx, ctx.incoming.args)
        return greeting(ctx)

    # The menu and the help are both a command and a button of the main menu.
    registry.button("menu")(registry.command("menu", description=N_("Show the main menu"))(menu))
    registry.button("help")(registry.command("help", "trogiup", description=N_("How to use the bot"))(help_text))

    @registry.command("language", "ngonngu", description=N_("Choose the language (Tiếng Việt / English)"))
    async def language(ctx: Context):
        return _language_choice()

    @registry.button("lang")
    async def choose_language(ctx: Context):
        code = ctx.incoming.button.partition(":")[2]
        if code not in ("vi", "en"):
            return _language_choice()
        ctx.user.locale = code
        with use_locale(code):
            return Reply(_("Language set to English.") if code == "en" else _("Language set to Vietnamese."),
                         buttons=ctx.main_menu())

    @registry.command("cancel", "huy", description=N_("Stop what you are doing and go back to the menu"))
    async def cancel(ctx: Context):
        had_dialog = ctx.state.dialog is not None
        ctx.end_dialog()
        text = _("Cancelled. Nothing was sent.") if had_dialog else _("There is nothing to cancel.")
        return Reply(text, buttons=ctx.main_menu())

    registry.add_menu_item(N_("❓ Help"), "help", order=90)
    registry.add_menu_item(N_("🌐 Language / Ngôn ngữ"), "lang:choose", order=95)


def _language_choice() -> Reply:
    return Reply(_("Choose your language / Chọn ngôn ngữ:"),
                 buttons=[[Button("🇻🇳 Tiếng Việt", "lang:vi"), Button("🇬🇧 English", "lang:en")]])
