"""News about a report: to the officials of its commune, to its reporter and followers; the member's own list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import report_followers
from db import reports as repo
from db.models import User
from db.reports import Report, ReportError, ReportKind, ReportStatus
from handlers.i18n import _, format_date, use_locale
from handlers.messages import Button, Reply, esc
from handlers.notify import enqueue
from handlers.registry import Context
from handlers.reports.common import unit_name
from handlers.reports.labels import status_label


async def notify_officials_new(session: AsyncSession, report: Report, reporter: User | None,
                               reopened: bool = False) -> repo.Recipients:
    """Tell the officials whose scope holds the report's handling unit; one message each.

    Returns who was told (never the reporter themself), for a reply that says only what happened.
    """
    recipients = await repo.officials_to_tell(session, report.handling_unit_code)
    if reporter is not None:
        recipients = repo.Recipients([u for u in recipients.own if u.id != reporter.id],
                                     [u for u in recipients.above if u.id != reporter.id])
    category = await session.get(repo.ReportCategory, report.category_id)
    village = await unit_name(session, report.village_code)
    commune = await unit_name(session, report.unit_code)
    event = f"re{report.reopened_at.timestamp():.0f}" if reopened and report.reopened_at else "new"
    good = report.kind == ReportKind.good_practice.value
    for official in recipients.all:
        with use_locale(official.locale):
            place = esc(", ".join(n for n in (village, commune) if n))
            if reopened:
                head = _("🔁 Report <b>{number}</b> was reopened: the reporter says the problem is still not "
                         "resolved.").format(number=report.number)
            elif good:
                head = _("🌟 New good practice <b>{number}</b> from {place}.").format(number=report.number,
                                                                                  place=place)
            else:
                head = _("🆕 New report <b>{number}</b> from {place}.").format(number=report.number, place=place)
            text = "\n".join([head, _("Area: {category}").format(
                category=esc(category.label(official.locale) if category else "")),
                esc(report.description[:300])])
            reply = Reply(text, buttons=[[Button(_("Open {number}").format(number=report.number),
                                                 f"ro:o:{report.id}")]])
        await enqueue(session, official.id, reply, kind="report_new",
                      dedupe_key=f"rp:{event}:{report.id}:{official.id}")
    return recipients


async def who_was_told(session: AsyncSession, report: Report, recipients: repo.Recipients) -> str:
    """One true sentence: which officials were just told about ``report``."""
    unit = esc(await unit_name(session, report.handling_unit_code))
    if recipients.own:
        return _("The officials of {unit} have been told.").format(unit=unit)
    if recipients.above:
        return _("{unit} has no official on the bot yet, so the province officials have been told.").format(
            unit=unit)
    return _("No official has joined the bot yet to receive it. It is saved, and the officials will see it "
             "when they join.")


def reporter_message(report: Report, status: ReportStatus, unit: str, note: str = "", other: str = "") -> Reply:
    """The message a reporter gets for a status change, in the current locale (one template per state)."""
    number, unit = report.number, esc(unit)
    note_line = ("\n" + _("Note: {note}").format(note=esc(note))) if note else ""
    reopen = [[Button(_("🔁 Still not resolved"), f"rp:re:{report.id}")]]
    if status is ReportStatus.acknowledged:
        return Reply(_("📬 Your report <b>{number}</b> has been received by {unit}.").format(number=number, unit=unit))
    if status is ReportStatus.in_progress:
        return Reply(_("🔧 {unit} is working on your report <b>{number}</b>.").format(number=number, unit=unit))
    if status is ReportStatus.fixed:
        return Reply(_("✅ Your report <b>{number}</b> has been resolved by {unit}.").format(number=number, unit=unit)
                     + note_line + "\n\n" + _("If the problem is still there, press \"Still not resolved\" "
                                               "within 14 days."), buttons=reopen)
    if status is ReportStatus.not_responsible:
        return Reply(_("ℹ️ {unit} says your report <b>{number}</b> is not within its authority.")
                     .format(number=number, unit=unit) + note_line, buttons=reopen)
    if status is ReportStatus.duplicate:
        return Reply(_("🔗 Your report <b>{number}</b> is the same problem as <b>{other}</b>. "
                       "It will be handled there and you will get its news.").format(number=number, other=other))
    if status is ReportStatus.noted:
        return Reply(_("🌟 {unit} has acknowledged your good practice <b>{number}</b>. Thank you!")
                     .format(number=number, unit=unit) + note_line)
    if status is ReportStatus.shared:
        return Reply(_("📣 {unit} has shared your good practice <b>{number}</b> with every team of the "
                       "province. Thank you!").format(number=number, unit=unit))
    if status is ReportStatus.closed:
        return Reply(_("📁 Your report <b>{number}</b> has been closed by {unit}.").format(number=number, unit=unit)
                     + note_line + "\n\n" + _("If the problem is still there, press \"Still not resolved\" "
                                               "within 14 days."), buttons=reopen)
    return Reply(_("Your report <b>{number}</b> is now: {status}.").format(number=number,
                                                                         status=status_label(status.value)))


async def tell_reporters(session: AsyncSession, report: Report, make, kind: str, event: str) -> None:
    """Queue ``make()`` (built in each recipient's language) for the reporter and followers."""
    for user_id in await repo.followers_of(session, report):
        user = await session.get(User, user_id)
        if user is None:
            continue
        with use_locale(user.locale):
            reply = make()
        await enqueue(session, user_id, reply, kind=kind, dedupe_key=f"rp:{event}:{user_id}")


# --- the member's own reports -------------------------------------------------------------

async def my_reports(ctx: Context) -> Reply:
    """The reports the member sent and those they follow (the same problem), with their status."""
    reports = await repo.reports_of(ctx.session, ctx.user.id)
    if not reports:
        return Reply(_("You have not sent any report yet."), buttons=ctx.main_menu())
    followed = await report_followers.followed_ids(ctx.session, ctx.user.id)
    cats = {c.id: c for c in await repo.categories(ctx.session)}
    tz = ctx.services.settings.tz
    lines, rows = [_("<b>Your reports</b>")], []
    for r in reports:
        cat = cats.get(r.category_id)
        mark = (" · " + _("followed")) if r.id in followed and r.reporter_id != ctx.user.id else ""
        lines.append(f"• <b>{r.number}</b> · {esc(cat.label(ctx.user.locale) if cat else '')} · "
                     f"{status_label(r.status)} · {format_date(repo.aware(r.created).astimezone(tz).date())}{mark}")
        if repo.can_reopen(r):
            rows.append([Button(_("🔁 {number} still not resolved").format(number=r.number), f"rp:re:{r.id}")])
    return Reply("\n".join(lines), buttons=rows + ctx.main_menu()[:1])


async def reopen_report(ctx: Context, arg: str) -> Reply:
    report = await repo.get_report(ctx.session, int(arg)) if arg.isdigit() else None
    if report is None:
        return Reply(_("This report does not exist."))
    try:
        await repo.reopen(ctx.session, report, ctx.user)
    except ReportError as exc:
        if exc.code == "not_yours":
            return Reply(_("Only the person who sent a report can reopen it."))
        return Reply(_("Report {number} can no longer be reopened (it was closed more than 14 days ago, "
                       "or it is still open). Please send a new report.").format(number=report.number))
    told = await notify_officials_new(ctx.session, report, ctx.user, reopened=True)
    return Reply(_("Report {number} has been reopened.").format(number=report.number) + " "
                 + await who_was_told(ctx.session, report, told), buttons=ctx.main_menu())
