"""The huddle and KPI report as one self-contained HTML file, and its KPI series as JSON.

No script, no external asset: the CSS is inlined and the charts are SVG drawn at build time, and a
Content-Security-Policy forbids the page any request. Patient names and PMS labels are autoescaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from functools import cache, lru_cache
from importlib.resources import files

import jinja2
from markupsafe import Markup

from pms_bridge.sinks.html import _fmt_long, role_label
from pms_bridge.sinks.report.charts import chart_svg
from pms_bridge.sinks.report.huddle import Huddle
from pms_bridge.sinks.report.kpis import Kpi, fmt_value, kpis_json, meets

_TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class ReportMeta:
    practice_name: str
    as_of: datetime
    tz: tzinfo
    data_as_of: datetime | None = None


@dataclass(frozen=True)
class KpiView:
    kpi: Kpi
    chart: Markup | None
    target_text: str
    latest: list[tuple[str, str, bool | None]]  # (line label, latest value shown, meets the target)
    rows: list[tuple[str, list[str]]]  # the data table: week label, one cell per line


def render_report(kpis: list[Kpi], huddle: Huddle, meta: ReportMeta) -> str:
    """The whole HTML document."""
    views = [_kpi_view(k, f"chart-{k.key.replace('_', '-')}") for k in kpis]
    weeks = kpis[0].weeks if kpis else []
    context = {
        "practice_name": meta.practice_name,
        "as_of": _fmt_long(meta.as_of.astimezone(meta.tz)),
        "as_of_iso": meta.as_of.isoformat(),
        "data_as_of": _fmt_long(meta.data_as_of.astimezone(meta.tz)) if meta.data_as_of else None,
        "period": _period(weeks),
        "week_count": len(weeks),
        "huddle": huddle,
        "role_label": role_label,
        "kpis": views,
        "css": _css(),
    }
    return _environment().get_template(_TEMPLATE).render(context)


def report_json(kpis: list[Kpi], meta: ReportMeta) -> str:
    document = {
        "practice": meta.practice_name,
        "as_of": meta.as_of.isoformat(),
        "week_starts": "monday",
        "kpis": kpis_json(kpis),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _kpi_view(kpi: Kpi, chart_id: str) -> KpiView:
    if kpi.unavailable is None and not kpi.has_points:
        kpi = replace(kpi, unavailable="No week in this period has data for it.")
    chart = chart_svg(kpi, chart_id) if kpi.unavailable is None else None
    latest = []
    for line in kpi.lines:
        known = [p.value for p in line.points if p.value is not None]
        value = known[-1] if known else None
        latest.append((line.label, "—" if value is None else fmt_value(value, kpi.unit), meets(kpi, value)))
    rows = [
        (f"{week:%b} {week.day}, {week.year}", [_cell(line.points[i], kpi.unit) for line in kpi.lines])
        for i, week in enumerate(kpi.weeks)
    ]
    target = f"Target: {kpi.target.describe(kpi.unit)}" if kpi.target else kpi.target_note
    return KpiView(kpi, chart, target, latest, rows)


def _cell(point: object, unit: str) -> str:
    value = getattr(point, "value", None)
    if value is None:
        return "no data"
    shown = fmt_value(value, unit)  # type: ignore[arg-type]
    num, den = getattr(point, "numerator", None), getattr(point, "denominator", None)
    return f"{shown} ({num} of {den})" if unit == "percent" and den else shown


def _period(weeks: list[date]) -> str:
    if not weeks:
        return ""
    last = weeks[-1] + timedelta(days=6)
    return f"{weeks[0]:%b} {weeks[0].day}, {weeks[0].year} – {last:%b} {last.day}, {last.year}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pms_bridge.sinks.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> Markup:
    """Our own stylesheet, inlined as is (never PMS data)."""
    text = files("pms_bridge.sinks.report").joinpath("templates", "report.css").read_text(encoding="utf-8")
    if "</" in text:  # would end the <style> element early
        raise ValueError("report.css must not contain '</'")
    return Markup(text)
