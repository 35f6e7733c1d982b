"""The team member's side: /yeucau, taking a request ("Tôi nhận"), and closing it.

Officials whose unit holds the commune may do the same (they get the requests of communes
without a team, and those nobody took in time). Every action checks again who may act on the
request, because a button shown earlier may no longer fit.
"""

from __future__ import annotations

from datetime import timedelta

from db import help_requests as repo
from db.base import utcnow
from db.help_requests import HelpRequest, HelpStatus
from db.models import Role
from handlers.help.common import (
    detail_lines,
    helper_name,
    need_of,
    no_buttons,
    place_of,
    rating_buttons,
    refused,
    taker_buttons,
    unit_name,
)
from handlers.help.news import tell
from handlers.i18n import _
from handlers.messages import Button, Reply, esc
from handlers.registry import Context

FIGURE_DAYS = 30  # the officials' figures in /yeucau cover this many days


async def requests_command(ctx: Context) -> Reply:
    """/yeucau: open requests of the member's commune (all units below an official), and their own."""
    scope = await repo.scope_of(ctx.session, ctx.user)
    if scope is not None and not scope:
        return Reply(_("Your account is not linked to a commune or ward yet. Ask your commune for a team invite "
                       "code."), buttons=ctx.main_menu())
    waiting = await repo.open_in(ctx.session, scope)
    mine = await repo.taken_by(ctx.session, ctx.user.id)
    now = utcnow()
    lines = [_("<b>Help requests waiting for a team member</b> ({count})").format(count=len(waiting))]
    if not waiting:
        lines.append(_("None right now. 🎉"))
    rows: list[list[Button]] = []
    for r in waiting:
        hours = int((now - repo.aware(r.created)).total_seconds() // 3600)
        lines.append(f"• <b>{r.number}</b> · {esc(await place_of(ctx.session, r))} · "
                     f"{esc(need_of(ctx.services.kb, r)[:80])} · " + _("{hours} h ago").format(hours=hours))
        rows.append([Button(_("🙋 Take {number}").format(number=r.number), f"hr:t:{r.id}")])
    if mine:
        lines += ["", _("<b>You are helping</b>")]
        for r in mine:
            lines.append(f"• <b>{r.number}</b> · {esc(await place_of(ctx.session, r))}")
            rows.append([Button(_("Open {number}").format(number=r.number), f"hr:o:{r.id}")])
    if ctx.user.role.at_least(Role.official):
        lines += ["", *await figure_lines(ctx, scope)]
    return Reply("\n".join(lines), buttons=rows)


async def figure_lines(ctx: Context, scope: set[str] | None) -> list[str]:
    """Per-commune figures of the last 30 days, for officials."""
    figures = await repo.unit_figures(ctx.session, scope, start=utcnow() - timedelta(days=FIGURE_DAYS))
    lines = [_("<b>Help requests, last {days} days</b>").format(days=FIGURE_DAYS)]
    if not figures:
        return lines + [_("No help request yet.")]
    shown = figures[:15]
    if len(figures) > 1:
        shown = [repo.total_of(figures, _("All communes")), *shown]
    for f in shown:
        line = _("{unit}: {opened} asked · {taken} taken · {done} done").format(
            unit=esc(f.unit_name), opened=f.opened, taken=f.taken, done=f.done)
        if f.median_hours_to_take is not None:
            line += " · " + _("taken in {hours} h (median)").format(hours=f"{f.median_hours_to_take:g}")
        if f.median_hours_to_finish is not None:
            line += " · " + _("done in {hours} h (median)").format(hours=f"{f.median_hours_to_finish:g}")
        if f.rating_count:
            line += " · " + _("rated {average}/5 by {count}").format(average=f"{f.rating_average:g}",
                                                                   count=f.rating_count)
        lines.append(line)
    if len(figures) > 15:
        lines.append(_("Every commune: python -m bot help-requests list"))
    return lines


async def _allowed(ctx: Context, request: HelpRequest | None) -> bool:
    return request is not None and await repo.may_take(ctx.session, ctx.user, request)


async def view(ctx: Context, request: HelpRequest) -> Reply:
    """One request: its taker gets the phone and the actions."""
    mine = request.taker_id == ctx.user.id and request.status_enum is HelpStatus.taken
    lines = await detail_lines(ctx, request, for_taker=mine)
    rows = taker_buttons(request) if mine else []
    if request.status_enum is HelpStatus.open:
        rows = [[Button(_("🙋 I'll take it"), f"hr:t:{request.id}")]]
    return Reply("\n".join(lines), buttons=rows)


async def take(ctx: Context, request: HelpRequest | None) -> Reply:
    """ "Tôi nhận": one member gets the request; the citizen is told who will help and how."""
    if not await _allowed(ctx, request):
        return refused()
    if request.status_enum is not HelpStatus.open:
        if request.taker_id == ctx.user.id:
            return await view(ctx, request)
        return Reply(_("Thank you! {number} has already been taken by another member, or it is closed.")
                     .format(number=request.number))
    if not await repo.take(ctx.session, request, ctx.user):
        return Reply(_("Thank you! {number} has already been taken by another member, or it is closed.")
                     .format(number=request.number))
    name, unit = helper_name(ctx.user), await unit_name(ctx.session, ctx.user.unit_code)

    def news() -> Reply:
        if request.contact == "phone":
            how = _("They will call you on the phone number you gave.")
        else:
            how = _("They will write to you here, through this bot; you can write to them with the button below.")
        who = _("{name}, of the community digital technology team of {unit},").format(
            name=esc(name), unit=esc(unit)) if ctx.user.role is Role.team else _("{name}, of {unit},").format(
            name=esc(name), unit=esc(unit))
        return Reply(_("🙋 Good news: {who} will help you with your request <b>{number}</b>.").format(
            who=who, number=request.number) + "\n" + how,
            buttons=[[Button(_("💬 Write to your helper"), f"hr:r:{request.id}")]])

    await tell(ctx.session, request.citizen_id, news, "help_news", f"taken:{request.id}")
    done = _("You have taken {number}. Please contact the person soon.").format(number=request.number)
    reply = await view(ctx, request)
    reply.text = done + "\n\n" + reply.text
    return reply


async def mark_done(ctx: Context, request: HelpRequest | None) -> Reply:
    """The taker closes the request as done; the citizen is asked to confirm and rate it."""
    if request is None or request.taker_id != ctx.user.id or request.status_enum is not HelpStatus.taken:
        return refused() if request is None else await view(ctx, request)
    await repo.close(ctx.session, request, ctx.user, HelpStatus.done)
    name = helper_name(ctx.user)
    await tell(ctx.session, request.citizen_id, lambda: Reply(
        _("✅ {name} has marked your request <b>{number}</b> as done. How was the help? Choose from 1 to 5 "
          "stars. If it is not done yet, press the button below.").format(name=esc(name), number=request.number),
        buttons=rating_buttons(request)), "help_news", f"done:{request.id}:{utcnow().timestamp():.0f}")
    return Reply(_("Thank you for helping! {number} is closed as done; the person will be asked to rate it.")
                 .format(number=request.number), buttons=ctx.main_menu())


async def ask_reason(ctx: Context, request: HelpRequest | None) -> Reply:
    if request is None or request.taker_id != ctx.user.id or request.status_enum is not HelpStatus.taken:
        return refused() if request is None else await view(ctx, request)
    ctx.start_dialog("hrtext", "reason", {"rid": request.id})
    no_buttons(ctx)
    return Reply(_("Why can it not be done? Type a short reason for the person (required). (/cancel to stop)"))


async def mark_not_possible(ctx: Context, request: HelpRequest, reason: str) -> Reply:
    if not await repo.close(ctx.session, request, ctx.user, HelpStatus.not_possible, note=reason):
        return await view(ctx, request)
    name = helper_name(ctx.user)
    await tell(ctx.session, request.citizen_id, lambda: Reply(
        _("ℹ️ {name} could not help with your request <b>{number}</b>: {reason}\nYou can ask again with /hotro, "
          "or go to the one-stop desk (Bộ phận Một cửa) of the commune People's Committee. You may also rate "
          "the help from 1 to 5 stars.").format(name=esc(name), number=request.number, reason=esc(reason)),
        buttons=rating_buttons(request, not_done=False)), "help_news", f"np:{request.id}")
    return Reply(_("{number} is closed as not possible; the person has been told why.").format(number=request.number),
                 buttons=ctx.main_menu())
