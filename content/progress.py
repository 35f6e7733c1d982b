"""Campaign progress arithmetic and its rendering (pure: figures in, summary/text/PNG out).

Roll-ups are always Σ numerators / Σ denominators over the units that reported, never an
average of percentages: a small commune with 3 dossiers must not weigh like a city ward.
"""

from __future__ import annotations

import html
import io
import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import timedelta
from typing import NamedTuple

from content.campaign import Campaign, Metric, level_name

TREND_POINTS = 14  # import dates used for the linear trend
LAGGING_LIMIT = 5
LEVEL_LABELS = {"tinh": "cấp tỉnh", "huyen": "cấp huyện", "xa": "cấp xã", "thon": "thôn, tổ dân phố"}
MAX_MESSAGE = 4000


class Figure(NamedTuple):
    date: Date
    unit_code: str
    metric_id: str
    numerator: float
    denominator: float


@dataclass
class Forecast:
    """When the target will be reached at the current pace.

    ``status``: "met" (already), "on_track" (by ``date``, before the end), "late" (``date`` is
    after the campaign ends), "falling", "flat", "no_target" or "unknown" (too few dates).
    """

    status: str
    date: Date | None = None
    per_day: float | None = None  # trend, in percentage points per day


@dataclass
class MetricStatus:
    id: str
    name: str
    unit: str
    numerator: float
    denominator: float
    rate: float | None  # fraction 0..1; None when the denominator is 0
    target: float | None
    met: bool | None
    gap: float | None  # percentage points still missing (target − rate); negative when above
    change: float | None  # percentage points since the previous import date
    forecast: Forecast
    units_reported: int = 0


@dataclass
class LaggingUnit:
    metric: str
    unit_code: str
    unit_name: str
    level: str | None
    rate: float
    target: float
    gap: float  # percentage points below the target


@dataclass
class Summary:
    campaign: Campaign
    date: Date | None  # the import date the figures come from (None: no figures yet)
    as_of: Date  # the day the summary is for; days_left counts from it
    previous_date: Date | None
    days_left: int
    scope_code: str | None
    scope_name: str
    scope_level: str
    metrics: list[MetricStatus]
    levels: dict[str, list[MetricStatus]] = field(default_factory=dict)
    lagging: dict[str, list[LaggingUnit]] = field(default_factory=dict)
    units_reported: int = 0

    def most_lagging_metric(self) -> MetricStatus | None:
        """The metric furthest below its target that has lagging units to show."""
        candidates = [m for m in self.metrics if m.gap is not None and m.gap > 0 and self.lagging.get(m.id)]
        if not candidates:
            candidates = [m for m in self.metrics if self.lagging.get(m.id)]
        return max(candidates, key=lambda m: m.gap or 0, default=None)


# ---------------------------------------------------------------- computing


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _points(value: float | None) -> float | None:
    return None if value is None else value * 100


def _met(rate: float | None, target: float | None) -> bool | None:
    if rate is None or target is None:
        return None
    return rate >= target - 1e-9


def forecast(series: list[tuple[Date, float]], target: float | None, end: Date) -> Forecast:
    """Fit a line through (date, rate) and say when it crosses ``target``."""
    if target is None:
        return Forecast("no_target")
    if not series:
        return Forecast("unknown")
    last_day, last_rate = series[-1]
    if last_rate >= target - 1e-9:
        return Forecast("met")
    if len(series) < 2:
        return Forecast("unknown")
    first = series[0][0]
    xs = [(d - first).days for d, _ in series]
    ys = [r for _, r in series]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return Forecast("unknown")
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    per_day = slope * 100
    if slope < -1e-9:
        return Forecast("falling", per_day=per_day)
    if slope <= 1e-9:
        return Forecast("flat", per_day=per_day)
    eta = last_day + timedelta(days=math.ceil((target - last_rate) / slope))
    return Forecast("on_track" if eta <= end else "late", date=eta, per_day=per_day)


