"""Campaigns are data: one TOML file per campaign in ``content/campaigns/``.

A campaign names its plan, its dates, the administrative levels that report, and its metrics.
Each metric is a ratio of two columns (numerator / denominator) with a target per level.
Targets are written in percent in the files ("70" or ``{ tinh = 50, xa = 40 }``) and kept
as fractions (0.7) in code. A metric may list other headers that mean its columns in real
reports (``numerator_synonyms``, ``denominator_synonyms``). Columns that carry no figure
("STT", "Ghi chú", "Đơn vị tính", …) are listed in ``ignore_headers``; any other unknown header
stops an import (see ``content/progress_import.py``).

Examples (``example = true``, kept in ``content/campaigns/examples/``) are loaded only when named:
an example is never chosen by date, so officials are never judged against invented targets.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

CAMPAIGNS_DIR = Path(__file__).parent / "campaigns"
EXAMPLES_DIR = CAMPAIGNS_DIR / "examples"
LEVELS = ("tinh", "huyen", "xa", "thon")
# Headers of columns that carry no figure, ignored on import when a campaign file sets no
# ``ignore_headers`` (matched ignoring case, diacritics, spaces and punctuation, like all headers).
DEFAULT_IGNORE_HEADERS = ("STT", "TT", "Số thứ tự", "Ghi chú", "Đơn vị tính", "ĐVT")


class CampaignError(ValueError):
    """A campaign file is missing a field or holds a wrong value; the message names the file."""


def level_name(level) -> str:
    """The plain string of a level, whether given as ``UnitLevel.xa`` or ``"xa"``."""
    return str(getattr(level, "value", level))


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    numerator: str  # column header of the numerator in import files
    denominator: str  # column header of the denominator
    targets: dict[str, float] = field(default_factory=dict)  # level -> fraction 0..1
    unit: str = "hồ sơ"  # what is counted, for the summary text ("hồ sơ", "thủ tục")
    numerator_synonyms: tuple[str, ...] = ()  # other headers real reports use for the numerator
    denominator_synonyms: tuple[str, ...] = ()

    def headers(self, role: int) -> tuple[str, ...]:
        """Every header that means the numerator (role 0) or the denominator (role 1)."""
        if role == 0:
            return (self.numerator, *self.numerator_synonyms)
        return (self.denominator, *self.denominator_synonyms)

    def target_for(self, level) -> float | None:
        """The target for ``level`` (a UnitLevel or its name), or None when the plan sets none."""
        return self.targets.get(level_name(level))


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    plan: str
    start: date
    end: date
    levels: tuple[str, ...]
    metrics: tuple[Metric, ...]
    sources: tuple[str, ...] = ()
    example: bool = False
    ignore_headers: tuple[str, ...] = DEFAULT_IGNORE_HEADERS  # columns an import skips without a word

    def metric(self, metric_id: str) -> Metric:
        for metric in self.metrics:
            if metric.id == metric_id:
                return metric
        raise KeyError(metric_id)

    def running_on(self, day: date) -> bool:
        return self.start <= day <= self.end


def _names(path: Path, where: str, key: str, raw) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        _fail(path, f"{where}'{key}' phải là danh sách tên cột")
    return tuple(x.strip() for x in raw)


def _fail(path: Path, message: str):
    raise CampaignError(f"{path.name}: {message}")


def _targets(path: Path, metric_id: str, raw, levels: tuple[str, ...]) -> dict[str, float]:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = {level: raw for level in levels}
    if not isinstance(raw, dict) or not raw:
        _fail(path, f"chỉ tiêu '{metric_id}': 'target' phải là một số (phần trăm) hoặc bảng theo cấp")
    targets = {}
    for level, value in raw.items():
        if level not in levels:
            _fail(path, f"chỉ tiêu '{metric_id}': cấp '{level}' không có trong levels {list(levels)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
            _fail(path, f"chỉ tiêu '{metric_id}': mục tiêu cấp '{level}' phải là số trong (0, 100]")
        targets[level] = round(value / 100, 6)
    return targets


def load_campaign(path: Path) -> Campaign:
    """Read and check one campaign file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        _fail(path, f"không đọc được TOML ({exc})")
    for key in ("name", "plan", "start", "end", "levels", "metrics"):
        if key not in data:
            _fail(path, f"thiếu trường '{key}'")
    campaign_id = data.get("id", path.stem)
    if campaign_id != path.stem:
        _fail(path, f"id '{campaign_id}' phải trùng tên tệp '{path.stem}'")
    start, end = data["start"], data["end"]
    if not isinstance(start, date) or not isinstance(end, date):
        _fail(path, "'start' và 'end' phải là ngày dạng 2024-05-09 (không đặt trong ngoặc kép)")
    if start > end:
        _fail(path, f"ngày bắt đầu {start} sau ngày kết thúc {end}")
    levels = tuple(data["levels"])
    if not levels or any(level not in LEVELS for level in levels):
        _fail(path, f"'levels' phải gồm các cấp trong {list(LEVELS)}")
    sources = data.get("sources", [])
    if isinstance(sources, str):
        sources = [sources]
    metrics, seen = [], set()
    if not isinstance(data["metrics"], list) or not data["metrics"]:
        _fail(path, "cần ít nhất một [[metrics]]")
    for index, raw in enumerate(data["metrics"], 1):
        for key in ("id", "name", "numerator", "denominator", "target"):
            if key not in raw:
                _fail(path, f"chỉ tiêu thứ {index}: thiếu trường '{key}'")
        if raw["id"] in seen:
            _fail(path, f"chỉ tiêu '{raw['id']}' bị lặp")
        seen.add(raw["id"])
        metrics.append(
            Metric(
                id=raw["id"], name=raw["name"], numerator=raw["numerator"], denominator=raw["denominator"],
                targets=_targets(path, raw["id"], raw["target"], levels), unit=raw.get("unit", "hồ sơ"),
                numerator_synonyms=_names(path, f"chỉ tiêu '{raw['id']}': ", "numerator_synonyms",
                                          raw.get("numerator_synonyms")),
                denominator_synonyms=_names(path, f"chỉ tiêu '{raw['id']}': ", "denominator_synonyms",
                                            raw.get("denominator_synonyms")),
            )
        )
    example = data.get("example", False)
    if not isinstance(example, bool):
        _fail(path, "'example' phải là true hoặc false")
    ignore = data.get("ignore_headers")
    return Campaign(
        id=campaign_id, name=data["name"], plan=data["plan"], start=start, end=end,
        levels=levels, metrics=tuple(metrics), sources=tuple(sources), example=example,
        ignore_headers=DEFAULT_IGNORE_HEADERS if ignore is None else _names(path, "", "ignore_headers", ignore),
    )


