"""Messages to other people about a help request; all of them go through the outbox."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from db import help_requests as repo
from db.base import utcnow
from db.help_requests import HelpRequest, Routed
from db.models import User
from handlers.help.common import need_of, place_of, unit_name, when_label
from handlers.i18n import _, use_locale
from handlers.messages import Button, Reply, esc
from handlers.notify import enqueue


async def tell(session: AsyncSession, user_id: int | None, make: Callable[[], Reply], kind: str,
               key: str) -> bool:
    """Queue ``make()``, written in the recipient's language, for ``user_id`` (once per ``key``)."""
    user = await session.get(User, user_id) if user_id else None
    if user is None or not user.active:
        return False
    with use_locale(user.locale):
        reply = make()
    return await enqueue(session, user.id, reply, kind=kind, dedupe_key=f"hr:{key}:{user.id}") is not None


async def _announce(session: AsyncSession, kb, request: HelpRequest, people: list[User], head: Callable[[], str],
                    key: str) -> int:
    """Send the request's details with a "take it" button to each of ``people``."""
    place = await place_of(session, request)
    told = 0
    for person in people:
        if person.id == request.citizen_id:
            continue

        def make() -> Reply:
            lines = [head(), _("Place: {place}").format(place=esc(place)),
                     _("Wants to: {need}").format(need=esc(need_of(kb, request)[:300])),
                     _("When: {when}").format(when=esc(when_label(request.when_text)) or "–"),
                     _("Contact: by phone (the number is shown to whoever takes it).") if request.contact == "phone"
                     else _("Contact: through this bot.")]
            return Reply("\n".join(lines), buttons=[[Button(_("🙋 I'll take it"), f"hr:t:{request.id}")]])

        if await tell(session, person.id, make, "help_new", f"{key}:{request.id}"):
            told += 1
    return told


async def route_new(session: AsyncSession, kb, request: HelpRequest) -> tuple[Routed, int, str]:
    """Tell the village's team (else the commune's, else its officials) at once.

    Returns who was told, how many people, and the name of the unit whose officials were told.
    """
    members = await repo.team_members(session, request.unit_code, request.village_code) \
        if request.village_code else []
    routed = Routed.village
    if not members:
        members, routed = await repo.team_members(session, request.unit_code), Routed.commune
    members = [m for m in members if m.id != request.citizen_id]
    if members:
        request.routed = routed.value
        told = await _announce(session, kb, request, members,
                               lambda: _("🙋 <b>New help request {number}</b>: a person asks your team "
                                         "to help them.").format(number=request.number), "new")
        return routed, told, ""
    officials = await repo.officials_for(session, request.unit_code)
    if not officials:
        request.routed = Routed.nobody.value
        return Routed.nobody, 0, ""
    request.routed, request.escalated_at = Routed.officials.value, utcnow()
    told = await _announce(session, kb, request, officials,
                           lambda: _("🙋 <b>Help request {number}</b>: no community digital technology team of "
                                     "this commune uses the bot yet. Please arrange help, or take it "
                                     "yourself.").format(number=request.number), "off")
    return Routed.officials, told, await _unit_of(session, officials)


async def escalate(session: AsyncSession, kb, request: HelpRequest, hours: float) -> int:
    """Tell the commune's officials that nobody took ``request``; tell the citizen too."""
    officials = await repo.officials_for(session, request.unit_code)
    if not officials:
        return 0
    request.escalated_at = utcnow()
    told = await _announce(session, kb, request, officials,
                           lambda: _("⏰ <b>Help request {number}</b> has not been taken by any team member "
                                     "for {hours} hours. Please arrange help, or take it yourself.")
                           .format(number=request.number, hours=_hours(hours)), "esc")
    unit = await _unit_of(session, officials)
    await tell(session, request.citizen_id, lambda: Reply(
        _("⏰ No team member has taken your request {number} yet, so the officials of {unit} have been "
          "told. They will arrange help; you will get a message here.").format(
            number=request.number, unit=esc(unit))), "help_news", f"esc:{request.id}")
    return told


def _hours(hours: float) -> str:
    return f"{hours:g}"


async def _unit_of(session: AsyncSession, officials: list[User]) -> str:
    return await unit_name(session, officials[0].unit_code) if officials else ""
