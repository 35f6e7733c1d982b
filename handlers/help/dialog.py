"""The citizen's short dialog: commune, village, what to do, when, how to be reached, send.

The state lives in the database (``ctx.start_dialog`` / ``ctx.set_step``) like the report wizard.
Each step is a question (``ask``) and an answer to typed text (``answer``) in :data:`STEPS`;
buttons of the dialog carry ``hr:<action>:<value>`` and are handled by :func:`on_button`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from db import help_requests as repo
from db.base import utcnow
from db.help_requests import HelpRequest, LimitReached, Routed
from db.models import AdminUnit, UnitLevel
from db.units import find_units, units_containing
from handlers.help.common import NEED_TOPICS, WHEN_LABELS, no_buttons, status_label, unit_name, when_label
from handlers.help.news import route_new
from handlers.i18n import _
from handlers.messages import Button, Reply, esc
from handlers.registry import Context

DIALOG = "help"
COMMUNE, VILLAGE, NEED, WHEN, CONTACT, PHONE, CONFIRM = "commune", "village", "need", "when", "contact", "phone", "confirm"
DRAFT_HOURS = 24  # an untouched form is dropped after this
MAX_CHOICES = 8


def _data(ctx: Context) -> dict:
    return dict(ctx.state.data or {})


def _cancel_row() -> list[Button]:
    return [Button(_("✖️ Cancel"), "hr:x")]


async def _go(ctx: Context, step: str, **updates) -> Reply:
    """Store an answer and ask the next question."""
    ctx.set_step(step, ts=utcnow().isoformat(), **updates)
    return await STEPS[step][0](ctx)


# --- start --------------------------------------------------------------------------------

async def my_open_requests(ctx: Context) -> list[HelpRequest]:
    return await repo.open_requests_of(ctx.session, ctx.user.id)


async def open_list(ctx: Context, requests: list[HelpRequest]) -> tuple[list[str], list[list[Button]]]:
    """The citizen's open requests, one line each, with "write" and "withdraw" buttons."""
    lines, rows = [_("<b>Your help requests</b>")], []
    for r in requests:
        lines.append(f"• <b>{r.number}</b> · {status_label(r.status)}")
        row = [Button(_("✖️ Withdraw {number}").format(number=r.number), f"hr:wd:{r.id}")]
        if r.taker_id:
            row.insert(0, Button(_("💬 Write about {number}").format(number=r.number), f"hr:r:{r.id}"))
        rows.append(row)
    return lines, rows


async def start(ctx: Context, show_open: bool = False) -> Reply:
    """Begin a new request (or continue an unfinished one); refuse past the open-request limit."""
    if ctx.state.dialog == DIALOG and not _expired(ctx):
        reply = await STEPS[ctx.state.step][0](ctx)
        reply.text = _("You have an unfinished help request; let's continue it.") + "\n\n" + reply.text
        return reply
    requests = await my_open_requests(ctx)
    if len(requests) >= repo.MAX_OPEN:
        lines, rows = await open_list(ctx, requests)
        return Reply(_("You already have {count} help requests waiting, the most allowed at once. "
                       "Wait until one is done, or withdraw one.").format(count=len(requests))
                     + "\n\n" + "\n".join(lines), buttons=rows + ctx.main_menu()[:1])
    if show_open and requests:
        lines, rows = await open_list(ctx, requests)
        return Reply("\n".join(lines), buttons=rows + [[Button(_("➕ Ask for help again"), "hr:new")]])
    ctx.start_dialog(DIALOG, COMMUNE, {"ts": utcnow().isoformat()})
    return await ask_commune(ctx)


def _expired(ctx: Context) -> bool:
    ts = (ctx.state.data or {}).get("ts")
    return bool(ts) and utcnow() - datetime.fromisoformat(ts) > timedelta(hours=DRAFT_HOURS)


# --- the steps ----------------------------------------------------------------------------