def load_campaigns(directory: Path | str | None = None) -> list[Campaign]:
    """Every real ``*.toml`` campaign in ``directory`` (default ``CAMPAIGNS_DIR``), by start date.

    Examples (``example = true``) are left out: they are loaded only by name (:func:`find_campaign`).
    """
    folder = Path(directory) if directory is not None else CAMPAIGNS_DIR
    campaigns = [load_campaign(path) for path in sorted(folder.glob("*.toml"))]
    return sorted((c for c in campaigns if not c.example), key=lambda c: (c.start, c.id))


def find_campaign(campaign_id: str, directory: Path | str | None = None) -> Campaign | None:
    """The campaign called ``campaign_id``, real or example; None when there is no such file."""
    folder = Path(directory) if directory is not None else CAMPAIGNS_DIR
    for path in (folder / f"{campaign_id}.toml", folder / "examples" / f"{campaign_id}.toml"):
        if path.is_file():
            return load_campaign(path)
    return None


def campaign_for(day: date, campaigns: list[Campaign]) -> Campaign | None:
    """The real campaign running on ``day`` (the latest started if several); None when none runs."""
    running = [c for c in campaigns if c.running_on(day) and not c.example]
    return max(running, key=lambda c: (c.start, c.id)) if running else None


def latest_ended(day: date, campaigns: list[Campaign]) -> Campaign | None:
    """The real campaign that ended most recently before ``day`` (shown as ended); None if none."""
    ended = [c for c in campaigns if c.end < day and not c.example]
    return max(ended, key=lambda c: (c.end, c.id)) if ended else None


def campaign_in_view(day: date, campaigns: list[Campaign]) -> tuple[Campaign | None, bool]:
    """What a summary on ``day`` shows: (the running campaign, True), else (the latest ended, False).

    ``(None, False)`` when no real campaign has run yet. An example is never chosen.
    """
    running = campaign_for(day, campaigns)
    if running is not None:
        return running, True
    return latest_ended(day, campaigns), False