def scope_codes(code: str, units_by_code: dict) -> set[str]:
    """The codes of ``code`` and every unit below it."""
    children: dict[str, list[str]] = defaultdict(list)
    for unit in units_by_code.values():
        parent = getattr(unit, "parent_code", None)
        if parent is not None:
            children[str(parent)].append(str(unit.code))
    found, stack = set(), [code]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def build_summary(
    campaign: Campaign,
    history: Iterable[Figure],
    date: Date | None = None,
    scope_unit=None,
    units: Iterable = (),
) -> Summary:
    """Summarise ``history`` on ``date`` (default: the latest import) for ``scope_unit``.

    ``scope_unit`` is a unit or a unit code; None (or the province) means the whole province,
    i.e. every unit that reported. ``units`` (code, name, level, parent_code) give names,
    levels (for each level's target) and the tree below a commune.
    """
    history = history if isinstance(history, list) else list(history)
    units_by_code = {str(u.code): u for u in units}
    level_of = {code: level_name(u.level) for code, u in units_by_code.items()}

    scope_code = None if scope_unit is None else str(getattr(scope_unit, "code", scope_unit))
    scope = units_by_code.get(scope_code) if scope_code else None
    if scope is not None and getattr(scope, "parent_code", None) is None:
        scope_code = None  # the province itself: everyone
    in_scope = scope_codes(scope_code, units_by_code) if scope_code else None
    if scope_code:
        scope_level = level_of.get(scope_code, "xa")
        scope_name = scope.name if scope is not None else scope_code
    else:
        scope_level = "tinh"
        scope_name = scope.name if scope is not None else "Toàn tỉnh"

    all_dates = sorted({f.date for f in history if date is None or f.date <= date})
    as_of = date or (all_dates[-1] if all_dates else campaign.start)
    days_left = max(0, (campaign.end - as_of).days)
    if not all_dates:
        empty = [
            MetricStatus(m.id, m.name, m.unit, 0, 0, None, m.target_for(scope_level), None, None, None,
                         Forecast("unknown"))
            for m in campaign.metrics
        ]
        return Summary(campaign, None, as_of, None, days_left, scope_code, scope_name, scope_level, empty)

    data_date = all_dates[-1]
    previous_date = all_dates[-2] if len(all_dates) > 1 else None
    trend_dates = set(all_dates[-TREND_POINTS:])

    totals: dict[tuple[Date, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    latest: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)  # metric -> unit -> figures
    for f in history:
        if f.date not in trend_dates:
            continue
        if in_scope is not None and f.unit_code not in in_scope:
            continue
        acc = totals[(f.date, f.metric_id)]
        acc[0] += f.numerator
        acc[1] += f.denominator
        if f.date == data_date:
            latest[f.metric_id][f.unit_code] = (f.numerator, f.denominator)

    def status(metric: Metric, level: str, num: float, den: float, count: int, with_trend: bool) -> MetricStatus:
        rate = _rate(num, den)
        target = metric.target_for(level)
        gap = None if rate is None or target is None else (target - rate) * 100
        change = None
        fc = Forecast("unknown")
        if with_trend:
            if previous_date is not None:
                prev = totals.get((previous_date, metric.id))
                prev_rate = _rate(*prev) if prev else None
                if rate is not None and prev_rate is not None:
                    change = (rate - prev_rate) * 100
            series = []
            for d in sorted(trend_dates):
                acc = totals.get((d, metric.id))
                r = _rate(*acc) if acc else None
                if r is not None:
                    series.append((d, r))
            fc = forecast(series, target, campaign.end)
        return MetricStatus(metric.id, metric.name, metric.unit, num, den, rate, target, _met(rate, target),
                            gap, change, fc, count)

    metrics = []
    levels: dict[str, list[MetricStatus]] = {}
    lagging: dict[str, list[LaggingUnit]] = {}
    reported: set[str] = set()
    for metric in campaign.metrics:
        acc = totals.get((data_date, metric.id), [0.0, 0.0])
        by_unit = latest.get(metric.id, {})
        reported.update(by_unit)
        metrics.append(status(metric, scope_level, acc[0], acc[1], len(by_unit), True))

        per_level: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        behind = []
        for code, (num, den) in by_unit.items():
            level = level_of.get(code)
            if level is not None:
                slot = per_level[level]
                slot[0] += num
                slot[1] += den
                slot[2] += 1
            if code == scope_code:
                continue
            rate, target = _rate(num, den), metric.target_for(level) if level else None
            if rate is not None and target is not None and rate < target - 1e-9:
                unit = units_by_code.get(code)
                behind.append(LaggingUnit(metric.id, code, unit.name if unit else code, level, rate, target,
                                          (target - rate) * 100))
        for level in campaign.levels:
            if level in per_level:
                num, den, count = per_level[level]
                levels.setdefault(level, []).append(status(metric, level, num, den, count, False))
        behind.sort(key=lambda u: (-u.gap, u.unit_name))
        lagging[metric.id] = behind[:LAGGING_LIMIT]

    return Summary(campaign, data_date, as_of, previous_date, days_left, scope_code, scope_name, scope_level,
                   metrics, levels, lagging, len(reported))


# ---------------------------------------------------------------- JSON


def _r4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _metric_json(m: MetricStatus) -> dict:
    return {
        "id": m.id, "name": m.name, "numerator": _number(m.numerator), "denominator": _number(m.denominator),
        "rate": _r4(m.rate), "target": _r4(m.target), "met": m.met, "gap": _r2(m.gap), "change": _r2(m.change),
        "forecast": {"status": m.forecast.status, "date": m.forecast.date.isoformat() if m.forecast.date else None,
                     "per_day": _r4(m.forecast.per_day)},
        "units_reported": m.units_reported,
    }


def summary_to_json(summary: Summary) -> dict:
    """A JSON-ready dict. Rates and targets are fractions (0.632); gap, change and the
    forecast's per_day are percentage points (6.8 = 6,8 điểm; gap > 0 means below target)."""
    return {
        "date": summary.date.isoformat() if summary.date else None,
        "as_of": summary.as_of.isoformat(),
        "previous_date": summary.previous_date.isoformat() if summary.previous_date else None,
        "campaign": {"id": summary.campaign.id, "name": summary.campaign.name, "plan": summary.campaign.plan,
                     "start": summary.campaign.start.isoformat(), "end": summary.campaign.end.isoformat()},
        "days_left": summary.days_left,
        "scope": {"code": summary.scope_code, "name": summary.scope_name, "level": summary.scope_level},
        "units_reported": summary.units_reported,
        "metrics": [_metric_json(m) for m in summary.metrics],
        "levels": {level: [_metric_json(m) for m in items] for level, items in summary.levels.items()},
        "lagging": [
            {"metric": u.metric, "unit_code": u.unit_code, "unit_name": u.unit_name, "rate": _r4(u.rate),
             "target": _r4(u.target), "gap": _r2(u.gap)}
            for items in summary.lagging.values() for u in items
        ],
    }


# ---------------------------------------------------------------- text


def _babel_locale(locale: str) -> str:
    return "vi_VN" if locale.lower().startswith("vi") else "en_US"


def format_rate(rate: float | None, locale: str = "vi") -> str:
    from babel.numbers import format_percent

    if rate is None:
        return "–"
    return format_percent(rate, "#,##0.0%", locale=_babel_locale(locale))


def format_target(target: float | None, locale: str = "vi") -> str:
    from babel.numbers import format_percent

    return "–" if target is None else format_percent(target, "#,##0.#%", locale=_babel_locale(locale))


def format_count(value: float, locale: str = "vi") -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, "#,##0.#", locale=_babel_locale(locale))