async def ask_commune(ctx: Context) -> Reply:
    """Ask for the commune or ward; offer the one of the citizen's last request."""
    last = await ctx.session.scalar(select(HelpRequest.unit_code).where(HelpRequest.citizen_id == ctx.user.id)
                                    .order_by(HelpRequest.id.desc()).limit(1))
    last = last or (ctx.user.unit_code if ctx.user.unit_code else None)
    rows = []
    name = await unit_name(ctx.session, last)
    unit = await ctx.session.get(AdminUnit, last) if last else None
    if unit is not None and unit.level is UnitLevel.xa:
        rows.append([Button(f"📍 {name}", f"hr:u:{unit.code}")])
    no_buttons(ctx)
    return Reply(_("<b>Ask the community digital technology team for help</b> (step 1 of 5)\n"
                   "A member of the team in your village can sit beside you and show you how to do it online.\n\n"
                   "Which commune or ward do you live in? Type its name, for example: Cẩm Xuyên"),
                 buttons=rows + [_cancel_row()])


async def answer_commune(ctx: Context, text: str) -> Reply:
    if not text or len(text) > 100:
        return await ask_commune(ctx)
    units = await find_units(ctx.session, text, UnitLevel.xa) or await units_containing(ctx.session, text, UnitLevel.xa)
    if len(units) == 1:
        return await _go(ctx, VILLAGE, unit=units[0].code)
    if not units or len(units) > MAX_CHOICES:
        no_buttons(ctx)
        return Reply(_("I could not find the commune or ward \"{text}\" in Hà Tĩnh. Please check the name and "
                       "type it again, for example: Thạch Hà").format(text=esc(text)), buttons=[_cancel_row()])
    return Reply(_("Which one do you mean?"),
                 buttons=[[Button(u.name, f"hr:u:{u.code}")] for u in units] + [_cancel_row()])


async def ask_village(ctx: Context) -> Reply:
    data = _data(ctx)
    villages = await repo.villages_of(ctx.session, data["unit"])
    rows = [[Button(v.name, f"hr:v:{v.code}") for v in villages[i:i + 2]]
            for i in range(0, min(len(villages), MAX_CHOICES), 2)]
    return Reply(_("Step 2 of 5: which village (thôn) or residential group (tổ dân phố) of {commune}? "
                   "Type its name, for example: Thôn 3").format(commune=esc(await unit_name(ctx.session, data["unit"]))),
                 buttons=rows + [[Button(_("⏭ Skip"), "hr:v:0")], _cancel_row()])


async def answer_village(ctx: Context, text: str) -> Reply:
    text = repo.clip(text)
    if not text:
        return await ask_village(ctx)
    village = await repo.match_village(ctx.session, _data(ctx)["unit"], text)
    return await _go(ctx, NEED, village=village.code if village else None, village_text=text)


async def ask_need(ctx: Context) -> Reply:
    topics = [t for t in (ctx.services.kb.get(i) for i in NEED_TOPICS) if t is not None]
    return Reply(_("Step 3 of 5: what do you want to do? Choose below, or type it in your own words."),
                 buttons=[[Button(t.title, f"hr:k:{t.id}")] for t in topics] + [_cancel_row()])


async def answer_need(ctx: Context, text: str) -> Reply:
    if len(text) < repo.MIN_NEED:
        no_buttons(ctx)
        return Reply(_("That is too short. Please say in a few words what you want to do (at least {min} "
                       "characters), or choose a button above.").format(min=repo.MIN_NEED))
    if len(text) > repo.MAX_NEED:
        no_buttons(ctx)
        return Reply(_("That is too long ({length} characters). Please shorten it to {max} characters.")
                     .format(length=len(text), max=repo.MAX_NEED))
    return await _go(ctx, WHEN, topic=None, need=text)


async def ask_when(ctx: Context) -> Reply:
    keys = list(WHEN_LABELS)
    rows = [[Button(_(WHEN_LABELS[k]), f"hr:w:{k}") for k in keys[i:i + 2]] for i in range(0, len(keys), 2)]
    return Reply(_("Step 4 of 5: when suits you? Choose, or type it, for example: Saturday morning."),
                 buttons=rows + [_cancel_row()])


