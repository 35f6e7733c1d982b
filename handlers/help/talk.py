"""Talking through the bot and the citizen's follow-up: messages both ways, rating, withdrawing.

Neither side sees the other's account: a message is relayed as text with a "reply" button, under
the sender's name and the request's number. The typed answers (a message, the reason a request
is not possible, a rating comment) are one dialog, ``hrtext``, whose step says which.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import help_requests as repo
from db.help_requests import HelpEvent, HelpRequest, HelpStatus
from db.models import Role, User
from handlers.help.common import helper_name, no_buttons, refused
from handlers.help.news import tell
from handlers.help.team import mark_not_possible, view
from handlers.i18n import _
from handlers.messages import Button, Reply, esc
from handlers.registry import Context

TEXT_DIALOG = "hrtext"
MSG, REASON, COMMENT = "msg", "reason", "comment"
MAX_COMMENT = 500


def _is_taker(ctx: Context, request: HelpRequest) -> bool:
    """The member who took the request, still a team member (a revoked role ends the talk)."""
    return (request.taker_id == ctx.user.id and request.status_enum is HelpStatus.taken
            and ctx.role.at_least(Role.team))


def _is_citizen(ctx: Context, request: HelpRequest) -> bool:
    return request.citizen_id == ctx.user.id


async def ask_message(ctx: Context, request: HelpRequest | None) -> Reply:
    """The taker (hr:m) or the citizen (hr:r) is about to write to the other side."""
    if request is None or not (_is_taker(ctx, request) or
                               (_is_citizen(ctx, request) and request.status_enum is HelpStatus.taken)):
        return Reply(_("This help request is no longer being handled, so no message can be sent."),
                     buttons=ctx.main_menu())
    ctx.start_dialog(TEXT_DIALOG, MSG, {"rid": request.id})
    no_buttons(ctx)
    whom = _("the person you help") if _is_taker(ctx, request) else _("your helper")
    return Reply(_("Type your message to {whom} about {number}. They will not see your account. "
                   "(/cancel to stop)").format(whom=whom, number=request.number))


async def relay(ctx: Context, request: HelpRequest, text: str) -> Reply:
    """Pass a message to the other side, with a button to answer."""
    if _is_taker(ctx, request):
        name, to, answer = helper_name(ctx.user), request.citizen_id, f"hr:r:{request.id}"

        def make() -> Reply:
            return Reply(_("💬 Message from {name}, who is helping you with <b>{number}</b>:\n{text}").format(
                name=esc(name), number=request.number, text=esc(text)),
                buttons=[[Button(_("↩️ Reply"), answer)]])
    elif _is_citizen(ctx, request) and request.status_enum is HelpStatus.taken:
        name, to, answer = ctx.user.display_name, request.taker_id, f"hr:m:{request.id}"

        def make() -> Reply:
            who = esc(name) if name else _("the person you help")
            return Reply(_("💬 Message from {name} about <b>{number}</b>:\n{text}").format(
                name=who, number=request.number, text=esc(text)),
                buttons=[[Button(_("↩️ Reply"), answer)]])
    else:
        return Reply(_("This help request is no longer being handled, so no message can be sent."),
                     buttons=ctx.main_menu())
    await repo.add_event(ctx.session, request, ctx.user, "message")
    stamp = await _count(ctx, request, "message")
    if not await tell(ctx.session, to, make, "help_message", f"msg:{request.id}:{stamp}"):
        return Reply(_("Sorry, the message could not be delivered: the other person no longer uses the bot."))
    return Reply(_("Message sent."))


async def _count(ctx: Context, request: HelpRequest, action: str) -> int:
    """How many ``action`` events the request has: a fresh dedupe key for each new message."""
    return await ctx.session.scalar(select(func.count(HelpEvent.id)).where(
        HelpEvent.request_id == request.id, HelpEvent.action == action)) or 0


async def on_text(ctx: Context) -> Reply:
    """The typed answer of the ``hrtext`` dialog: a message, a reason, or a rating comment."""
    step, rid = ctx.state.step, (ctx.state.data or {}).get("rid")
    request = await repo.get_request(ctx.session, int(rid)) if rid else None
    text = ctx.incoming.text.strip()
    if request is None:
        ctx.end_dialog()
        return refused()
    if not text or len(text) > repo.MAX_MESSAGE:
        no_buttons(ctx)
        return Reply(_("Please type a message of at most {max} characters, or /cancel.").format(max=repo.MAX_MESSAGE))
    ctx.end_dialog()
    if step == MSG:
        return await relay(ctx, request, text)
    if step == REASON:
        if not _is_taker(ctx, request):
            return await view(ctx, request)
        return await mark_not_possible(ctx, request, text)
    if step == COMMENT and _is_citizen(ctx, request):
        request.rating_comment = text[:MAX_COMMENT]
        await repo.add_event(ctx.session, request, ctx.user, "comment")
        return Reply(_("Thank you for your comment!"), buttons=ctx.main_menu())
    return Reply(_("Done."), buttons=ctx.main_menu())


async def rate(ctx: Context, request: HelpRequest | None, arg: str) -> Reply:
    """hr:s:<id>:<stars>: the citizen rates the help, then may add a comment."""
    if request is None or not arg.isdigit() or not await repo.rate(ctx.session, request, ctx.user, int(arg)):
        return Reply(_("This request has already been rated, or cannot be rated."), buttons=ctx.main_menu())
    taker = await ctx.session.get(User, request.taker_id) if request.taker_id else None
    if taker is not None:
        await tell(ctx.session, taker.id, lambda: Reply(
            _("⭐ The person you helped rated {number}: {stars}/5.").format(number=request.number,
                                                                         stars=request.rating)),
            "help_news", f"rated:{request.id}")
    ctx.start_dialog(TEXT_DIALOG, COMMENT, {"rid": request.id})
    return Reply(_("Thank you for your rating! If you like, type a short comment for the team, or press "
                   "the button."), buttons=[[Button(_("⏭ No comment"), "hr:sk")]])


async def skip_comment(ctx: Context) -> Reply:
    if ctx.state.dialog == TEXT_DIALOG:
        ctx.end_dialog()
    return Reply(_("Thank you!"), buttons=ctx.main_menu())


async def not_done(ctx: Context, request: HelpRequest | None) -> Reply:
    """hr:nd:<id>: the citizen says it is not done yet: it goes back to the same helper."""
    if request is None or not await repo.not_done_yet(ctx.session, request, ctx.user):
        return Reply(_("This request can no longer be reopened. You can ask again with /hotro."),
                     buttons=ctx.main_menu())
    await tell(ctx.session, request.taker_id, lambda: Reply(
        _("🔁 The person you helped says {number} is not done yet. Please contact them again.").format(
            number=request.number), buttons=[[Button(_("Open {number}").format(number=request.number),
                                                     f"hr:o:{request.id}")]]),
        "help_news", f"nd:{request.id}:{await _count(ctx, request, 'not_done')}")
    return Reply(_("Your helper has been told that {number} is not done yet.").format(number=request.number),
                 buttons=[[Button(_("💬 Write to your helper"), f"hr:r:{request.id}")]])


async def tell_withdrawn(session: AsyncSession, request: HelpRequest) -> None:
    await tell(session, request.taker_id, lambda: Reply(
        _("ℹ️ The person withdrew {number}; no need to help with it any more. Thank you!").format(
            number=request.number)), "help_news", f"wd:{request.id}")


async def withdraw(ctx: Context, request: HelpRequest | None) -> Reply:
    """hr:wd:<id>: the citizen withdraws a request; its taker is told."""
    if request is None or not await repo.cancel(ctx.session, request, ctx.user):
        return Reply(_("This request is already closed."), buttons=ctx.main_menu())
    if request.taker_id:
        await tell_withdrawn(ctx.session, request)
    return Reply(_("{number} has been withdrawn.").format(number=request.number), buttons=ctx.main_menu())