def format_points(points: float, locale: str = "vi") -> str:
    from babel.numbers import format_decimal

    return format_decimal(abs(points), "#,##0.0", locale=_babel_locale(locale)) + " điểm"


def format_day_words(day: Date, locale: str = "vi") -> str:
    """"thứ Ba, ngày 25 tháng 6 năm 2024"."""
    from babel.dates import format_date

    text = format_date(day, "EEEE, 'ngày' d 'tháng' M 'năm' y", locale=_babel_locale(locale))
    return text[:1].lower() + text[1:]


def format_day_short(day: Date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


def _change_text(change: float | None, locale: str) -> str:
    if change is None:
        return ""
    if abs(change) < 0.05:
        return " (không đổi)"
    return f" {'▲' if change > 0 else '▼'}{format_points(change, locale)}"


def _forecast_text(m: MetricStatus, end: Date) -> str:
    fc = m.forecast
    if fc.status == "on_track":
        return f"theo đà hiện nay sẽ đạt khoảng ngày {format_day_short(fc.date)}"
    if fc.status == "late":
        return f"theo đà hiện nay sẽ không đạt trước {format_day_short(end)}"
    if fc.status == "falling":
        return "đang giảm"
    if fc.status == "flat":
        return "chưa tăng"
    return ""


def render_daily_summary(summary: Summary, reports_counts: dict | None = None, locale: str = "vi") -> str:
    """The daily summary as Telegram HTML (names escaped, at most 4000 characters)."""
    e = html.escape
    c = summary.campaign
    lines = [f"📊 <b>Tiến độ DVCTT – {e(summary.scope_name)}</b>", f"<i>{e(c.name)}</i>"]
    if summary.date is None:
        lines.append("Chưa có số liệu nào được nhập.")
    else:
        lines.append(f"Số liệu {format_day_words(summary.date, locale)}")
    if summary.days_left > 0:
        lines.append(f"Còn {summary.days_left} ngày (kết thúc {format_day_short(c.end)}).")
    else:
        lines.append(f"Chiến dịch đã kết thúc ngày {format_day_short(c.end)}.")
    if summary.date is not None and summary.previous_date is not None:
        lines.append(f"▲▼: thay đổi so với số liệu ngày {format_day_short(summary.previous_date)}.")
    lines.append("")

    for m in summary.metrics:
        mark = "⚪" if m.met is None else ("✅" if m.met else "🔴")
        head = f"{mark} <b>{e(m.name)}</b>: {format_rate(m.rate, locale)}"
        if m.target is not None:
            head += f" / mục tiêu {format_target(m.target, locale)}"
        lines.append(head + _change_text(m.change, locale))
        if m.denominator:
            details = [f"{format_count(m.numerator, locale)}/{format_count(m.denominator, locale)} {e(m.unit)}"]
            if m.met is False:
                details.append(f"còn thiếu {format_points(m.gap, locale)}")
            forecast_text = _forecast_text(m, c.end)
            if forecast_text and m.met is False:
                details.append(forecast_text)
            lines.append("    " + " · ".join(details))

    worst = summary.most_lagging_metric()
    if worst is not None:
        lines += ["", f"⚠️ <b>Đơn vị thấp nhất – {e(worst.name)}</b>"]
        for index, u in enumerate(summary.lagging[worst.id], 1):
            lines.append(
                f"{index}. {e(u.unit_name)}: {format_rate(u.rate, locale)} "
                f"(mục tiêu {format_target(u.target, locale)}, thiếu {format_points(u.gap, locale)})"
            )

    if reports_counts is not None:
        lines += [
            "",
            f"📝 <b>Phản ánh khó khăn</b>: {reports_counts.get('new', 0)} mới · "
            f"{reports_counts.get('open', 0)} đang xử lý · {reports_counts.get('overdue', 0)} quá hạn",
        ]
    text = "\n".join(lines)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1].rsplit("\n", 1)[0] + "\n…"
    return text


