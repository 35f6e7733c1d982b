"""The campaign summary in words: one renderer, through the Babel catalogs, for the chat
(/progress), the daily push (the short form under the chart) and the CLI.

An official who chose English reads it in English; the campaign's and units' names are data and
stay as written. Optional lines from other features (difficulty reports, help requests) come
from the providers they add in ``handlers.extensions`` (``add_summary_extra``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date as babel_format_date
from sqlalchemy.ext.asyncio import AsyncSession

from content.campaign import Campaign, campaign_in_view, load_campaigns
from content.progress import STALE_DAYS, TREND_POINTS, Figure, MetricStatus, Summary, build_summary, scope_codes
from content.progress_chart import ChartWords
from db.models import AdminUnit
from db.units import PROVINCE_CODE
from handlers.extensions import SummaryLine, summary_extras
from handlers.i18n import N_, _, babel_locale, current_locale, format_number, format_percent, use_locale
from handlers.messages import esc
from handlers.progress.chart_process import render_chart_apart

log = logging.getLogger(__name__)

MAX_MESSAGE = 4000
CAPTION_LIMIT = 1024  # a photo caption on Telegram
CHART_CACHE = 64  # charts kept in memory (one per scope, day and language; ~50 KB each)
LATE_SHOWN = 8

LEVEL_LABELS = {"tinh": N_("departments (province level)"), "huyen": N_("district level"),
                "xa": N_("communes and wards"), "thon": N_("villages")}
COUNTED = {"hồ sơ": N_("dossiers"), "thủ tục": N_("procedures")}

_charts: OrderedDict[tuple, bytes] = OrderedDict()


# ---------------------------------------------------------------- loading


@dataclass
class ProgressData:
    """Everything a summary needs, loaded once and shared by every scope."""

    campaign: Campaign
    running: bool
    history: list[Figure]
    units: list[AdminUnit]
    version: int = 0  # the latest accepted import: a chart drawn for an older one is stale
    source: str = ""  # the database, so two apps in one process (tests) never share a chart
    stale_days: int = STALE_DAYS  # PROGRESS_STALE_DAYS: a unit silent longer than this is late

    @property
    def by_code(self) -> dict[str, AdminUnit]:
        return {u.code: u for u in self.units}

    def scope_codes(self, unit_code: str | None) -> set[str] | None:
        """The unit and everything below it; None for the whole province."""
        code = unit_code or PROVINCE_CODE
        if code == PROVINCE_CODE:
            return None
        return scope_codes(code, self.by_code)

    def summary(self, unit_code: str | None, day: date) -> Summary:
        scope = self.by_code.get(unit_code or PROVINCE_CODE)
        return build_summary(self.campaign, self.history, date=day, scope_unit=scope, units=self.units,
                             running=self.running, stale_days=self.stale_days)


def stale_days_of(settings) -> int:
    """``PROGRESS_STALE_DAYS`` from the settings (default 7)."""
    return int(getattr(settings, "progress_stale_days", STALE_DAYS))


async def load_progress(session: AsyncSession, day: date, campaign: Campaign | None = None,
                        stale_days: int = STALE_DAYS) -> ProgressData | None:
    """The campaign in view on ``day`` (running, else the latest ended) with its figures and units.

    None when no real campaign has run yet. ``campaign`` names one instead (the CLI's --campaign).
    """
    from sqlalchemy import func, select

    from db.progress import ProgressImport, load_history, reporting_units

    if campaign is None:
        campaign, running = campaign_in_view(day, load_campaigns())
        if campaign is None:
            return None
    else:
        running = campaign.running_on(day)
    version = await session.scalar(select(func.max(ProgressImport.id)).where(
        ProgressImport.campaign_id == campaign.id, ProgressImport.status == "imported")) or 0
    history = await load_history(session, campaign, until=min(day, campaign.end), last_dates=TREND_POINTS + 1)
    return ProgressData(campaign, running, history, await reporting_units(session), version, str(session.bind.url),
                        stale_days)


# ---------------------------------------------------------------- words


def _pct(rate: float | None, digits: int = 1) -> str:
    if rate is None:
        return "–"
    if digits == 1:
        return format_percent(rate, 1)
    from babel.numbers import format_percent as babel_percent

    return babel_percent(rate, "#,##0.#%", locale=babel_locale())


def _target(target: float | None) -> str:
    return _pct(target, 0)


def _count(value: float) -> str:
    return format_number(int(value) if value == int(value) else round(value, 1))


def _points(points: float) -> str:
    from babel.numbers import format_decimal

    return _("{points} points").format(points=format_decimal(abs(points), "#,##0.0", locale=babel_locale()))


def _short_day(day: date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


def day_words(day: date) -> str:
    """"thứ Ba, ngày 25 tháng 6 năm 2024" / "Tuesday, 25 June 2024"."""
    pattern = _("EEEE, d MMMM y")  # a Babel date pattern, translated per language
    text = babel_format_date(day, pattern, locale=babel_locale())
    return text[:1].lower() + text[1:] if current_locale.get() == "vi" else text


def _mark(met: bool | None) -> str:
    return "⚪" if met is None else ("✅" if met else "🔴")


def _change(change: float | None) -> str:
    if change is None:
        return ""
    if abs(change) < 0.05:
        return " " + _("(no change)")
    return f" {'▲' if change > 0 else '▼'}{_points(change)}"


def _forecast(m: MetricStatus, end: date) -> str:
    fc = m.forecast
    if fc.status == "on_track":
        return _("at this pace it reaches the target around {day}").format(day=_short_day(fc.date))
    if fc.status == "late":
        return _("at this pace it will not reach the target before {day}").format(day=_short_day(end))
    if fc.status == "falling":
        return _("falling")
    if fc.status == "flat":
        return _("not rising")
    return ""


def _level(level: str) -> str:
    label = LEVEL_LABELS.get(level)
    return _(label) if label else level


def _head(summary: Summary) -> list[str]:
    c = summary.campaign
    lines = [_("📊 <b>Campaign progress – {scope}</b>").format(scope=esc(summary.scope_name)),
             f"<i>{esc(c.name)}</i>", _("Plan: {plan}").format(plan=esc(c.plan))]
    if c.example:
        lines.append(_("⚠️ EXAMPLE campaign: its targets are invented, not taken from any plan."))
    if not summary.running:
        lines.append(_("No campaign is running now. This is the latest one, which ended on {end}.")
                     .format(end=_short_day(c.end)))
    else:
        lines.append(_("{days} days left (ends {end}).").format(days=summary.days_left, end=_short_day(c.end)))
    return lines


def _metric_lines(m: MetricStatus, end: date) -> list[str]:
    if m.mixed_targets:
        lines = [_("{mark} <b>{name}</b>: {rate} (each level against its own target)").format(
            mark=_mark(None), name=esc(m.name), rate=_pct(m.rate)) + _change(m.change)]
        for lv in m.by_level:
            lines.append("    " + _("{mark} {level}: {rate} / target {target} ({numerator}/{denominator})").format(
                mark=_mark(lv.met), level=_level(lv.level), rate=_pct(lv.rate), target=_target(lv.target),
                numerator=_count(lv.numerator), denominator=_count(lv.denominator)))
        return lines
    head = f"{_mark(m.met)} <b>{esc(m.name)}</b>: {_pct(m.rate)}"
    if m.target is not None:
        head += " / " + _("target {target}").format(target=_target(m.target))
    lines = [head + _change(m.change)]
    if m.denominator:
        counted = COUNTED.get(m.unit)
        details = [f"{_count(m.numerator)}/{_count(m.denominator)} {_(counted) if counted else esc(m.unit)}"]
        if m.met is False:
            details.append(_("{points} short").format(points=_points(m.gap)))
            forecast_text = _forecast(m, end)
            if forecast_text:
                details.append(forecast_text)
        lines.append("    " + " · ".join(details))
    return lines


def _late_lines(summary: Summary, limit: int) -> list[str]:
    if not summary.late:
        return []
    names = ", ".join(_("{unit} (since {day})").format(unit=esc(u.unit_name), day=_short_day(u.last_date))
                      for u in summary.late[:limit])
    more = len(summary.late) - limit
    if more > 0:
        names += ", " + _("and {count} more").format(count=more)
    return [_("⏰ <b>Late</b> (no new figures for more than {days} days, counted with their latest ones): "
              "{units}").format(days=summary.stale_days, units=names)]


def render_summary(summary: Summary, extras: list[SummaryLine] = (), *, short: bool = False,
                   locale: str | None = None) -> str:
    """The summary as Telegram HTML: the full text (≤ 4000 characters) or, ``short``, the caption
    under the daily chart (≤ 1024: one line per metric, the worst units, a pointer to /tiendo)."""
    with use_locale(locale or current_locale.get()):
        return _render_short(summary, extras) if short else _render_full(summary, extras)


def _coverage(summary: Summary) -> str:
    return _("Figures as of {day}: {reported} of {expected} units counted, each with its latest figures.").format(
        day=day_words(summary.as_of), reported=summary.units_reported, expected=summary.units_expected)


def _render_full(summary: Summary, extras) -> str:
    c = summary.campaign
    lines = _head(summary)
    if summary.date is None:
        lines.append(_("No figures have been imported yet."))
    else:
        lines.append(_coverage(summary))
    if summary.districts_gone:
        lines.append(_("This plan has a district level, which no longer exists since 01/07/2025: today's "
                       "communes are judged against the commune target."))
    if summary.date is not None and summary.previous_date is not None:
        lines.append(_("▲▼: change since the figures of {day}.").format(day=_short_day(summary.previous_date)))
    lines.append("")
    for m in summary.metrics:
        lines += _metric_lines(m, c.end)
    worst = summary.most_lagging_metric()
    if worst is not None:
        lines += ["", _("⚠️ <b>Lowest units – {metric}</b>").format(metric=esc(worst.name))]
        for index, u in enumerate(summary.lagging[worst.id], 1):
            lines.append(_("{index}. {unit}: {rate} (target {target}, {points} short)").format(
                index=index, unit=esc(u.unit_name), rate=_pct(u.rate), target=_target(u.target),
                points=_points(u.gap)))
    late = _late_lines(summary, LATE_SHOWN)
    if late:
        lines += [""] + late
    if extras:
        lines += [""] + [line.full for line in extras]
    text = "\n".join(lines)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1].rsplit("\n", 1)[0] + "\n…"
    return text


def _render_short(summary: Summary, extras) -> str:
    full = _render_full(summary, extras)
    if len(full) <= CAPTION_LIMIT:
        return full
    head = [_("📊 <b>Campaign progress – {scope}</b>").format(scope=esc(summary.scope_name)),
            f"<i>{esc(summary.campaign.name)}</i> – {esc(summary.campaign.plan)}"]
    if summary.date is None:
        head.append(_("No figures have been imported yet."))
    else:
        head.append(_("{reported}/{expected} units as of {day}").format(
            reported=summary.units_reported, expected=summary.units_expected, day=_short_day(summary.as_of))
            + " · " + (_("{days} days left").format(days=summary.days_left) if summary.running
                       else _("the campaign has ended")))
    metrics = []
    for m in summary.metrics:
        line = f"{_mark(m.met)} {esc(m.name)}: <b>{_pct(m.rate)}</b>"
        if m.mixed_targets:
            line += " (" + ", ".join(f"{_mark(lv.met)}{_pct(lv.rate)}/{_target(lv.target)}" for lv in m.by_level) + ")"
        elif m.target is not None:
            line += f"/{_target(m.target)}"
        if m.change is not None and abs(m.change) >= 0.05:
            line += f" {'▲' if m.change > 0 else '▼'}{format_number(round(abs(m.change), 1))}"
        metrics.append(line)
    tail = [line.short for line in extras] + [_("Details: send /tiendo")]
    worst = summary.most_lagging_metric()
    lagging = summary.lagging.get(worst.id, []) if worst else []
    for shown in range(len(lagging), -1, -1):
        middle = []
        if shown:
            middle = [_("⚠️ Lowest – {metric}:").format(metric=esc(worst.name))]
            middle += [f"{i}. {esc(u.unit_name)} {_pct(u.rate)}" for i, u in enumerate(lagging[:shown], 1)]
        text = "\n".join(head + metrics + middle + tail)
        if len(text) <= CAPTION_LIMIT:
            return text
    lines = head + metrics + tail
    while len("\n".join(lines)) > CAPTION_LIMIT and len(lines) > 1:
        lines.pop(len(lines) // 2)  # whole lines only: every line closes its own tags
    return "\n".join(lines)


def chart_words() -> ChartWords:
    return ChartWords(title=_("Campaign progress – {scope} – {day}"), no_figures=_("no figures yet"),
                      rates=_("Rate reached (dark blue mark: target)"), lagging=_("Lowest units – {metric}"),
                      locale=str(babel_locale()))


async def render_scope(session: AsyncSession, data: ProgressData, unit_code: str | None, day: date,
                       locale: str | None = None, short: bool = False) -> tuple[str, bytes]:
    """The summary text (Telegram HTML) and the chart PNG for one official's scope, in ``locale``."""
    locale = locale or current_locale.get()
    with use_locale(locale):
        summary = data.summary(unit_code, day)
        extras = await summary_extras(session, data.scope_codes(unit_code), day)
        text = render_summary(summary, extras, short=short)
        key = (data.source, data.campaign.id, unit_code or PROVINCE_CODE, day, data.version, len(data.units),
               locale)
        chart = _charts.get(key)
        if chart is None:  # ~0.15 s of matplotlib in the chart process: once per scope, import and language
            chart = await render_chart_apart(summary, chart_words())
            _charts[key] = chart
            while len(_charts) > CHART_CACHE:
                _charts.popitem(last=False)
        else:
            _charts.move_to_end(key)
    return text, chart
