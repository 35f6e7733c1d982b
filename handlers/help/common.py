"""What every part of the help-request feature shares: labels, places, the request's details."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import help_requests as repo
from db.help_requests import HelpRequest, HelpStatus
from db.models import AdminUnit, Role, User
from handlers.i18n import N_, _
from handlers.messages import Button, Reply, esc
from handlers.registry import Context

# Topics offered as "what do you want to do?" (those missing from the knowledge base are skipped).
NEED_TOPICS = ("vneid.activate", "portal.account", "portal.submit", "payment.how", "ecopy.how", "portal.track")

WHEN_LABELS = {
    "morning": N_("In the morning"), "afternoon": N_("In the afternoon"), "evening": N_("In the evening"),
    "weekend": N_("At the weekend"), "any": N_("Any time"),
}
STATUS_LABELS = {
    HelpStatus.open: N_("Waiting for a team member"), HelpStatus.taken: N_("A team member is helping"),
    HelpStatus.done: N_("Done"), HelpStatus.not_possible: N_("Could not be done"),
    HelpStatus.cancelled: N_("Withdrawn"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[HelpStatus(status)])


def when_label(when_text: str) -> str:
    return _(WHEN_LABELS[when_text]) if when_text in WHEN_LABELS else when_text


def no_buttons(ctx: Context) -> None:
    """A free-text step: a typed number must not pick an option of an earlier message."""
    ctx.state.options = []


async def unit_name(session: AsyncSession, code: str | None) -> str:
    unit = await session.get(AdminUnit, code) if code else None
    return unit.name if unit else ""


async def place_of(session: AsyncSession, request: HelpRequest) -> str:
    """ "Thôn 3, Xã Cẩm Xuyên": the village (known or as typed) and the commune."""
    village = await unit_name(session, request.village_code) or request.village_text
    return ", ".join(n for n in (village, await unit_name(session, request.unit_code)) if n)


def need_of(ctx_kb, request: HelpRequest) -> str:
    """What the citizen wants to do: the topic's title, then their own words."""
    topic = ctx_kb.get(request.topic_id) if request.topic_id else None
    parts = [topic.title] if topic is not None else []
    if request.need and (topic is None or request.need != topic.title):
        parts.append(request.need)
    return " – ".join(parts)


def helper_name(taker: User | None) -> str:
    """How the citizen hears of their helper: a name, never an account."""
    if taker is None:
        return _("A team member")
    if taker.display_name:
        return taker.display_name
    return _("An official") if taker.role.at_least(Role.official) else _("A team member")


async def detail_lines(ctx: Context, request: HelpRequest, for_taker: bool = False) -> list[str]:
    """The request as a team member or official reads it; the phone only for its taker."""
    s = ctx.session
    lines = [_("🙋 <b>Help request {number}</b>").format(number=request.number),
             _("Place: {place}").format(place=esc(await place_of(s, request))),
             _("Wants to: {need}").format(need=esc(need_of(ctx.services.kb, request))),
             _("When: {when}").format(when=esc(when_label(request.when_text)) or "–")]
    if for_taker:
        citizen = await s.get(User, request.citizen_id) if request.citizen_id else None
        if citizen is not None and citizen.display_name:
            lines.append(_("Name: {name}").format(name=esc(citizen.display_name)))
        if request.contact == "phone" and request.phone:
            lines.append(_("📞 Phone (only you see it): {phone}").format(phone=request.phone))
        else:
            lines.append(_("Contact: through this bot (use \"Message\" below)."))
    elif request.contact == "phone":
        lines.append(_("Contact: by phone (the number is shown to whoever takes it)."))
    else:
        lines.append(_("Contact: through this bot."))
    lines.append(_("Status: {status}").format(status=status_label(request.status)))
    return lines


def taker_buttons(request: HelpRequest) -> list[list[Button]]:
    rid = request.id
    return [[Button(_("💬 Message the person"), f"hr:m:{rid}")],
            [Button(_("✅ Done"), f"hr:d:{rid}"), Button(_("❌ Not possible"), f"hr:n:{rid}")]]


def rating_buttons(request: HelpRequest, not_done: bool = True) -> list[list[Button]]:
    rows = [[Button(f"{n}⭐", f"hr:s:{request.id}:{n}") for n in range(1, 6)]]
    if not_done:
        rows.append([Button(_("🔁 It is not done yet"), f"hr:nd:{request.id}")])
    return rows


def refused() -> Reply:
    return Reply(_("This help request does not exist or is not in your commune."))


async def request_in(ctx: Context, arg: str) -> HelpRequest | None:
    return await repo.get_request(ctx.session, int(arg)) if arg.isdigit() else None
