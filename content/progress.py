"""Campaign progress arithmetic (pure: figures in, a summary and its JSON out).

Roll-ups are always Σ numerators / Σ denominators, never an average of percentages: a small
commune with 3 dossiers must not weigh like a city ward. They are **as of** a day: a unit's
figures hold until it reports again, so the figure of a scope on day D sums each unit's latest
figures on or before D. One unit reporting never moves the province by itself, and a unit that
has not reported for ``STALE_DAYS`` is counted with its latest figures and listed as late.

Targets are per level: each unit is judged against its own level's target. A scope whose units
are of levels with different targets (the province: departments and communes) gets one line per
level and no single met/not-met.

The words of the summary are not here: ``handlers/progress/summary.py`` renders it through the
Babel catalogs. The chart is in ``content/progress_chart.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import timedelta
from typing import NamedTuple

from content.campaign import Campaign, Metric, level_name

TREND_POINTS = 14  # import dates used for the linear trend
LAGGING_LIMIT = 5
STALE_DAYS = 7  # a unit whose latest figures are older than this is listed as late
DISTRICTS_ENDED = Date(2025, 7, 1)  # two-level local government: no district level from this day


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
class LevelStatus:
    """One level's share of a scope that mixes levels, judged against that level's target."""

    level: str
    numerator: float
    denominator: float
    rate: float | None
    target: float | None
    met: bool | None
    units: int


@dataclass
class MetricStatus:
    id: str
    name: str
    unit: str
    numerator: float
    denominator: float
    rate: float | None  # fraction 0..1; None when the denominator is 0
    target: float | None  # None when the scope mixes levels with different targets
    met: bool | None
    gap: float | None  # percentage points still missing (target − rate); negative when above
    change: float | None  # percentage points since the previous import date (as-of both days)
    forecast: Forecast
    units_reported: int = 0
    targets: dict[str, float] = field(default_factory=dict)  # the campaign's target per level
    by_level: list[LevelStatus] = field(default_factory=list)  # only when the scope mixes levels

    @property
    def mixed_targets(self) -> bool:
        """The scope mixes levels whose targets differ: no single target, judged per level."""
        return len({lv.target for lv in self.by_level}) > 1


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
class LateUnit:
    unit_code: str
    unit_name: str
    last_date: Date  # its latest figures, older than STALE_DAYS before the summary's day


@dataclass
class Summary:
    campaign: Campaign
    date: Date | None  # the latest import date in scope, on or before as_of (None: no figures yet)
    as_of: Date  # the day the summary is for; days_left counts from it
    previous_date: Date | None
    days_left: int
    scope_code: str | None
    scope_name: str
    scope_level: str
    metrics: list[MetricStatus]
    lagging: dict[str, list[LaggingUnit]] = field(default_factory=dict)
    units_reported: int = 0  # units counted (each with its latest figures on or before as_of)
    units_expected: int = 0  # units that report for this campaign in scope
    late: list[LateUnit] = field(default_factory=list)
    running: bool = True  # False: the campaign has ended (or not started) on as_of
    districts_gone: bool = False  # the campaign has a district level, which no longer exists
    stale_days: int = STALE_DAYS  # units whose latest figures are older than this are late

    def most_lagging_metric(self) -> MetricStatus | None:
        """The metric furthest below its target that has lagging units to show."""
        candidates = [m for m in self.metrics if m.gap is not None and m.gap > 0 and self.lagging.get(m.id)]
        if not candidates:
            candidates = [m for m in self.metrics if self.lagging.get(m.id)]
        return max(candidates, key=lambda m: m.gap or 0, default=None)


# ---------------------------------------------------------------- computing


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


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


def districts_gone(campaign: Campaign, units: Iterable) -> bool:
    """A campaign written with a district level, summarised when no district unit exists."""
    return "huyen" in campaign.levels and not any(level_name(u.level) == "huyen" for u in units)


def _as_of_series(history: list[Figure], day: Date, in_scope: set[str] | None, keep: set[Date]):
    """Walk the figures in date order keeping each unit's latest ones.

    Returns (latest figures per (unit, metric) on ``day``: (numerator, denominator, date),
    the as-of totals per metric on each date of ``keep``: {metric: [(date, num, den)]}).
    """
    current: dict[tuple[str, str], tuple[float, float, Date]] = {}
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    series: dict[str, list[tuple[Date, float, float]]] = defaultdict(list)
    by_date: dict[Date, list[Figure]] = defaultdict(list)
    for f in history:
        if f.date <= day and (in_scope is None or f.unit_code in in_scope):
            by_date[f.date].append(f)
    for d in sorted(by_date):
        for f in by_date[d]:
            key = (f.unit_code, f.metric_id)
            acc = sums[f.metric_id]
            old = current.get(key)
            if old is not None:
                acc[0] -= old[0]
                acc[1] -= old[1]
            current[key] = (f.numerator, f.denominator, d)
            acc[0] += f.numerator
            acc[1] += f.denominator
        if d in keep:
            for metric_id, acc in sums.items():
                series[metric_id].append((d, acc[0], acc[1]))
    return current, series


def build_summary(
    campaign: Campaign,
    history: Iterable[Figure],
    date: Date | None = None,
    scope_unit=None,
    units: Iterable = (),
    running: bool | None = None,
    stale_days: int = STALE_DAYS,
) -> Summary:
    """Summarise ``history`` as of ``date`` for ``scope_unit``.

    ``date`` defaults to the latest import date; a date after the campaign's end is read as its
    end (an ended campaign is shown as it stood on its last day, no unit is late after it).
    ``scope_unit`` is a unit or a unit code; None (or the province) means the whole province.
    ``units`` (code, name, level, parent_code) give names, levels (each level's target), the
    tree below a unit and the units expected to report. ``history`` must hold, for every unit and
    metric, its latest figure before the dates it covers (``db.progress.load_history`` does).
    """
    history = history if isinstance(history, list) else list(history)
    units = list(units)
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

    if date is None:
        dates = [f.date for f in history if in_scope is None or f.unit_code in in_scope]
        as_of = max(dates) if dates else campaign.start
    else:
        as_of = min(date, campaign.end)
    if running is None:
        running = campaign.running_on(date or as_of)
    days_left = max(0, (campaign.end - as_of).days)
    expected = [code for code, u in units_by_code.items()
                if getattr(u, "parent_code", None) is not None and level_of[code] in campaign.levels
                and (in_scope is None or code in in_scope)]
    gone = districts_gone(campaign, units) if units else False
    present_levels = {level_of[c] for c in expected} or set(campaign.levels)

    # The trend dates: the last TREND_POINTS import dates in scope, on or before as_of.
    scope_dates = sorted({f.date for f in history if f.date <= as_of and (in_scope is None or f.unit_code in in_scope)})
    keep = set(scope_dates[-TREND_POINTS:])
    current, series = _as_of_series(history, as_of, in_scope, keep)
    data_date = scope_dates[-1] if scope_dates else None
    previous_date = scope_dates[-2] if len(scope_dates) > 1 else None

    metrics, lagging = [], {}
    reported: dict[str, Date] = {}
    by_metric: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for (code, metric_id), (num, den, d) in current.items():
        by_metric[metric_id][code] = (num, den)
        if d > reported.get(code, Date.min):
            reported[code] = d
    for metric in campaign.metrics:
        status, behind = _metric_status(metric, by_metric.get(metric.id, {}), series.get(metric.id, []),
                                         previous_date, campaign, level_of, units_by_code, scope_code,
                                         {level_of[c] for c in expected}, present_levels)
        metrics.append(status)
        lagging[metric.id] = behind

    stale_before = as_of - timedelta(days=stale_days)
    late = sorted((LateUnit(code, getattr(units_by_code.get(code), "name", code), d)
                   for code, d in reported.items() if d < stale_before),
                  key=lambda u: (u.last_date, u.unit_name))
    return Summary(campaign, data_date, as_of, previous_date, days_left, scope_code, scope_name, scope_level,
                   metrics, lagging, len(reported), len(expected), late, running, gone, stale_days)


def _metric_status(metric: Metric, by_unit: dict[str, tuple[float, float]], series: list, previous_date,
                   campaign: Campaign, level_of: dict, units_by_code: dict, scope_code: str | None,
                   expected_levels: set[str], present_levels: set[str]) -> tuple[MetricStatus, list[LaggingUnit]]:
    per_level: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    num = den = 0.0
    behind = []
    for code, (n, d) in by_unit.items():
        num += n
        den += d
        level = level_of.get(code)
        if level is not None:
            slot = per_level[level]
            slot[0] += n
            slot[1] += d
            slot[2] += 1
        rate, target = _rate(n, d), metric.target_for(level) if level else None
        if code != scope_code and rate is not None and target is not None and rate < target - 1e-9:
            unit = units_by_code.get(code)
            behind.append(LaggingUnit(metric.id, code, unit.name if unit else code, level, rate, target,
                                      (target - rate) * 100))
    behind.sort(key=lambda u: (-u.gap, u.unit_name))

    levels = sorted(per_level or dict.fromkeys(expected_levels), key=lambda lv: campaign.levels.index(lv)
                    if lv in campaign.levels else 99)
    by_level = []
    if len(levels) > 1:
        for level in levels:
            n, d, count = per_level.get(level, (0.0, 0.0, 0))
            target = metric.target_for(level)
            by_level.append(LevelStatus(level, n, d, _rate(n, d), target, _met(_rate(n, d), target), count))
    targets = {metric.target_for(level) for level in levels}
    target = next(iter(targets)) if len(targets) == 1 else None
    rate = _rate(num, den)
    gap = None if rate is None or target is None else (target - rate) * 100
    change = None
    points = [(d, _rate(n, dd)) for d, n, dd in series]
    points = [(d, r) for d, r in points if r is not None]
    if previous_date is not None and rate is not None:
        previous = [r for d, r in points if d == previous_date]
        if previous:
            change = (rate - previous[0]) * 100
    fc = forecast(points, target, campaign.end)
    shown_targets = {level: t for level, t in metric.targets.items() if level in present_levels}
    return (MetricStatus(metric.id, metric.name, metric.unit, num, den, rate, target, _met(rate, target), gap,
                         change, fc, len(by_unit), shown_targets, by_level), behind[:LAGGING_LIMIT])


# ---------------------------------------------------------------- JSON


def _r4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _metric_json(m: MetricStatus) -> dict:
    data = {
        "id": m.id, "name": m.name, "numerator": _number(m.numerator), "denominator": _number(m.denominator),
        "rate": _r4(m.rate), "target": _r4(m.target), "met": m.met, "gap": _r2(m.gap), "change": _r2(m.change),
        "forecast": {"status": m.forecast.status, "date": m.forecast.date.isoformat() if m.forecast.date else None,
                     "per_day": _r4(m.forecast.per_day)},
        "units_reported": m.units_reported,
        "targets": {level: _r4(t) for level, t in m.targets.items()},
    }
    if m.by_level:
        data["by_level"] = [
            {"level": lv.level, "numerator": _number(lv.numerator), "denominator": _number(lv.denominator),
             "rate": _r4(lv.rate), "target": _r4(lv.target), "met": lv.met, "units": lv.units}
            for lv in m.by_level
        ]
    return data


def summary_to_json(summary: Summary) -> dict:
    """A JSON-ready dict. Rates and targets are fractions (0.632); gap, change and the
    forecast's per_day are percentage points (6.8 = 6,8 điểm; gap > 0 means below target)."""
    c = summary.campaign
    return {
        "date": summary.date.isoformat() if summary.date else None,
        "as_of": summary.as_of.isoformat(),
        "previous_date": summary.previous_date.isoformat() if summary.previous_date else None,
        "campaign": {"id": c.id, "name": c.name, "plan": c.plan, "start": c.start.isoformat(),
                     "end": c.end.isoformat(), "running": summary.running, "example": c.example},
        "days_left": summary.days_left,
        "scope": {"code": summary.scope_code, "name": summary.scope_name, "level": summary.scope_level},
        "units_reported": summary.units_reported,
        "units_expected": summary.units_expected,
        "stale_days": summary.stale_days,
        "late": [{"unit_code": u.unit_code, "unit_name": u.unit_name, "last_date": u.last_date.isoformat()}
                 for u in summary.late],
        "districts_gone": summary.districts_gone,
        "metrics": [_metric_json(m) for m in summary.metrics],
        "lagging": [
            {"metric": u.metric, "unit_code": u.unit_code, "unit_name": u.unit_name, "rate": _r4(u.rate),
             "target": _r4(u.target), "gap": _r2(u.gap)}
            for items in summary.lagging.values() for u in items
        ],
    }