async def answer_when(ctx: Context, text: str) -> Reply:
    text = repo.clip(text)
    if not text:
        return await ask_when(ctx)
    return await _go(ctx, CONTACT, when=text)


async def ask_contact(ctx: Context) -> Reply:
    return Reply(_("Step 5 of 5: how should the team member reach you?"), buttons=[
        [Button(_("💬 Through this bot (recommended)"), "hr:c:bot")],
        [Button(_("📞 By phone: I agree to give my number to the member who takes my request"), "hr:c:phone")],
        _cancel_row()])


async def answer_contact(ctx: Context, text: str) -> Reply:
    return await ask_contact(ctx)  # a button step


async def ask_phone(ctx: Context) -> Reply:
    no_buttons(ctx)
    return Reply(_("Type your phone number. Only the team member who takes your request will see it, "
                   "and /xoadulieu deletes it."),
                 buttons=[[Button(_("💬 Through the bot instead"), "hr:c:bot")], _cancel_row()])


async def answer_phone(ctx: Context, text: str) -> Reply:
    phone = repo.clean_phone(text)
    if phone is None:
        return Reply(_("That does not look like a phone number. Type 10 digits, for example 0912345678."),
                     buttons=[[Button(_("💬 Through the bot instead"), "hr:c:bot")], _cancel_row()])
    return await _go(ctx, CONFIRM, phone=phone)


async def ask_confirm(ctx: Context) -> Reply:
    data = _data(ctx)
    topic = ctx.services.kb.get(data["topic"]) if data.get("topic") else None
    village = await unit_name(ctx.session, data.get("village")) or data.get("village_text") or ""
    place = ", ".join(n for n in (village, await unit_name(ctx.session, data["unit"])) if n)
    contact = (_("by phone, {phone} (only the member who takes it sees it)").format(phone=data["phone"])
               if data.get("phone") else _("through this bot"))
    lines = [_("<b>Please check your help request</b>"),
             _("Place: {place}").format(place=esc(place)),
             _("Wants to: {need}").format(need=esc(topic.title if topic else data.get("need", ""))),
             _("When: {when}").format(when=esc(when_label(data.get("when", "")))),
             _("Contact: {contact}").format(contact=contact)]
    return Reply("\n".join(lines), buttons=[[Button(_("📨 Send"), "hr:send")],
                                            [Button(_("✏️ Start again"), "hr:again"), Button(_("✖️ Cancel"), "hr:x")]])


async def answer_confirm(ctx: Context, text: str) -> Reply:
    return await ask_confirm(ctx)  # a button step


Step = tuple[Callable[[Context], Awaitable[Reply]], Callable[[Context, str], Awaitable[Reply]]]
STEPS: dict[str, Step] = {  # step → (its question, its answer to typed text)
    COMMUNE: (ask_commune, answer_commune),
    VILLAGE: (ask_village, answer_village),
    NEED: (ask_need, answer_need),
    WHEN: (ask_when, answer_when),
    CONTACT: (ask_contact, answer_contact),
    PHONE: (ask_phone, answer_phone),
    CONFIRM: (ask_confirm, answer_confirm),
}


# --- typed text and buttons ---------------------------------------------------------------

async def on_text(ctx: Context):
    """Every typed message while the citizen is filling in the form."""
    if _expired(ctx) or ctx.state.step not in STEPS:
        ctx.end_dialog()  # a form left for a day: the message is a new question, not an answer
        if ctx.registry.text_handler is not None and ctx.incoming.text.strip():
            return await ctx.registry.text_handler(ctx)
        return Reply(_("Your unfinished help request was removed. Start again when you are ready."),
                     buttons=ctx.main_menu())
    return await STEPS[ctx.state.step][1](ctx, ctx.incoming.text.strip())