# ---------------------------------------------------------------- chart


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def render_chart(summary: Summary) -> bytes:
    """A PNG: one bar per metric against its target, then the lagging units of the worst metric."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    worst = summary.most_lagging_metric()
    lagging = summary.lagging.get(worst.id, []) if worst else []
    panels = 2 if lagging else 1
    fig = MplFigure(figsize=(8, 3.2 + 0.55 * len(summary.metrics) + (0.45 * len(lagging) + 1.2 if lagging else 0)),
                    dpi=90)
    FigureCanvasAgg(fig)
    heights = [len(summary.metrics) + 1] + ([len(lagging) + 1] if lagging else [])
    axes = fig.subplots(panels, 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    when = format_day_short(summary.date) if summary.date else "chưa có số liệu"
    fig.suptitle(f"Tiến độ DVCTT – {summary.scope_name} – {when}", fontsize=12, fontweight="bold")

    def bars(ax, labels, rates, targets, title):
        ys = list(range(len(labels)))[::-1]
        values = [(r or 0) * 100 for r in rates]
        colors = ["#2e7d32" if t is not None and r is not None and r >= t - 1e-9 else "#e65100"
                  for r, t in zip(rates, targets)]
        ax.barh(ys, values, color=colors, height=0.6)
        for y, value, rate, target in zip(ys, values, rates, targets):
            ax.text(min(value, 100) + 1, y, format_rate(rate), va="center", fontsize=9)
            if target is not None:
                ax.plot([target * 100] * 2, [y - 0.4, y + 0.4], color="#1a237e", linewidth=2.5)
        ax.set_yticks(ys, labels, fontsize=9)
        ax.set_xlim(0, 112)
        ax.set_xticks([0, 20, 40, 60, 80, 100], ["0%", "20%", "40%", "60%", "80%", "100%"], fontsize=8)
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)

    bars(axes[0], [_wrap(m.name, 34) for m in summary.metrics], [m.rate for m in summary.metrics],
         [m.target for m in summary.metrics], "Tỷ lệ đạt được (vạch xanh đậm: mục tiêu)")
    if lagging:
        bars(axes[1], [u.unit_name for u in lagging], [u.rate for u in lagging], [u.target for u in lagging],
             _wrap(f"Đơn vị thấp nhất – {worst.name}", 70))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()
