"""The charts and the page without a browser: static, deterministic, accessible SVG; a page that asks for
nothing from the network; the huddle's days and flags."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.sinks.report import (
    KpiTargets,
    ReportMeta,
    compute_kpis,
    render_report,
    report_json,
)
from pms_bridge.sinks.report.charts import chart_svg, describe
from pms_bridge.sinks.report.huddle import (
    Huddle,
    build_huddle,
    huddle_days,
    visit_flags,
)
from pms_bridge.store.report_reads import ReportData, TaskLife, Visit

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)


def some_data() -> ReportData:
    data = ReportData(date(2026, 2, 2), date(2026, 3, 1))
    for n, day in enumerate((date(2026, 2, 3), date(2026, 2, 4), date(2026, 2, 18), date(2026, 2, 25))):
        start = datetime(day.year, day.month, day.day, 9, tzinfo=TZ)
        data.visits.append(Visit(f"a{n}", f"p{n}", start, start - timedelta(days=5), "broken" if n == 1 else "complete",
                                 True, 60))
    return data


def no_show(data: ReportData):  # noqa: ANN201
    return next(k for k in compute_kpis(data, AS_OF, TZ, 4, KpiTargets()) if k.key == "no_show_rate")


def test_a_chart_is_static_accessible_svg() -> None:
    svg = str(chart_svg(no_show(some_data()), "chart-x"))
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert 'role="img"' in svg and 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">No-show and broken appointment rate</title>' in svg
    assert "<desc" in svg and "Target: below 5%" in svg
    assert "<script" not in svg and "http://" not in svg.replace("http://www.w3.org/", "")
    assert "<metadata" not in svg and "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert "<text" in svg  # text as text: the page's font, read by screen readers


def test_a_chart_is_the_same_every_time() -> None:
    assert str(chart_svg(no_show(some_data()), "c")) == str(chart_svg(no_show(some_data()), "c"))


def test_the_description_says_the_latest_value_and_the_target() -> None:
    text = describe(no_show(some_data()))
    # weeks of Feb 2 (1 broken of 2), Feb 9 and Feb 23: the latest is 0% in the week of Feb 23
    assert text.startswith("Broken or missed: 0% in the week of Feb 23 (meets the target); 3 of 4 weeks have data.")


def test_the_page_requests_nothing_and_escapes_pms_text() -> None:
    data = some_data()
    data.patient_names = {"p9": "<b>O'Brien</b>"}
    start = AS_OF.replace(hour=10)
    data.visits.append(Visit("a9", "p9", start, None, "scheduled", False, 30, appointment_type="<script>x</script>"))
    html = render_report(compute_kpis(data, AS_OF, TZ, 4, KpiTargets()), build_huddle(data, AS_OF, TZ),
                         ReportMeta("Main & Co", AS_OF, TZ))
    assert "default-src 'none'" in html
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "&lt;b&gt;O&#39;Brien&lt;/b&gt;" in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Main &amp; Co" in html


def test_json_has_no_patient_data() -> None:
    data = some_data()
    data.patient_names = {"p0": "Testwell, Avery"}
    text = report_json(compute_kpis(data, AS_OF, TZ, 4, KpiTargets()), ReportMeta("Test Dental", AS_OF, TZ))
    assert "Testwell" not in text and "p0" not in text


def test_the_next_business_day_skips_the_weekend() -> None:
    friday = datetime(2026, 2, 27, 7, 0, tzinfo=TZ)
    assert huddle_days(friday, TZ) == [date(2026, 2, 27), date(2026, 3, 2)]
    saturday = datetime(2026, 2, 28, 7, 0, tzinfo=TZ)
    assert huddle_days(saturday, TZ) == [date(2026, 2, 28), date(2026, 3, 2)]
    assert huddle_days(AS_OF, TZ) == [date(2026, 3, 2), date(2026, 3, 3)]


def test_flags_name_the_kind_of_open_task() -> None:
    v = Visit("a1", "p1", AS_OF, None, "scheduled", True, 60)

    def open_task(rule: str, appointment: str | None = "a1") -> TaskLife:
        return TaskLife(f"{rule}:x", rule, "patient", "open", "p1", appointment, date(2026, 3, 2), AS_OF, None)

    flags = visit_flags(v, [open_task("XR001"), open_task("FRM001"), open_task("INS002"), open_task("SCH004"),
                            open_task("SCH001"), open_task("SCH002"), open_task("REF002")])
    assert [(f.key, f.label) for f in flags] == [
        ("new-patient", "New patient"), ("forms", "Forms missing"), ("insurance", "Insurance not verified"),
        ("REF002", "Open task REF002"), ("provider", "Wrong provider"), ("length", "Wrong length"),
        ("x-rays", "X-rays missing"),
    ]
    assert next(f for f in flags if f.key == "provider").rules == ("SCH001", "SCH002")


def test_the_huddle_lists_patient_level_tasks_on_the_visit_and_counts_overdue() -> None:
    data = ReportData(date(2026, 2, 2), date(2026, 3, 1))
    data.visits = [Visit("a1", "p1", AS_OF.replace(hour=9), None, "scheduled", False, 60, "7", None, "2"),
                   Visit("a2", "p2", AS_OF.replace(hour=9), None, "cancelled", False, 60, "7")]
    data.providers = {"7": "DrSeven"}
    data.tasks = [
        TaskLife("INS003:c", "INS003", "financial", "open", "p1", None, date(2026, 2, 27), AS_OF, None),
        TaskLife("FRM002:p", "FRM002", "patient", "resolved", "p1", None, date(2026, 2, 27), AS_OF, AS_OF),
        TaskLife("REF001:r", "REF001", "patient", "open", "p5", None, date(2026, 3, 2), AS_OF, None),
    ]
    huddle: Huddle = build_huddle(data, AS_OF, TZ)
    today = huddle.days[0]
    assert today.visit_count == 1  # the cancelled one is not on the schedule
    row = today.providers[0].visits[0]
    assert today.providers[0].provider == "DrSeven" and row.operatory == "Op 2" and row.time == "9:00 AM"
    assert [f.label for f in row.flags] == ["Insurance incomplete"]  # the resolved task is not shown
    assert [(r.role, r.open, r.overdue, r.due_today) for r in huddle.roles] == [
        ("patient", 1, 0, 1), ("financial", 1, 1, 0)]


def test_the_wheel_ships_the_template_and_stylesheet(tmp_path) -> None:  # noqa: ANN001
    import zipfile
    from pathlib import Path

    from hatchling.builders.wheel import WheelBuilder

    repo = Path(__file__).resolve().parents[3]
    wheel = next(WheelBuilder(str(repo)).build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pms_bridge/sinks/report/templates/report.html.j2", "pms_bridge/sinks/report/templates/report.css"} <= names
