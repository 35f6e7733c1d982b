"""Campaign progress in the chat: the summary, the template, importing a figures file in two steps
(a preview with Import / Cancel, then the import), and the daily-summary subscription.

Officials only. An official sees their unit and everything below it (the province: everyone).
A province official's file replaces the whole date, like ``python -m bot progress import``; an
official of a commune or department reports only their own unit(s), and only those are replaced.
The file is read by :func:`prepare_figures` before the message's transaction, in a thread and
outside the write lock, so a large file holds up no one else.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date, timedelta

from sqlalchemy import func, select

from content.campaign import Campaign, campaign_for, find_campaign, latest_ended, level_name, load_campaigns
from content.dates import local_today, parse_day
from content.progress_import import FigureRow, ParsedFile, parse_figures
from content.progress_template import make_template
from db.models import AdminUnit, Role, User
from db.units import PROVINCE_CODE
from handlers.i18n import _, format_date
from handlers.messages import Attachment, Button, Incoming, Reply, esc
from handlers.progress.summary import load_progress, render_scope, stale_days_of
from handlers.registry import Context

IMPORT_DIALOG = "pg_import"
FIGURE_FILES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt")
FIGURE_MIME = ("spreadsheet", "excel", "csv")
MAX_ERRORS_SHOWN = 20
MAX_COLUMNS_SHOWN = 20


# ---------------------------------------------------------------- helpers


def today(ctx: Context) -> date:
    return local_today(ctx.services.settings.tz)


def campaign_on(day: date) -> Campaign | None:
    """The real campaign running on ``day`` (figures are imported only into a running campaign)."""
    return campaign_for(day, load_campaigns())


def campaign_today(ctx: Context) -> Campaign | None:
    return campaign_on(today(ctx))


async def unit_of(ctx: Context) -> AdminUnit | None:
    return await ctx.session.get(AdminUnit, ctx.user.unit_code or PROVINCE_CODE)


def is_province(unit: AdminUnit | None) -> bool:
    return unit is None or unit.parent_code is None


def can_update(unit: AdminUnit | None, campaign: Campaign) -> bool:
    """/update is for one reporting unit (a commune, a ward, a department), not the province."""
    return not is_province(unit) and level_name(unit.level) in campaign.levels


def no_campaign(day: date | None = None) -> Reply:
    """No real campaign runs on ``day``: say so plainly, naming the latest one that ended."""
    ended = latest_ended(day, load_campaigns()) if day else None
    text = _("No campaign is running on {day}.").format(day=format_date(day)) if day else \
        _("No campaign is running now.")
    if ended is not None:
        text += " " + _("The latest one, {campaign}, ended on {end}; /progress shows its final figures.").format(
            campaign=f"<b>{esc(ended.name)}</b>", end=format_date(ended.end))
    text += " " + _("A province official starts a new campaign with “python -m bot campaign new”.")
    return Reply(text)


def shortened(items: list[str], limit: int, more: str = "") -> list[str]:
    """The first ``limit`` items and, if there are more, one line saying how many were left out."""
    shown = items[:limit]
    if len(items) > limit:
        shown.append((more or _("and {count} more.")).format(count=len(items) - limit))
    return shown


def errors_reply(filename: str, errors: list[str]) -> Reply:
    """A refused file: the first 20 problems and how many more (never hundreds of messages)."""
    lines = [_("❌ The file <b>{name}</b> was not imported: {count} error(s); no figure was saved.")
             .format(name=esc(filename), count=len(errors))]
    lines += [f"• {esc(message)}" for message in shortened(errors, MAX_ERRORS_SHOWN, _("and {count} more errors."))]
    lines += ["", _("Correct the file and send it again. Send /template for the template.")]
    return Reply("\n".join(lines))


def _progress_buttons(subscribed: bool, can_enter: bool) -> list[list[Button]]:
    rows = [[Button(_("📥 Template"), "pg:template")]]
    if can_enter:
        rows[0].append(Button(_("✍️ Enter figures"), "pg:update"))
    rows.append([Button(_("🔕 Stop the daily summary"), "pg:unsub") if subscribed
                 else Button(_("🔔 Get the daily summary"), "pg:sub")])
    rows.append([Button(_("🏠 Main menu"), "menu")])
    return rows


# ---------------------------------------------------------------- /progress


async def show_progress(ctx: Context) -> Reply:
    from db.subscriptions import is_subscribed

    day = today(ctx)
    data = await load_progress(ctx.session, day, stale_days=stale_days_of(ctx.services.settings))
    if data is None:
        return no_campaign(day)
    unit = await unit_of(ctx)
    text, chart = await render_scope(ctx.session, data, ctx.user.unit_code or PROVINCE_CODE, day)
    subscribed = await is_subscribed(ctx.session, ctx.user.id)
    return Reply(text, photo=chart,
                 buttons=_progress_buttons(subscribed, data.running and can_update(unit, data.campaign)))


# ---------------------------------------------------------------- /template


async def send_template(ctx: Context) -> Reply:
    from db.progress import reporting_units

    day = today(ctx)
    campaign = campaign_on(day)
    if campaign is None:
        return no_campaign(day)
    units = await reporting_units(ctx.session)
    unit = await unit_of(ctx)
    if not is_province(unit):
        data = await load_progress(ctx.session, day)
        scope = data.scope_codes(unit.code) if data else {unit.code}
        units = [u for u in units if u.code in scope]
    document = await asyncio.to_thread(make_template, campaign, units)
    return Reply(
        _("The template for <b>{campaign}</b>: one row per unit. Fill in the numbers (not percentages) "
          "and send the file back to me. To import it for another day than today, write the date "
          "in the caption, e.g. 25/11/2026.").format(campaign=esc(campaign.name)),
        document=document, filename=f"mau-so-lieu-{campaign.id}.xlsx")


# ---------------------------------------------------------------- importing a file


def is_figures_file(attachment: Attachment) -> bool:
    if attachment.kind != "document":
        return False
    name = (attachment.filename or "").lower()
    mime = (attachment.mime_type or "").lower()
    return name.endswith(FIGURE_FILES) or any(word in mime for word in FIGURE_MIME)


def _import_day(incoming: Incoming, tz) -> tuple[date, date]:
    now = local_today(tz)
    return parse_day(incoming.text, now) or now, now


async def prepare_figures(services, sessions, incoming: Incoming) -> None:
    """Read an official's figures file before the message's transaction (a Registry preparer).

    Only reads: the user's role and the units, then the file in a thread; the result waits in
    ``incoming.prepared["progress"]`` for :func:`import_document`.
    """
    from db.progress import reporting_units

    attachment = next((a for a in incoming.attachments if is_figures_file(a)), None)
    if attachment is None:
        return
    day, now = _import_day(incoming, services.settings.tz)
    campaign = campaign_on(day)
    if campaign is None or day > now:
        return  # the handler says why
    async with sessions() as session:
        role = await session.scalar(select(User.role).where(User.platform == incoming.platform,
                                                            User.platform_user_id == incoming.user_id))
        if role is None or not role.at_least(Role.official):
            return
        units = await reporting_units(session)
    parsed = await asyncio.to_thread(parse_figures, attachment.data, attachment.filename or "so-lieu", campaign,
                                     units)
    incoming.prepared["progress"] = (campaign.id, day, id(attachment), parsed)


async def import_document(ctx: Context, attachment: Attachment) -> Reply:
    """Step 1: check the file and show what was read, with Import / Cancel; nothing is saved yet."""
    from db.progress import ProgressFigure, record_rejected, reporting_units

    day, now = _import_day(ctx.incoming, ctx.services.settings.tz)
    if day > now:
        return Reply(_("The date {day} is in the future. Send the file again with the date of the figures "
                       "in the caption, e.g. {example}.")
                     .format(day=format_date(day), example=format_date(now)))
    campaign = campaign_on(day)
    if campaign is None:
        return no_campaign(day)
    filename = attachment.filename or "so-lieu"
    prepared = ctx.incoming.prepared.get("progress")
    if prepared is not None and prepared[:3] == (campaign.id, day, id(attachment)):
        parsed = prepared[3]
    else:  # not read beforehand (no preparer ran): read it now, in a thread
        units = await reporting_units(ctx.session)
        parsed = await asyncio.to_thread(parse_figures, attachment.data, filename, campaign, units)
    unit = await unit_of(ctx)
    whole_date = is_province(unit)
    if not whole_date:
        data = await load_progress(ctx.session, day)
        scope = (data.scope_codes(unit.code) if data else None) or {unit.code}
        for row in parsed.rows:
            if row.unit_code not in scope:
                parsed.errors.append(
                    f'Dòng {row.row}: đơn vị "{row.unit_name}" không thuộc phạm vi của bạn ({unit.name}); '
                    "chỉ nhập được số liệu của đơn vị mình.")
    digest = hashlib.sha256(attachment.data).hexdigest()
    if parsed.errors or not any(row.values for row in parsed.rows):
        errors = parsed.errors or [_("The file has no figures (every figure cell is empty): nothing was replaced.")]
        await record_rejected(ctx.session, campaign, day, ctx.user.id, filename, digest, len(parsed.rows))
        return errors_reply(filename, errors)

    rows = [row for row in parsed.rows if row.values]
    where = [ProgressFigure.campaign_id == campaign.id, ProgressFigure.date == day]
    if not whole_date:
        where.append(ProgressFigure.unit_code.in_({row.unit_code for row in rows}))
    replaced = await ctx.session.scalar(select(func.count()).select_from(ProgressFigure).where(*where)) or 0
    metrics = {metric for row in rows for metric in row.values}
    lines = [_("📄 <b>{name}</b>: read {units} unit(s), {metrics} metric(s), figures of {day} for <b>{campaign}</b>.")
             .format(name=esc(filename), units=len(rows), metrics=len(metrics), day=format_date(day),
                     campaign=esc(campaign.name))]
    if parsed.skipped:
        lines.append(_("{count} row(s) skipped:").format(count=len(parsed.skipped)))
        lines += [f"• {esc(reason)}" for reason in shortened(parsed.skipped, MAX_ERRORS_SHOWN)]
    if parsed.ignored_columns:
        lines.append(_("Columns ignored: {columns}.").format(
            columns=esc(", ".join(shortened(parsed.ignored_columns, MAX_COLUMNS_SHOWN)))))
    if replaced:
        lines.append(_("Importing replaces {count} figure(s) already stored for that day.").format(count=replaced))
    if day == now and not parse_day(ctx.incoming.text, now):
        lines.append(_("For another day, send the file again with the date in the caption, e.g. {example}.")
                     .format(example=format_date(now - timedelta(days=1))))
    lines.append(_("Import these figures?"))
    ctx.start_dialog(IMPORT_DIALOG, "preview", {
        "campaign": campaign.id, "day": day.isoformat(), "whole_date": whole_date, "filename": filename[:255],
        "sha256": digest,
        "rows": [[row.row, row.unit_code, row.unit_name, {k: list(v) for k, v in row.values.items()}] for row in rows],
    })
    return Reply("\n".join(lines), buttons=[[Button(_("✅ Import"), "pg:import"), Button(_("✖️ Cancel"), "pg:cancel")]])


async def confirm_import(ctx: Context) -> Reply:
    """Step 2: the official pressed Import: store the previewed figures."""
    from db.progress import import_figures

    data = ctx.state.data or {}
    campaign = find_campaign(data.get("campaign", "")) if ctx.state.dialog == IMPORT_DIALOG else None
    if campaign is None or ctx.state.step != "preview":
        return Reply(_("This button is no longer valid. Here is the main menu."), buttons=ctx.main_menu())
    day = date.fromisoformat(data["day"])
    rows = [FigureRow(row, code, name, {k: (float(n), float(d)) for k, (n, d) in values.items()})
            for row, code, name, values in data["rows"]]
    ctx.end_dialog()
    result = await import_figures(ctx.session, campaign, day, ParsedFile(rows=rows), ctx.user.id, data["filename"],
                                  b"", whole_date=data["whole_date"], sha256=data["sha256"])
    if not result.ok:
        return errors_reply(data["filename"], result.errors)
    lines = [_("✅ Imported the figures of {day} for <b>{campaign}</b>: {units} unit(s), {figures} figure(s).")
             .format(day=format_date(day), campaign=esc(campaign.name), units=len(rows), figures=result.figures)]
    if result.replaced:
        lines.append(_("They replace {count} earlier figure(s) of that day.").format(count=result.replaced))
    return Reply("\n".join(lines), buttons=[[Button(_("📊 See the progress"), "pg:show")]])


async def import_dialog(ctx: Context):
    """A message while a preview waits: a new file starts over; anything else asks for a button."""
    if ctx.incoming.attachments:
        ctx.end_dialog()
        return await ctx.registry.handle_attachment(ctx)
    return Reply(_("Press “Import” to store the figures of {name}, or “Cancel”.").format(
        name=esc((ctx.state.data or {}).get("filename", ""))),
        buttons=[[Button(_("✅ Import"), "pg:import"), Button(_("✖️ Cancel"), "pg:cancel")]])


async def on_attachment(ctx: Context):
    """Figures files from officials go to the import; None passes anything else on."""
    figures = next((a for a in ctx.incoming.attachments if is_figures_file(a)), None)
    if figures is not None and ctx.role.at_least(Role.official):
        return await import_document(ctx, figures)
    return None


# ---------------------------------------------------------------- subscriptions


def _summary_time(ctx: Context) -> str:
    return ctx.services.settings.daily_summary_time.strftime("%H:%M")


async def do_subscribe(ctx: Context) -> Reply:
    from db.subscriptions import subscribe

    if await subscribe(ctx.session, ctx.user.id):
        text = _("🔔 You will get the campaign summary every day at {time}. Send /unsubscribe to stop.")
    else:
        text = _("You already get the campaign summary every day at {time}. Send /unsubscribe to stop.")
    return Reply(text.format(time=_summary_time(ctx)))


async def do_unsubscribe(ctx: Context) -> Reply:
    from db.subscriptions import unsubscribe

    if await unsubscribe(ctx.session, ctx.user.id):
        return Reply(_("🔕 You will no longer get the daily campaign summary. Send /subscribe to get it again."))
    return Reply(_("You do not get the daily campaign summary. Send /subscribe to get it."))
