"""The morning huddle and KPI report: ``[[sinks]] type = "report"`` and `pms-bridge report`.

``kpis`` defines the measures (pure functions of the stored rows and the as-of time), ``huddle`` the
day's schedule and task load, ``charts`` draws the KPI charts (SVG, at build time), ``render`` writes the
page and the JSON, ``sink`` ties them to the store and the sink registry.
"""

from pms_bridge.sinks.report.kpis import Kpi, KpiTargets, compute_kpis, kpis_json
from pms_bridge.sinks.report.render import ReportMeta, render_report, report_json
from pms_bridge.sinks.report.sink import (
    REPORT_SINK,
    Report,
    ReportSinkSettings,
    build_report,
)

__all__ = [
    "REPORT_SINK",
    "Kpi",
    "KpiTargets",
    "Report",
    "ReportMeta",
    "ReportSinkSettings",
    "build_report",
    "compute_kpis",
    "kpis_json",
    "render_report",
    "report_json",
]
