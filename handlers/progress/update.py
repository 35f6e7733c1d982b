"""/update: an official of a commune, ward or department types their own unit's figures,
metric by metric, checks them and saves (replacing only their unit's figures of that day)."""

from __future__ import annotations

import json
import re
from datetime import date

from content.campaign import Campaign, find_campaign
from content.numbers import VI, parse_number
from content.progress_import import FigureRow, ParsedFile
from content.text import fold_key
from db.models import AdminUnit
from handlers.i18n import _, format_date, format_percent
from handlers.messages import Button, Reply, esc
from handlers.progress.chat import campaign_today, can_update, errors_reply, no_campaign, today, unit_of
from handlers.registry import Context

DIALOG = "pg_update"
SKIP_WORDS = {"bo qua", "bo", "skip", "-", "khong co", "k"}
_PAIR = re.compile(r"^\s*([^/]+?)\s*/\s*([^/]+?)\s*$")


def parse_pair(text: str) -> tuple[float, float]:
    """ "120/300" (Vietnamese numbers allowed: "1.234/2.000") → (120.0, 300.0); ValueError if not."""
    match = _PAIR.match(text or "")
    if not match:
        raise ValueError(text)
    numerator, denominator = parse_number(match.group(1), VI), parse_number(match.group(2), VI)
    if numerator is None or denominator is None:
        raise ValueError(text)
    return numerator, denominator


def _fmt(number: float) -> str:
    from handlers.i18n import format_number

    return format_number(int(number) if number == int(number) else number)


async def start_update(ctx: Context) -> Reply:
    day = today(ctx)
    campaign = campaign_today(ctx)
    if campaign is None:
        return no_campaign(day)
    unit = await unit_of(ctx)
    if not can_update(unit, campaign):
        return Reply(_("/update is for an official of a commune, ward or department to enter their own "
                       "figures. For the whole province, send the filled-in template (/template)."))
    ctx.start_dialog(DIALOG, "metric", {"campaign": campaign.id, "unit": unit.code, "day": day.isoformat(),
                                        "i": 0, "values": {}})
    return await _prompt_metric(ctx)


def _dialog_campaign(ctx: Context) -> Campaign | None:
    wanted = (ctx.state.data or {}).get("campaign")
    return find_campaign(wanted) if wanted else None


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
        return no_campaign()
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
            unit=esc(unit.name if unit else data["unit"]), day=format_date(date.fromisoformat(data["day"])),
            index=index + 1, total=len(campaign.metrics)),
        f"<b>{esc(metric.name)}</b>",
        _("Type “{numerator} / {denominator}”, e.g. 120/300, or “bỏ qua” to skip.").format(
            numerator=esc(metric.numerator), denominator=esc(metric.denominator)),
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
        unit=esc(unit.name if unit else data["unit"]), day=format_date(date.fromisoformat(data["day"])))]
    for metric in campaign.metrics:
        if metric.id in values:
            numerator, denominator = values[metric.id]
            rate = f" ({format_percent(numerator / denominator)})" if denominator else ""
            lines.append(f"• {esc(metric.name)}: {_fmt(numerator)}/{_fmt(denominator)}{rate}")
        else:
            lines.append(f"• {esc(metric.name)}: " + _("skipped"))
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
        return await _confirm(ctx, campaign) if campaign else no_campaign()
    text = ctx.incoming.text.strip()
    if fold_key(text) in SKIP_WORDS:
        ctx.set_step("metric", i=ctx.state.data["i"] + 1)
        return await _prompt_metric(ctx)
    try:
        numerator, denominator = parse_pair(text)
    except ValueError:
        return await _prompt_metric(ctx, _("⚠️ I could not read “{text}”: type two numbers separated by "
                                           "“/”, e.g. 120/300.").format(text=esc(text[:60])))
    if numerator < 0 or denominator < 0:
        return await _prompt_metric(ctx, _("⚠️ The numbers cannot be negative."))
    if numerator > denominator:
        return await _prompt_metric(ctx, _("⚠️ The first number ({numerator}) cannot be larger than the "
                                           "second ({denominator}).").format(numerator=_fmt(numerator),
                                                                             denominator=_fmt(denominator)))
    campaign = _dialog_campaign(ctx)
    if campaign is None:
        ctx.end_dialog()
        return no_campaign()
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
        return errors_reply("/update", result.errors)
    return Reply(_("✅ Saved {count} figure(s) of <b>{unit}</b> for {day}.").format(
        count=result.figures, unit=esc(unit.name), day=format_date(day)),
        buttons=[[Button(_("📊 See the progress"), "pg:show")]])


async def skip_metric(ctx: Context, index: str) -> Reply:
    if ctx.state.dialog != DIALOG or ctx.state.step != "metric":
        return Reply(_("This button is no longer valid. Here is the main menu."),
                     buttons=ctx.main_menu())
    if index.isdigit() and int(index) == ctx.state.data.get("i"):
        ctx.set_step("metric", i=int(index) + 1)
    return await _prompt_metric(ctx)


