"""The official's side: the list with filters, one report, and the actions on it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import report_followers
from db import reports as repo
from db.base import utcnow
from db.models import AdminUnit, UnitLevel, User
from db.reports import Report, ReportFilter, ReportKind, ReportStatus
from db.units import PROVINCE_CODE, find_units
from handlers.i18n import _, format_datetime, use_locale
from handlers.messages import Button, Reply, esc
from handlers.notify import enqueue
from handlers.registry import Context
from handlers.reports.common import PAGE_SIZE, SKIP_WORDS, fold, no_buttons, refused, unit_name
from handlers.reports.labels import GROUP_LABELS, kind_label, people_line, status_label
from handlers.reports.news import notify_officials_new, reporter_message, tell_reporters


def _filter_data(prefix: str, flt: ReportFilter, page: int | None = None) -> str:
    data = f"{prefix}:{flt.group}:{flt.category_id}:{flt.unit_code or 0}:{flt.min_age_days}"
    return data if page is None else f"{data}:{page}"


def parse_filter(parts: list[str]) -> tuple[ReportFilter, int]:
    def part(i: int, default: str) -> str:
        return parts[i] if len(parts) > i and parts[i] else default

    group = part(1, "o") if part(1, "o") in repo.GROUPS else "o"
    category = int(part(2, "0")) if part(2, "0").isdigit() else 0
    unit = part(3, "0")
    age = int(part(4, "0")) if part(4, "0").isdigit() else 0
    page = int(part(5, "1")) if part(5, "1").isdigit() else 1
    return ReportFilter(group, category, "" if unit == "0" else unit, age), max(page, 1)


async def list_view(ctx: Context, flt: ReportFilter, page: int = 1) -> Reply:
    scope = await repo.scope_of(ctx.session, ctx.user)
    if flt.unit_code and scope is not None and flt.unit_code not in scope:
        return Reply(_("You can only see reports of your own unit and the units below it."))
    reports, total = await repo.list_reports(ctx.session, ctx.user, flt, page, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    cats = {c.id: c for c in await repo.categories(ctx.session)}
    units = {u.code: u.name for u in (await ctx.session.scalars(select(AdminUnit).where(
        AdminUnit.code.in_({r.unit_code for r in reports} | {r.handling_unit_code for r in reports}
                           | {r.village_code for r in reports if r.village_code})
    ))).all()}
    now = utcnow()
    title = _("<b>Reports: {group}</b> ({total})").format(group=_(GROUP_LABELS[flt.group]), total=total)
    filters = []
    if flt.category_id and flt.category_id in cats:
        filters.append(esc(cats[flt.category_id].label(ctx.user.locale)))
    if flt.unit_code:
        filters.append(esc(await unit_name(ctx.session, flt.unit_code)))
    if flt.min_age_days:
        filters.append(_("older than {days} days").format(days=flt.min_age_days))
    lines = [title + (" · " + " · ".join(filters) if filters else "")]
    if not reports:
        lines.append(_("No report matches."))
    for r in reports:
        age = (now - repo.aware(r.created)).days
        place = ", ".join(n for n in (units.get(r.village_code or ""), units.get(r.unit_code)) if n)
        if r.handling_unit_code != r.unit_code:
            place += " → " + units.get(r.handling_unit_code, r.handling_unit_code)
        cat = cats.get(r.category_id)
        lines.append(f"• <b>{r.number}</b> · {esc(place)} · {esc(cat.label(ctx.user.locale) if cat else '')} · "
                     f"{status_label(r.status)} · " + _("{days} d").format(days=age))
    lines.append(_("Page {page}/{pages}. To see one commune, send /reports followed by its name.").format(
        page=page, pages=pages))
    rows = [[Button(r.number, f"ro:o:{r.id}") for r in reports[i:i + 2]] for i in range(0, len(reports), 2)]
    nav = []
    if page > 1:
        nav.append(Button(_("◀️ Previous"), _filter_data("rl", flt, page - 1)))
    if page < pages:
        nav.append(Button(_("Next ▶️"), _filter_data("rl", flt, page + 1)))
    if nav:
        rows.append(nav)
    rows.append([Button(("✓ " if flt.group == g else "") + _(label),
                        _filter_data("rl", ReportFilter(g, flt.category_id, flt.unit_code, flt.min_age_days), 1))
                 for g, label in GROUP_LABELS.items()])
    older = ReportFilter(flt.group, flt.category_id, flt.unit_code, 0 if flt.min_age_days else repo.STALE_DAYS)
    rows.append([Button(_("🏷 Area filter"), _filter_data("rf", flt)),
                 Button(_("All ages") if flt.min_age_days else _("⏰ Older than 3 days"),
                        _filter_data("rl", older, 1))])
    return Reply("\n".join(lines), buttons=rows)


async def category_menu(ctx: Context, flt: ReportFilter) -> Reply:
    rows = [[Button(_("All areas"), _filter_data("rl", ReportFilter(flt.group, 0, flt.unit_code,
                                                                     flt.min_age_days), 1))]]
    for c in await repo.categories(ctx.session):
        rows.append([Button(c.label(ctx.user.locale),
                            _filter_data("rl", ReportFilter(flt.group, c.id, flt.unit_code, flt.min_age_days), 1))])
    return Reply(_("Show reports of which area?"), buttons=rows)


async def reports_command(ctx: Context) -> Reply:
    flt = ReportFilter()
    if ctx.incoming.args.strip():
        units = [u for u in await find_units(ctx.session, ctx.incoming.args, None) if u.level is not UnitLevel.thon]
        if len(units) != 1:
            return Reply(_("I could not find the unit \"{text}\". Check the name or use its code.")
                         .format(text=esc(ctx.incoming.args)))
        flt.unit_code = units[0].code
    return await list_view(ctx, flt)


async def _report_in_scope(ctx: Context, arg: str) -> Report | None:
    report = await repo.get_report(ctx.session, int(arg)) if arg.isdigit() else None
    if report is None or not await repo.in_scope(ctx.session, ctx.user, report):
        return None
    return report


ACTIONS = {"difficulty": set("otpcfrdm"), "good_practice": set("ogsm")}


async def good_practice_outcome(ctx: Context, report: Report, action: str, unit: str) -> list[Reply]:
    """Acknowledge a good practice (g), or share it with every team of the province (s)."""
    status = ReportStatus.noted if action == "g" else ReportStatus.shared
    if (action == "g" and not report.status_enum.is_open) or (action == "s" and report.status == status.value):
        return await report_view(ctx, report)
    shared = await share_good_practice(ctx.session, report) if action == "s" else 0
    await repo.change_status(ctx.session, report, ctx.user, status)
    await tell_reporters(ctx.session, report, lambda: reporter_message(report, status, unit),
                         kind="report_status", event=f"{report.id}:{status.value}")
    done = _("Done: {number} is now \"{status}\".").format(number=report.number, status=status_label(status.value))
    if action == "s":
        done += "\n" + _("Sent to {count} team members.").format(count=shared)
    return [Reply(done)] + await report_view(ctx, report)


async def share_good_practice(session: AsyncSession, report: Report) -> int:
    """Queue the good practice for every team member of the province but its reporter; return how many."""
    category = await session.get(repo.ReportCategory, report.category_id)
    place = ", ".join(n for n in (await unit_name(session, report.village_code),
                                  await unit_name(session, report.unit_code)) if n)
    count = 0
    for member in await repo.team_members_of(session, PROVINCE_CODE):
        if member.id == report.reporter_id:
            continue
        with use_locale(member.locale):
            text = "\n".join([_("🌟 A good practice from {place}, worth trying:").format(place=esc(place)),
                              _("Area: {category}").format(
                                  category=esc(category.label(member.locale) if category else "")),
                              "", esc(report.description)])
        if await enqueue(session, member.id, Reply(text), kind="report_share",
                         dedupe_key=f"rp:share:{report.id}:{member.id}") is not None:
            count += 1
    return count


async def report_view(ctx: Context, report: Report) -> list[Reply]:
    s, tz = ctx.session, ctx.services.settings.tz
    category = await s.get(repo.ReportCategory, report.category_id)
    reporter = await s.get(User, report.reporter_id) if report.reporter_id else None
    handler = await s.get(User, report.handler_id) if report.handler_id else None
    place = ", ".join(n for n in (await unit_name(s, report.village_code), await unit_name(s, report.unit_code)) if n)
    followers = await report_followers.follower_summary(s, report)
    good = report.kind == ReportKind.good_practice.value
    lines = [f"<b>{report.number}</b> · {kind_label(report.kind)}",
             _("Area: {category}").format(category=esc(category.label(ctx.user.locale) if category else "")),
             _("Place: {place}").format(place=esc(place)),
             _("Reporter: {name}").format(name=esc(reporter.display_name) if reporter and reporter.display_name
                                          else _("(anonymous)")),
             _("Sent: {time}").format(time=format_datetime(repo.aware(report.created), tzinfo=tz)),
             _("Status: {status}").format(status=status_label(report.status))]
    if report.handling_unit_code != report.unit_code:
        lines.append(_("Handling unit: {unit}").format(unit=esc(await unit_name(s, report.handling_unit_code))))
    if handler is not None:
        lines.append(_("Handled by: {name}").format(name=esc(handler.display_name) or "?"))
    if report.people_affected:
        lines.append(people_line(report.kind, report.people_affected))
    if followers.count > 0:
        lines.append(_("Other teams with the same problem: {count}").format(count=followers.count))
        if followers.village_codes:
            names = [await unit_name(s, code) for code in followers.village_codes]
            lines.append(_("Also met in: {villages}").format(villages=esc(", ".join(n for n in names if n))))
        if followers.people_total:
            lines.append(_("People affected in all: {people}").format(people=followers.people_total))
    if report.duplicate_of_id:
        lines.append(_("Same problem as {number}").format(number=repo.report_number(report.duplicate_of_id)))
    lines += ["", esc(report.description)]
    if report.resolution_note:
        lines += ["", _("Result: {note}").format(note=esc(report.resolution_note))]
    rid = report.id
    rows: list[list[Button]] = []
    if good and report.status_enum.is_open:
        rows.append([Button(_("👍 Acknowledge"), f"ro:g:{rid}")])
    if good and report.status != ReportStatus.shared.value:
        rows.append([Button(_("📣 Share with every team of the province"), f"ro:s:{rid}")])
    if not good and report.status_enum.is_open:
        first = []
        if report.status not in (ReportStatus.acknowledged.value,) or report.handler_id != ctx.user.id:
            first.append(Button(_("🙋 Take it"), f"ro:t:{rid}"))
        if report.status != ReportStatus.in_progress.value:
            first.append(Button(_("🔧 In progress"), f"ro:p:{rid}"))
        rows += [first, [Button(_("✅ Resolved"), f"ro:f:{rid}")],
                 [Button(_("↪️ Not ours / transfer"), f"ro:r:{rid}")],
                 [Button(_("🔗 Duplicate of…"), f"ro:d:{rid}"), Button(_("📁 Close"), f"ro:c:{rid}")]]
    rows.append([Button(_("💬 Message the reporter"), f"ro:m:{rid}")])
    rows.append([Button(_("⬅️ Report list"), "rl:o:0:0:0:1")])
    replies = [Reply(photo=p.data) for p in await repo.photos_of(s, rid)]
    replies.append(Reply("\n".join(line for line in lines), buttons=[r for r in rows if r]))
    return replies


async def on_official_button(ctx: Context):
    parts = ctx.incoming.button.split(":")
    action = parts[1] if len(parts) > 1 else ""
    report = await _report_in_scope(ctx, parts[2] if len(parts) > 2 else "")
    if report is None:
        return refused()
    if action == "o":
        return await report_view(ctx, report)
    unit = await unit_name(ctx.session, ctx.user.unit_code) or _("the commune")
    good = report.kind == ReportKind.good_practice.value
    if action not in ACTIONS[report.kind if good else "difficulty"]:
        return await report_view(ctx, report)  # a button of the other kind: show what fits
    if action in ("g", "s"):
        return await good_practice_outcome(ctx, report, action, unit)
    if action in ("t", "p", "c"):
        if not report.status_enum.is_open:
            return await report_view(ctx, report)
        if action == "t":
            await repo.take(ctx.session, report, ctx.user)
            status = ReportStatus.acknowledged
        else:
            status = ReportStatus.in_progress if action == "p" else ReportStatus.closed
            await repo.change_status(ctx.session, report, ctx.user, status)
        await tell_reporters(ctx.session, report, lambda: reporter_message(report, status, unit),
                             kind="report_status", event=f"{report.id}:{status.value}:{report.last_action_at.timestamp():.0f}")
        return [Reply(_("Done: {number} is now \"{status}\".").format(number=report.number,
                                                                   status=status_label(status.value)))] \
            + await report_view(ctx, report)
    questions = {
        "f": _("How was {number} resolved? Type a short note for the reporter (required)."),
        "r": _("Which unit should handle {number}? Type its name or code to transfer it, "
               "or 0 if it is simply not within your authority."),
        "d": _("{number} is the same problem as which report? Type its number, for example BC-000123."),
        "m": _("Type your message to the reporter of {number}."),
    }
    if action in questions:
        if action != "m" and not report.status_enum.is_open:
            return await report_view(ctx, report)
        ctx.start_dialog("rpnote", action, {"rid": report.id})
        no_buttons(ctx)
        return Reply(questions[action].format(number=report.number) + "\n" + _("(/cancel to stop)"))
    return await report_view(ctx, report)


async def note_dialog(ctx: Context):
    """The official's typed answer: resolution note, target unit, original report, or a message."""
    action, rid = ctx.state.step, (ctx.state.data or {}).get("rid")
    report = await _report_in_scope(ctx, str(rid))
    text = ctx.incoming.text.strip()
    if report is None:
        ctx.end_dialog()
        return refused()
    if not text:
        no_buttons(ctx)
        return Reply(_("Please type your answer, or /cancel."))
    unit = await unit_name(ctx.session, ctx.user.unit_code) or _("the commune")
    stamp = f"{report.id}:{utcnow().timestamp():.0f}"
    if action == "f":
        await repo.change_status(ctx.session, report, ctx.user, ReportStatus.fixed, note=text)
        await tell_reporters(ctx.session, report, lambda: reporter_message(report, ReportStatus.fixed, unit, text),
                             kind="report_status", event=f"{stamp}:fixed")
    elif action == "r":
        if fold(text) in SKIP_WORDS:
            await repo.change_status(ctx.session, report, ctx.user, ReportStatus.not_responsible)
            await tell_reporters(ctx.session, report, lambda: reporter_message(
                report, ReportStatus.not_responsible, unit), kind="report_status", event=f"{stamp}:nr")
        else:
            targets = [u for u in await find_units(ctx.session, text) if u.level in (UnitLevel.xa, UnitLevel.tinh)]
            if len(targets) != 1:
                no_buttons(ctx)
                return Reply(_("I could not find the unit \"{text}\". Check the name or use its code.")
                             .format(text=esc(text)))
            target, old = targets[0], report.handling_unit_code
            if target.code == old:
                no_buttons(ctx)
                return Reply(_("The report is already in {unit}. Type another unit, or 0.").format(unit=esc(target.name)))
            await repo.reroute(ctx.session, report, ctx.user, target)
            old_name = await unit_name(ctx.session, old)
            await tell_reporters(ctx.session, report, lambda: Reply(
                _("↪️ Your report <b>{number}</b> has been transferred from {old} to {new}, which will handle it.")
                .format(number=report.number, old=esc(old_name), new=esc(target.name))),
                kind="report_status", event=f"{stamp}:rr")
            await notify_officials_new(ctx.session, report, None)
    elif action == "d":
        number = repo.parse_number(text)
        original = await _report_in_scope(ctx, str(number or ""))
        if original is None or original.id == report.id:
            no_buttons(ctx)
            return Reply(_("I could not find that report in your unit. Type a number like BC-000123, or /cancel."))
        await tell_reporters(ctx.session, report, lambda: reporter_message(
            report, ReportStatus.duplicate, unit, other=original.number), kind="report_status", event=f"{stamp}:dup")
        await repo.mark_duplicate(ctx.session, report, original, ctx.user)
    elif action == "m":
        await repo.add_comment(ctx.session, report, ctx.user, text)
        await tell_reporters(ctx.session, report, lambda: Reply(
            _("💬 Message from {unit} about your report <b>{number}</b>:\n{text}").format(
                unit=esc(unit), number=report.number, text=esc(text))), kind="report_comment",
            event=f"{stamp}:m:{utcnow().timestamp()}")
    ctx.end_dialog()
    done = _("Message sent to the reporter.") if action == "m" else _("Done: {number} is now \"{status}\".").format(
        number=report.number, status=status_label(report.status))
    if action in ("r", "d") and not await repo.in_scope(ctx.session, ctx.user, report):
        return Reply(done, buttons=[[Button(_("⬅️ Report list"), "rl:o:0:0:0:1")]])
    return [Reply(done)] + await report_view(ctx, report)
