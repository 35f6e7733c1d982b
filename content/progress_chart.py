"""The progress chart (pure: a Summary in, PNG bytes out). Its words come from the caller,
already translated (``handlers/progress/summary.py``), so the chart speaks the official's language."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from babel.numbers import format_percent

from content.progress import Summary


@dataclass(frozen=True)
class ChartWords:
    title: str = "Tiến độ DVCTT – {scope} – {day}"
    no_figures: str = "chưa có số liệu"
    rates: str = "Tỷ lệ đạt được (vạch xanh đậm: mục tiêu)"
    lagging: str = "Đơn vị thấp nhất – {metric}"
    locale: str = "vi_VN"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def render_chart(summary: Summary, words: ChartWords = ChartWords()) -> bytes:
    """A PNG: one bar per metric against its target, then the lagging units of the worst metric.

    A metric whose scope mixes levels with different targets has no single target mark.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    def pct(rate):
        return "–" if rate is None else format_percent(rate, "#,##0.0%", locale=words.locale)

    worst = summary.most_lagging_metric()
    lagging = summary.lagging.get(worst.id, []) if worst else []
    panels = 2 if lagging else 1
    fig = MplFigure(figsize=(8, 3.2 + 0.55 * len(summary.metrics) + (0.45 * len(lagging) + 1.2 if lagging else 0)),
                    dpi=90)
    FigureCanvasAgg(fig)
    heights = [len(summary.metrics) + 1] + ([len(lagging) + 1] if lagging else [])
    axes = fig.subplots(panels, 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    when = f"{summary.date.day}/{summary.date.month}/{summary.date.year}" if summary.date else words.no_figures
    fig.suptitle(words.title.format(scope=summary.scope_name, day=when), fontsize=12, fontweight="bold")

    def bars(ax, labels, rates, targets, title):
        ys = list(range(len(labels)))[::-1]
        values = [(r or 0) * 100 for r in rates]
        colors = ["#2e7d32" if t is not None and r is not None and r >= t - 1e-9 else "#e65100"
                  for r, t in zip(rates, targets)]
        ax.barh(ys, values, color=colors, height=0.6)
        for y, value, rate, target in zip(ys, values, rates, targets):
            ax.text(min(value, 100) + 1, y, pct(rate), va="center", fontsize=9)
            if target is not None:
                ax.plot([target * 100] * 2, [y - 0.4, y + 0.4], color="#1a237e", linewidth=2.5)
        ax.set_yticks(ys, labels, fontsize=9)
        ax.set_xlim(0, 112)
        ax.set_xticks([0, 20, 40, 60, 80, 100], ["0%", "20%", "40%", "60%", "80%", "100%"], fontsize=8)
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)

    bars(axes[0], [_wrap(m.name, 34) for m in summary.metrics], [m.rate for m in summary.metrics],
         [m.target for m in summary.metrics], words.rates)
    if lagging:
        bars(axes[1], [u.unit_name for u in lagging], [u.rate for u in lagging], [u.target for u in lagging],
             _wrap(words.lagging.format(metric=worst.name), 70))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()


def serve(source=None, sink=None) -> None:
    """The chart process (``python -m content.progress_chart``): reads pickled ``(summary, words)``
    requests, each after its 4-byte length, until end of input, and answers each with one status
    byte (0: PNG follows, 1: an error text follows), a 4-byte length and the bytes. Matplotlib
    (~35 MB) lives in this process only: the bot's stays small (handlers/progress/chart_process.py)."""
    import pickle
    import sys

    source = source or sys.stdin.buffer
    sink = sink or sys.stdout.buffer
    while len(header := source.read(4)) == 4:
        request = source.read(int.from_bytes(header, "big"))
        try:
            status, body = b"\x00", render_chart(*pickle.loads(request))  # noqa: S301 - from our own parent
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which logs it
            status, body = b"\x01", f"{type(exc).__name__}: {exc}".encode()
        sink.write(status + len(body).to_bytes(4, "big") + body)
        sink.flush()


if __name__ == "__main__":
    serve()
