"""KPI charts as static SVG, drawn by matplotlib when the report is built (nothing runs in the page).

The output is deterministic: ids come from a fixed ``svg.hashsalt``, no date or tool version is
written, and text stays text (``svg.fonttype = none``: the page's font, selectable, and read by screen
readers). Each chart carries a ``<title>`` and a ``<desc>`` and is labelled for assistive technology;
the page also gives each chart's numbers as a table.
"""

from __future__ import annotations

import io
import math
import re
from datetime import date
from html import escape

from markupsafe import Markup

from pms_bridge.sinks.report.kpis import Kpi, Line, fmt_value, meets

# Colours readable by people with the common colour-vision deficiencies (Okabe-Ito).
LINE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
TARGET_COLOUR = "#C0392B"
TREND_COLOUR = "#7F7F7F"
WIDTH_IN, HEIGHT_IN = 6.4, 2.6
MARGINS = {"left": 0.085, "right": 0.99, "bottom": 0.12, "top": 0.87}  # room for the y label and the legend above

_RC = {
    "svg.hashsalt": "pms-bridge-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "path.simplify": False,
}
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def chart_svg(kpi: Kpi, chart_id: str) -> Markup:
    """The KPI's chart as an inline ``<svg>`` element (our own markup: any PMS text in it is escaped)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(_RC):
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
        fig.subplots_adjust(**MARGINS)  # fixed: a layout engine would measure every label first, at twice the cost
        ax = fig.add_subplot()
        x = list(range(len(kpi.weeks)))
        for n, line in enumerate(kpi.lines):
            ax.plot(x, _values(line), color=LINE_COLOURS[n % len(LINE_COLOURS)], marker="o", markersize=3.5,
                    linewidth=1.8, label=line.label)
        _draw_target(ax, kpi, x)
        ax.set_xticks(x[::_tick_step(len(x))], [_week_label(w) for w in kpi.weeks][::_tick_step(len(x))])
        ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
        _y_range(ax, kpi)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_ylabel({"percent": "%", "days": "days", "count": "per week"}[kpi.unit])
        # Above the plot, never over the lines.
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncols=4, borderaxespad=0.2)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return Markup(_accessible(buffer.getvalue(), kpi, chart_id))


def _values(line: Line) -> list[float]:
    return [math.nan if p.value is None else p.value for p in line.points]  # NaN: matplotlib leaves a gap


def _draw_target(ax: object, kpi: Kpi, x: list[int]) -> None:
    if kpi.target is not None:
        ax.axhline(kpi.target.value, color=TARGET_COLOUR, linestyle="--", linewidth=1.2,  # type: ignore[attr-defined]
                   label=f"Target: {kpi.target.describe(kpi.unit)}")
        return
    first = kpi.lines[0] if kpi.lines else None
    known = [(i, p.value) for i, p in enumerate(first.points) if p.value is not None] if first else []
    if kpi.trend and len(known) >= 3:
        import numpy

        slope, intercept = numpy.polyfit([i for i, _ in known], [v for _, v in known], 1)
        ax.plot([x[0], x[-1]], [intercept + slope * x[0], intercept + slope * x[-1]],  # type: ignore[attr-defined]
                color=TREND_COLOUR, linestyle="--", linewidth=1.2, label=f"Trend of {first.label.split(' (')[0].lower()}")


def _y_range(ax: object, kpi: Kpi) -> None:
    values = [p.value for line in kpi.lines for p in line.points if p.value is not None]
    if kpi.target is not None:
        values.append(kpi.target.value)
    top = max(values, default=1.0)
    if kpi.unit == "percent" and top >= 40:
        ax.set_ylim(0, 105)  # type: ignore[attr-defined]
    elif kpi.unit == "percent":  # a low rate (no-shows): room to see it against its target
        ax.set_ylim(0, max(top * 1.3, 10))  # type: ignore[attr-defined]
    else:
        ax.set_ylim(0, max(top * 1.15, 1))  # type: ignore[attr-defined]


def _tick_step(weeks: int) -> int:
    return max(1, math.ceil(weeks / 9))


def _week_label(monday: date) -> str:
    return f"{monday:%b} {monday.day}"


def describe(kpi: Kpi) -> str:
    """The chart in words: its lines' latest values and the target (the ``<desc>`` of the SVG)."""
    parts = []
    for line in kpi.lines:
        known = [(w, p.value) for w, p in zip(kpi.weeks, line.points) if p.value is not None]
        if not known:
            parts.append(f"{line.label}: no data in these weeks.")
            continue
        week, value = known[-1]
        verdict = {True: " (meets the target)", False: " (misses the target)", None: ""}[meets(kpi, value)]
        parts.append(f"{line.label}: {fmt_value(value, kpi.unit)} in the week of {_week_label(week)}{verdict}; "
                     f"{len(known)} of {len(kpi.weeks)} weeks have data.")
    target = f"Target: {kpi.target.describe(kpi.unit)}." if kpi.target else kpi.target_note
    return " ".join([*parts, target]).strip()


def _accessible(svg: str, kpi: Kpi, chart_id: str) -> str:
    """The bare ``<svg>`` element with a title, a description and an image role for screen readers."""
    svg = _METADATA.sub("", _PROLOGUE.sub("", svg, count=1))
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)  # the page sizes the chart; the viewBox keeps its shape
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return (
        f'{head} id="{chart_id}" role="img" aria-labelledby="{title_id} {desc_id}" class="chart" '
        f'preserveAspectRatio="xMidYMid meet">'
        f'<title id="{title_id}">{escape(kpi.title)}</title><desc id="{desc_id}">{escape(describe(kpi))}</desc>'
        f"{rest}"
    )
