"""Campaign progress in the chat: the summary, the template, importing figures, /update, subscriptions.

Officials only. An official sees their unit and everything below it (the province: everyone).
A province official's file replaces the whole date, like ``python -m bot progress import``;
an official of a commune or department reports only their own unit(s), and only those figures
are replaced.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta
from html import escape

from content.campaign import Campaign, campaign_for, level_name, load_campaigns
from content.dates import parse_day
from content.progress_import import FigureRow, ParsedFile, make_template, parse_figures, parse_number
from content.text import fold_key
from db.models import AdminUnit, Role
from db.units import PROVINCE_CODE
from handlers.i18n import N_, _, format_date
from handlers.messages import Attachment, Button, Reply
from handlers.progress_daily import load_progress, local_today, render_scope
from handlers.registry import Context, Registry

DIALOG = "pg_update"
FIGURE_FILES = (".xlsx", ".xlsm", ".xls", ".csv")
FIGURE_MIME = ("spreadsheet", "excel", "csv")
MAX_ERRORS_SHOWN = 20
SKIP_WORDS = {"bo qua", "bo", "skip", "-", "khong co", "k"}
_PAIR = re.compile(r"^\s*([^/]+?)\s*/\s*([^/]+?)\s*$")


# ---------------------------------------------------------------- helpers


def _unit_code(ctx: Context) -> str:
    return ctx.user.unit_code or PROVINCE_CODE


async def _unit(ctx: Context) -> AdminUnit | None:
    return await ctx.session.get(AdminUnit, _unit_code(ctx))


def _campaign(day: date) -> Campaign | None:
    return campaign_for(day, load_campaigns())


def _is_province(unit: AdminUnit | None) -> bool:
    return unit is None or unit.parent_code is None


def _can_update(unit: AdminUnit | None, campaign: Campaign) -> bool:
    """/update is for one reporting unit (a commune, a ward, a department), not the province."""
    return not _is_province(unit) and level_name(unit.level) in campaign.levels


def _no_campaign() -> Reply:
    return Reply(_("There is no campaign configured yet."))


def parse_pair(text: str) -> tuple[float, float]:
    """ "120/300" (Vietnamese numbers allowed: "1.234/2.000") → (120.0, 300.0); ValueError if not."""
    match = _PAIR.match(text or "")
    if not match:
        raise ValueError(text)
    numerator, denominator = parse_number(match.group(1)), parse_number(match.group(2))
    if numerator is None or denominator is None:
        raise ValueError(text)
    return numerator, denominator


def _fmt(number: float) -> str:
    from handlers.i18n import format_number

    return format_number(int(number) if number == int(number) else number, "vi")


def _progress_buttons(ctx: Context, subscribed: bool, can_update: bool) -> list[list[Button]]:
    rows = [[Button(_("📥 Template"), "pg:template")]]
    if can_update:
        rows[0].append(Button(_("✍️ Enter figures"), "pg:update"))
    rows.append([Button(_("🔕 Stop the daily summary"), "pg:unsub") if subscribed
                 else Button(_("🔔 Get the daily summary"), "pg:sub")])
    rows.append([Button(_("🏠 Main menu"), "menu")])
    return rows


# ---------------------------------------------------------------- /progress


async def show_progress(ctx: Context) -> Reply:
    from db.subscriptions import is_subscribed

    day = local_today(ctx.services)
    data = await load_progress(ctx.session, day)
    if data is None:
        return _no_campaign()
    unit = await _unit(ctx)
    text, chart = await render_scope(ctx.session, data, _unit_code(ctx), day)
    subscribed = await is_subscribed(ctx.session, ctx.user.id)
    return Reply(text, photo=chart,
                 buttons=_progress_buttons(ctx, subscribed, _can_update(unit, data.campaign)))


# ---------------------------------------------------------------- /template


async def send_template(ctx: Context) -> Reply:
    from db.progress import reporting_units

    day = local_today(ctx.services)
    campaign = _campaign(day)
    if campaign is None:
        return _no_campaign()
    units = await reporting_units(ctx.session)
    unit = await _unit(ctx)
    if not _is_province(unit):
        data = await load_progress(ctx.session, day)
        scope = data.scope_codes(unit.code) if data else {unit.code}
        units = [u for u in units if u.code in scope]
    document = await asyncio.to_thread(make_template, campaign, units)
    return Reply(
        _("The template for <b>{campaign}</b>: one row per unit. Fill in the numbers (not percentages) "
          "and send the file back to me. To import it for another day than today, write the date "
          "in the caption, e.g. 25/11/2026.").format(campaign=escape(campaign.name)),
        document=document, filename=f"mau-so-lieu-{campaign.id}.xlsx")


# ---------------------------------------------------------------- importing a file


def _is_figures_file(attachment: Attachment) -> bool:
    if attachment.kind != "document":
        return False
    name = (attachment.filename or "").lower()
    mime = (attachment.mime_type or "").lower()
    return name.endswith(FIGURE_FILES) or any(word in mime for word in FIGURE_MIME)


def _errors_reply(filename: str, errors: list[str]) -> Reply:
    lines = [_("❌ The file <b>{name}</b> was not imported: {count} error(s); no figure was saved.")
             .format(name=escape(filename), count=len(errors))]
    lines += [f"• {escape(message)}" for message in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append("• " + _("and {count} more errors.").format(count=len(errors) - MAX_ERRORS_SHOWN))
    lines += ["", _("Correct the file and send it again. Send /template for the template.")]
    return Reply("\n".join(lines))


async def import_document(ctx: Context, attachment: Attachment) -> Reply:
    from db.progress import import_figures, reporting_units

    today = local_today(ctx.services)
    day = parse_day(ctx.incoming.text, today) or today
    if day > today:
        return Reply(_("The date {day} is in the future. Send the file again with the date of the figures "
                       "in the caption, e.g. {example}.")
                     .format(day=format_date(day), example=format_date(today)))
    campaign = _campaign(day)
    if campaign is None:
        return _no_campaign()
    filename = attachment.filename or "so-lieu"
    units = await reporting_units(ctx.session)
    parsed = await asyncio.to_thread(parse_figures, attachment.data, filename, campaign, units)
    unit = await _unit(ctx)
    if not _is_province(unit):
        data = await load_progress(ctx.session, day)
        scope = (data.scope_codes(unit.code) if data else None) or {unit.code}
        for row in parsed.rows:
            if row.unit_code not in scope:
                parsed.errors.append(
                    f'Dòng {row.row}: đơn vị "{row.unit_name}" không thuộc phạm vi của bạn ({unit.name}); '
                    "chỉ nhập được số liệu của đơn vị mình.")
    # The province's file is the whole picture of that day; a commune's replaces only its units.
    result = await import_figures(ctx.session, campaign, day, parsed, ctx.user.id, filename, attachment.data,
                                  whole_date=_is_province(unit))
    if not result.ok:
        return _errors_reply(filename, result.errors)
    lines = [_("✅ Imported the figures of {day} for <b>{campaign}</b>: {units} unit(s), {figures} figure(s).")
             .format(day=format_date(day), campaign=escape(campaign.name),
                     units=sum(1 for row in parsed.rows if row.values), figures=result.figures)]
    if result.replaced:
        lines.append(_("They replace {count} earlier figure(s) of that day.").format(count=result.replaced))
    if parsed.ignored_columns:
        lines.append(_("Columns ignored: {columns}.").format(columns=escape(", ".join(parsed.ignored_columns))))
    if day == today and not parse_day(ctx.incoming.text, today):
        lines.append(_("For another day, send the file again with the date in the caption, e.g. {example}.")
                     .format(example=format_date(today - timedelta(days=1))))
    return Reply("\n".join(lines), buttons=[[Button(_("📊 See the progress"), "pg:show")]])


async def on_attachment(ctx: Context):
    """Figures files from officials go to the import; None passes anything else on."""
    figures = next((a for a in ctx.incoming.attachments if _is_figures_file(a)), None)
    if figures is not None and ctx.role.at_least(Role.official):
        return await import_document(ctx, figures)
    return None


# ---------------------------------------------------------------- /update


async def start_update(ctx: Context) -> Reply:
    day = local_today(ctx.services)
    campaign = _campaign(day)
    if campaign is None:
        return _no_campaign()
    unit = await _unit(ctx)
    if not _can_update(unit, campaign):
        return Reply(_("/update is for an official of a commune, ward or department to enter their own "
                       "figures. For the whole province, send the filled-in template (/template)."))
    ctx.start_dialog(DIALOG, "metric", {"campaign": campaign.id, "unit": unit.code, "day": day.isoformat(),
                                        "i": 0, "values": {}})
    return await _prompt_metric(ctx)


def _dialog_campaign(ctx: Context) -> Campaign | None:
    wanted = (ctx.state.data or {}).get("campaign")
    return next((c for c in load_campaigns() if c.id == wanted), None)


async def _previous_value(ctx: Context, campaign: Campaign, unit_code: str, metric_id: str):
    from sqlalchemy import select

    from db.progress import ProgressFigure

    row = (await ctx.session.execute(
        select(ProgressFigure.date, ProgressFigure.numerator, ProgressFigure.denominator)
        .where(ProgressFigure.campaign_id == campaign.id, ProgressFigure.unit_code == unit_code,
               ProgressFigure.metric_id == metric_id)
        .order_by(ProgressFigure.date.desc()).limit(1))).first()
    return row


async def _prompt_metric(ctx: Context, problem: str = "") -> Reply:
    campaign = _dialog_campaign(ctx)
    data = ctx.state.data
    if campaign is None:
        ctx.end_dialog()
        return _no_campaign()
    index = data["i"]
    if index >= len(campaign.metrics):
        return await _confirm(ctx, campaign)
    metric = campaign.metrics[index]
    unit = await ctx.session.get(AdminUnit, data["unit"])
    lines = []
    if problem:
        lines += [problem, ""]
    lines += [
        _("✍️ Figures of <b>{unit}</b> for {day} ({index}/{total})").format(
            unit=escape(unit.name if unit else data["unit"]), day=format_date(date.fromisoformat(data["day"])),
            index=index + 1, total=len(campaign.metrics)),
        f"<b>{escape(metric.name)}</b>",
        _("Type “{numerator} / {denominator}”, e.g. 120/300, or “bỏ qua” to skip.").format(
            numerator=escape(metric.numerator), denominator=escape(metric.denominator)),
    ]
    previous = await _previous_value(ctx, campaign, data["unit"], metric.id)
    if previous is not None:
        lines.append(_("Last time ({day}): {numerator}/{denominator}").format(
            day=format_date(previous.date), numerator=_fmt(previous.numerator),
            denominator=_fmt(previous.denominator)))
    return Reply("\n".join(lines), buttons=[[Button(_("⏭ Skip"), f"pg:skip:{index}"),
                                              Button(_("✖️ Cancel"), "pg:cancel")]])


async def _confirm(ctx: Context, campaign: Campaign) -> Reply:
    data = ctx.state.data
    ctx.set_step("confirm")
    values = data.get("values", {})
    unit = await ctx.session.get(AdminUnit, data["unit"])
    lines = [_("Please check the figures of <b>{unit}</b> for {day}:").format(
        unit=escape(unit.name if unit else data["unit"]), day=format_date(date.fromisoformat(data["day"])))]
    for metric in campaign.metrics:
        if metric.id in values:
            numerator, denominator = values[metric.id]
            rate = f" ({numerator / denominator:.1%})".replace(".", ",") if denominator else ""
            lines.append(f"• {escape(metric.name)}: {_fmt(numerator)}/{_fmt(denominator)}{rate}")
        else:
            lines.append(f"• {escape(metric.name)}: " + _("skipped"))
    if not values:
        lines += ["", _("You skipped every figure: there is nothing to save.")]
        return Reply("\n".join(lines), buttons=[[Button(_("✏️ Start again"), "pg:update"),
                                                  Button(_("✖️ Cancel"), "pg:cancel")]])
    return Reply("\n".join(lines), buttons=[[Button(_("✅ Save"), "pg:save")],
                                              [Button(_("✏️ Start again"), "pg:update"),
                                               Button(_("✖️ Cancel"), "pg:cancel")]])


async def update_dialog(ctx: Context):
    """Every message while in the /update dialog."""
    if ctx.incoming.attachments:
        ctx.end_dialog()
        return await ctx.registry.handle_attachment(ctx)
    if ctx.state.step == "confirm":
        campaign = _dialog_campaign(ctx)
        return await _confirm(ctx, campaign) if campaign else _no_campaign()
    text = ctx.incoming.text.strip()
    if fold_key(text) in SKIP_WORDS:
        ctx.set_step("metric", i=ctx.state.data["i"] + 1)
        return await _prompt_metric(ctx)
    try:
        numerator, denominator = parse_pair(text)
    except ValueError:
        return await _prompt_metric(ctx, _("⚠️ I could not read “{text}”: type two numbers separated by "
                                           "“/”, e.g. 120/300.").format(text=escape(text[:60])))
    if numerator < 0 or denominator < 0:
        return await _prompt_metric(ctx, _("⚠️ The numbers cannot be negative."))
    if numerator > denominator:
        return await _prompt_metric(ctx, _("⚠️ The first number ({numerator}) cannot be larger than the "
                                           "second ({denominator}).").format(numerator=_fmt(numerator),
                                                                             denominator=_fmt(denominator)))
    campaign = _dialog_campaign(ctx)
    if campaign is None:
        ctx.end_dialog()
        return _no_campaign()
    data = ctx.state.data
    metric = campaign.metrics[data["i"]]
    ctx.set_step("metric", i=data["i"] + 1, values={**data.get("values", {}), metric.id: [numerator, denominator]})
    return await _prompt_metric(ctx)


async def save_update(ctx: Context) -> Reply:
    from db.progress import import_figures

    campaign = _dialog_campaign(ctx)
    data = ctx.state.data or {}
    if ctx.state.dialog != DIALOG or ctx.state.step != "confirm" or campaign is None or not data.get("values"):
        return Reply(_("This button is no longer valid. Here is the main menu."),
                     buttons=ctx.main_menu())
    unit = await ctx.session.get(AdminUnit, data["unit"])
    day = date.fromisoformat(data["day"])
    values = {key: (float(n), float(d)) for key, (n, d) in data["values"].items()}
    parsed = ParsedFile(rows=[FigureRow(row=1, unit_code=unit.code, unit_name=unit.name, values=values)])
    payload = json.dumps({"unit": unit.code, "day": data["day"], "values": data["values"]}, sort_keys=True).encode()
    ctx.end_dialog()
    result = await import_figures(ctx.session, campaign, day, parsed, ctx.user.id, "/update", payload,
                                  whole_date=False)
    if not result.ok:
        return _errors_reply("/update", result.errors)
    return Reply(_("✅ Saved {count} figure(s) of <b>{unit}</b> for {day}.").format(
        count=result.figures, unit=escape(unit.name), day=format_date(day)),
        buttons=[[Button(_("📊 See the progress"), "pg:show")]])


async def skip_metric(ctx: Context, index: str) -> Reply:
    if ctx.state.dialog != DIALOG or ctx.state.step != "metric":
        return Reply(_("This button is no longer valid. Here is the main menu."),
                     buttons=ctx.main_menu())
    if index.isdigit() and int(index) == ctx.state.data.get("i"):
        ctx.set_step("metric", i=int(index) + 1)
    return await _prompt_metric(ctx)


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


# ---------------------------------------------------------------- registration


def register(registry: Registry) -> None:
    # Every command here is for officials; each handler checks the official's scope itself.
    for names, description, handler in (
            (("progress", "tiendo"), N_("Campaign progress of your unit, with a chart"), show_progress),
            (("template", "mau"), N_("The Excel template for the campaign figures"), send_template),
            (("update", "capnhat"), N_("Type your unit's campaign figures"), start_update),
            (("subscribe", "dangky"), N_("Get the campaign summary every day"), do_subscribe),
            (("unsubscribe", "huydangky"), N_("Stop the daily campaign summary"), do_unsubscribe),
    ):
        registry.command(*names, min_role=Role.official, description=description)(handler)

    @registry.button("pg", min_role=Role.official)
    async def press(ctx: Context):
        action, _sep, arg = ctx.incoming.button.partition(":")[2].partition(":")
        if action == "template":
            return await send_template(ctx)
        if action == "update":
            return await start_update(ctx)
        if action == "skip":
            return await skip_metric(ctx, arg)
        if action == "save":
            return await save_update(ctx)
        if action == "cancel":
            ctx.end_dialog()
            return Reply(_("Cancelled. Nothing was saved."), buttons=ctx.main_menu())
        if action == "sub":
            return await do_subscribe(ctx)
        if action == "unsub":
            return await do_unsubscribe(ctx)
        return await show_progress(ctx)

    registry.dialog(DIALOG)(update_dialog)
    registry.on_attachment(on_attachment)
    registry.add_menu_item(N_("📊 Campaign progress"), "pg:show", min_role=Role.official, order=60)
