"""Help requests: a citizen asks the community digital technology team of their village for help.

The parts:
  dialog      the citizen's short form (commune, village, what to do, when, contact), saved step by step
  news        messages to members, officials and the citizen; all through the outbox
  team        /yeucau, taking a request ("Tôi nhận"), closing it as done or not possible
  talk        messages both ways through the bot, the citizen's rating, withdrawing
  escalation  requests nobody took in HELP_ESCALATE_HOURS go to the commune's officials
  export      the sheets of the officials' Excel export; summary: the daily summary's line

Button data (≤ 64 bytes), all under ``hr``:
  hr:new                       start the form (the guidance offers this button too); hr:list = /yeucau
  hr:u:CODE hr:v:CODE|0 hr:k:TOPIC hr:w:WHEN hr:c:bot|phone hr:send hr:again hr:x   the form
  hr:t:ID (take) hr:o:ID (open) hr:m:ID (message the citizen) hr:d:ID (done) hr:n:ID (not possible)
  hr:r:ID (citizen writes to the helper) hr:s:ID:STARS (rate) hr:sk (no comment)
  hr:nd:ID (not done yet) hr:wd:ID (withdraw)
The router accepts only data it showed to that user; each action still checks who may do it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import help_requests as repo
from db.models import Role, User
from handlers.extensions import add_export_sheets, add_summary_extra
from handlers.help import dialog, talk, team
from handlers.help.common import refused, request_in
from handlers.help.escalation import escalate_due, escalation_loop
from handlers.help.export import help_sheets
from handlers.help.summary import helped_yesterday
from handlers.i18n import N_
from handlers.registry import Context, Registry

__all__ = ["register", "escalation_loop", "escalate_due", "forget_user_data"]


async def forget_user_data(session: AsyncSession, user: User) -> None:
    """/xoadulieu: drop the user's link to help requests and every phone number they gave.

    Their open requests are withdrawn; whoever was helping is told, as when they withdraw one.
    """
    for request in await repo.open_requests_of(session, user.id):
        if request.taker_id:
            await talk.tell_withdrawn(session, request)
    await repo.forget_user(session, user.id)


async def on_button(ctx: Context):
    """Every ``hr:…`` button."""
    parts = ctx.incoming.button.split(":")
    action = parts[1] if len(parts) > 1 else "new"
    arg = parts[2] if len(parts) > 2 else ""
    if action == "new":
        return await dialog.start(ctx)
    if action in ("u", "v", "k", "w", "c", "send", "again", "x"):
        return await dialog.on_button(ctx, action, arg)
    if action == "sk":
        return await talk.skip_comment(ctx)
    if action == "list":
        return await team.requests_command(ctx) if ctx.user.role.at_least(Role.team) else refused()
    request = await request_in(ctx, arg)
    if action in ("t", "o", "d", "n") and not ctx.user.role.at_least(Role.team):
        return refused()
    if action == "t":
        return await team.take(ctx, request)
    if action == "o":
        if request is None or not await repo.may_take(ctx.session, ctx.user, request):
            return refused()
        return await team.view(ctx, request)
    if action == "d":
        return await team.mark_done(ctx, request)
    if action == "n":
        return await team.ask_reason(ctx, request)
    if action in ("m", "r"):
        return await talk.ask_message(ctx, request)
    if action == "s":
        return await talk.rate(ctx, request, parts[3] if len(parts) > 3 else "")
    if action == "nd":
        return await talk.not_done(ctx, request)
    if action == "wd":
        return await talk.withdraw(ctx, request)
    return refused()


def register(registry: Registry) -> None:

    @registry.command("gethelp", "hotro", description=N_("Ask the community digital technology team for help"))
    async def ask_for_help(ctx: Context):
        return await dialog.start(ctx, show_open=True)

    @registry.command("helprequests", "yeucau", min_role=Role.team,
                      description=N_("Help requests from people in your commune"))
    async def list_requests(ctx: Context):
        return await team.requests_command(ctx)

    registry.button("hr")(on_button)
    registry.on_forget(forget_user_data)  # /xoadulieu erases phone numbers and the link to requests
    add_summary_extra("help_requests", helped_yesterday)  # a line in the officials' daily summary
    add_export_sheets("help_requests", help_sheets)  # two sheets in the officials' Excel export
    registry.dialog(dialog.DIALOG)(dialog.on_text)
    registry.dialog(talk.TEXT_DIALOG)(talk.on_text)
    registry.add_menu_item(N_("🙋 Ask the digital team for help"), "hr:new", order=15)
    registry.add_menu_item(N_("🙋 Help requests"), "hr:list", min_role=Role.team, order=23)