async def on_button(ctx: Context, action: str, arg: str) -> Reply:
    """A button of the form: hr:u (commune), v (village), k (topic), w (when), c (contact), send, again, x."""
    if ctx.state.dialog != DIALOG or _expired(ctx):
        if ctx.state.dialog == DIALOG:
            ctx.end_dialog()
        return Reply(_("This form is already closed. Press \"🙋 Ask the digital team for help\" to start again."),
                     buttons=ctx.main_menu())
    step = ctx.state.step
    if action == "x":
        ctx.end_dialog()
        return Reply(_("Cancelled. Nothing was sent."), buttons=ctx.main_menu())
    if action == "again":
        ctx.start_dialog(DIALOG, COMMUNE, {"ts": utcnow().isoformat()})
        return await ask_commune(ctx)
    if action == "u" and step == COMMUNE:
        unit = await ctx.session.get(AdminUnit, arg)
        if unit is not None and unit.level is UnitLevel.xa:
            return await _go(ctx, VILLAGE, unit=unit.code)
    if action == "v" and step == VILLAGE:
        village = await ctx.session.get(AdminUnit, arg) if arg != "0" else None
        if village is not None and village.parent_code == _data(ctx)["unit"]:
            return await _go(ctx, NEED, village=village.code, village_text=village.name)
        if arg == "0":
            return await _go(ctx, NEED, village=None, village_text="")
    if action == "k" and step == NEED and ctx.services.kb.get(arg) is not None:
        return await _go(ctx, WHEN, topic=arg, need=ctx.services.kb.get(arg).title)
    if action == "w" and step == WHEN and arg in WHEN_LABELS:
        return await _go(ctx, CONTACT, when=arg)
    if action == "c" and step in (CONTACT, PHONE):
        if arg == "phone":
            return await _go(ctx, PHONE)
        return await _go(ctx, CONFIRM, phone=None)
    if action == "send" and step == CONFIRM:
        return await send(ctx)
    return await STEPS[step][0](ctx) if step in STEPS else await ask_commune(ctx)


async def send(ctx: Context) -> Reply:
    """Store the request, tell the team (or the officials) and say plainly who has it."""
    data = _data(ctx)
    ctx.end_dialog()
    try:
        request = await repo.create_request(ctx.session, ctx.user, data["unit"], data.get("village"),
                                             data.get("village_text", ""), data.get("topic"), data.get("need", ""),
                                             data.get("when", ""), data.get("phone"))
    except LimitReached:
        return Reply(_("You already have {count} help requests waiting, the most allowed at once. "
                       "Wait until one is done, or withdraw one.").format(count=repo.MAX_OPEN),
                     buttons=ctx.main_menu())
    routed, told, officials_unit = await route_new(ctx.session, ctx.services.kb, request)
    place = esc(await unit_name(ctx.session, request.unit_code))
    number = request.number
    if routed in (Routed.village, Routed.commune):
        text = _("Thank you! Your request <b>{number}</b> has been sent to {count} member(s) of the community "
                 "digital technology team of {place}. When one of them takes it, I will tell you here who will "
                 "help you and how.").format(number=number, count=told, place=place)
        officials = await repo.officials_for(ctx.session, request.unit_code)
        if officials:  # the escalation's promise, only when someone is there to keep it
            hours = f"{ctx.services.settings.help_escalate_hours:g}"
            text += "\n" + _("If nobody takes it within {hours} hours, the officials of {unit} will be told.").format(
                hours=hours, unit=esc(await unit_name(ctx.session, officials[0].unit_code)))
    elif routed is Routed.officials:
        text = _("Thank you! No community digital technology team of {place} uses this bot yet, so your request "
                 "<b>{number}</b> has been sent to the officials of {unit}. When someone takes it, I will tell you "
                 "here who will help you and how.").format(place=place, number=number, unit=esc(officials_unit))
    else:
        text = _("Your request <b>{number}</b> is saved, but nobody from the digital team or the officials of "
                 "{place} uses this bot yet, so nobody could be told now. It will be shown to them when they "
                 "join. Meanwhile, the one-stop desk (Bộ phận Một cửa) of the commune People's Committee can "
                 "help you in person.").format(number=number, place=place)
    return Reply(text, buttons=ctx.main_menu())
