"""Invite codes: /invite creates one, /join or the /start deep link redeems it, then the village."""

from __future__ import annotations

from db import invites
from db.invites import JoinResult, looks_like_code
from db.models import AdminUnit, Role, UnitLevel
from db.units import find_units
from handlers.i18n import N_, _
from handlers.messages import Reply, esc
from handlers.registry import Context, Registry

ROLE_WORDS = {"team": Role.team, "to": Role.team, "tocns": Role.team, "thanhvien": Role.team,
              "official": Role.official, "canbo": Role.official, "cb": Role.official}


def role_label(role: Role) -> str:
    return _("community digital technology team member") if role is Role.team else _("official")


def invite_usage() -> Reply:
    return Reply(_("Write /invite team followed by the commune (code or name), or /invite official "
                   "followed by the unit (code or name).\nExample: /invite team Cẩm Xuyên"))


async def invite(ctx: Context) -> Reply:
    parts = ctx.incoming.args.split(None, 1)
    if len(parts) < 2 or parts[0].lower().replace("_", "") not in ROLE_WORDS:
        return invite_usage()
    role = ROLE_WORDS[parts[0].lower().replace("_", "")]
    level = UnitLevel.xa if role is Role.team else None
    units = [u for u in await find_units(ctx.session, parts[1], level) if u.level is not UnitLevel.thon]
    if not units:
        return Reply(_("I could not find the unit \"{text}\". Check the name or use its code.")
                     .format(text=esc(parts[1])))
    if len(units) > 1:
        names = "\n".join(f"• {esc(u.name)} – {u.code}" for u in units[:10])
        return Reply(_("Several units match. Please use the code:\n{names}").format(names=names))
    unit = units[0]
    if not await invites.may_invite(ctx.session, ctx.user, role, unit):
        return Reply(_("You may only invite people to your own unit or the units below it."))
    code = await invites.create_invite(ctx.session, role, unit.code, created_by=ctx.user.id)
    return Reply(_("Invite code for a {role} of {unit}:\n\n<code>{code}</code>\n\n"
                   "Send it to the person. They send the bot: /join {code}\n"
                   "The code works once and expires in {days} days.")
                 .format(role=role_label(role), unit=esc(unit.name), code=code, days=invites.DEFAULT_DAYS))


async def join_with_code(ctx: Context, code: str) -> Reply:
    """Redeem ``code`` for the speaker; a new team member is then asked for their village."""
    joined = await invites.redeem(ctx.session, ctx.user, code, salt=ctx.services.settings.user_hash_salt)
    if joined.result is JoinResult.blocked:
        return Reply(_("Too many wrong codes. Please try again in an hour."))
    if joined.result is JoinResult.busy:
        return Reply(_("Too many wrong invite codes have been tried in the last few minutes, so joining "
                       "is paused for safety. Please try again in {minutes} minutes.")
                     .format(minutes=int(invites.GLOBAL_WINDOW.total_seconds() // 60)))
    if joined.result is JoinResult.expired:
        return Reply(_("This invite code has expired. Ask for a new one."))
    if joined.result is JoinResult.used_up:
        return Reply(_("This invite code has already been used. Ask for a new one."))
    if joined.result is JoinResult.wrong:
        return Reply(_("This invite code is not right. Check it and try again."))
    unit_name = esc(joined.unit.name if joined.unit else "")
    if joined.role is Role.team:
        ctx.start_dialog("join", "village")
        ctx.state.options = []
        return Reply(_("Welcome! You are now a community digital technology team member of {unit}.\n\n"
                       "Which village (thôn) or residential group (tổ dân phố) is your team in? "
                       "Type its name, for example: Thôn 3").format(unit=unit_name))
    return Reply(_("Welcome! You are now an official of {unit}. You will be told about new reports.")
                 .format(unit=unit_name), buttons=ctx.main_menu())


async def name_village(ctx: Context) -> Reply:
    text = ctx.incoming.text.strip()
    if not text or ctx.incoming.attachments or not ctx.user.unit_code:
        ctx.state.options = []
        return Reply(_("Please type the name of your village, for example: Thôn 3"))
    if len(text) > 100:
        return Reply(_("That name is too long. Please type only the village name, for example: Thôn 3"))
    village = await invites.find_or_create_village(ctx.session, ctx.user.unit_code, text)
    if village is None:
        return Reply(_("Please type the name of your village, for example: Thôn 3"))
    ctx.user.village_code = village.code
    ctx.end_dialog()
    commune = await ctx.session.get(AdminUnit, ctx.user.unit_code)
    return Reply(_("Thank you. Your team: {village}, {commune}.\n"
                   "Press \"📝 Report a difficulty\" whenever you meet a problem helping people.")
                 .format(village=esc(village.name), commune=esc(commune.name if commune else "")),
                 buttons=ctx.main_menu())


__all__ = ["join_with_code", "looks_like_code", "register"]


def register(registry: Registry) -> None:
    @registry.command("invite", "moi", min_role=Role.official,
                    description=N_("Create an invite code for a team member or an official"))
    async def invite_command(ctx: Context):
        return await invite(ctx)

    @registry.command("join", "thamgia", description=N_("Join with an invite code"))
    async def join_command(ctx: Context):
        code = ctx.incoming.args.strip()
        if not code:
            return Reply(_("Write /join followed by your invite code, for example: /join ABCD2345EF"))
        return await join_with_code(ctx, code)

    @registry.dialog("join")
    async def join_dialog(ctx: Context):
        return await name_village(ctx)

