"""The report in a real headless browser: every chart is there and drawn, nothing is requested from the
network, no console error, and the print layout fits A4 and Letter. Screenshots and PDFs go to the
`artifacts` folder for a human to look at."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.sinks.report import KpiTargets, ReportMeta, compute_kpis, render_report
from pms_bridge.sinks.report.huddle import build_huddle
from pms_bridge.store.report_reads import (
    CompletedForm,
    CoverageSpan,
    EligibilityCheck,
    Film,
    FirstContact,
    PlannedWork,
    ReportData,
    TaskLife,
    Visit,
)

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
WEEKS = 26
GAP_WEEK = 5  # nothing at all happened that week (the office was closed)
MM_PER_CSS_PX = 25.4 / 96
PRINT_MARGIN_MM = 12  # report.css: @page { margin: 12mm }
PAPER_WIDTH_MM = {"A4": 210, "Letter": 215.9}


def busy_practice() -> ReportData:
    """26 weeks of a made-up practice in which every KPI has data (seeded: the same every time)."""
    rng = random.Random(17)
    first = date(2025, 9, 1)
    data = ReportData(first, first + timedelta(weeks=WEEKS) - timedelta(days=1))
    data.ledger_since = datetime(2025, 8, 20, tzinfo=TZ)
    data.providers = {"1": "DrTest", "2": "RDHTest"}
    n = 0
    for week in range(WEEKS):
        if week == GAP_WEEK:
            continue
        monday = first + timedelta(weeks=week)
        for _ in range(rng.randint(20, 30)):
            n += 1
            pid = f"p{n}"
            day = monday + timedelta(days=rng.randint(0, 4))
            start = datetime(day.year, day.month, day.day, rng.randint(8, 16), tzinfo=TZ)
            new = rng.random() < 0.25
            status = "broken" if rng.random() < 0.06 else "complete"
            data.visits.append(Visit(f"a{n}", pid, start, start - timedelta(days=rng.randint(3, 20)), status, new,
                                     60, "1", "2", str(rng.randint(1, 4))))
            if rng.random() < 0.7:
                data.coverages.append(CoverageSpan(f"c{n}", pid, None, None))
                if rng.random() < 0.9:
                    data.checks.append(EligibilityCheck(f"c{n}", day - timedelta(days=rng.randint(0, 20)), "verified"))
            if new:
                data.first_contacts.append(FirstContact(pid, day - timedelta(days=rng.randint(2, 16)), day))
                for kind in ("registration", "health_history"):
                    if rng.random() < 0.95:
                        data.forms.append(CompletedForm(pid, kind, start - timedelta(days=1)))
                if rng.random() < 0.8:
                    data.films.append(Film(pid, day - timedelta(days=rng.randint(1, 200))))
            if rng.random() < 0.3:
                data.planned.append(PlannedWork(day, "planned", False, "scheduled" if rng.random() < 0.72 else None))
        for t in range(rng.randint(5, 12)):
            created = datetime(monday.year, monday.month, monday.day, 7, tzinfo=TZ) + timedelta(days=rng.randint(0, 6))
            closed = created + timedelta(days=rng.randint(1, 12))
            done = closed < AS_OF
            data.tasks.append(TaskLife(f"t{week}-{t}", "INS002", "financial", "resolved" if done else "open", "p1",
                                       None, (created + timedelta(days=5)).date(), created, closed if done else None))
    for hour in (8, 10, 13):  # the huddle's day
        n += 1
        data.visits.append(Visit(f"a{n}", f"p{n}", AS_OF.replace(hour=hour), None, "scheduled", hour == 10, 60, "1",
                                 None, "2"))
        data.patient_names[f"p{n}"] = f"Testperson, Number{hour}"
    data.tasks.append(TaskLife("XR001:a-x", "XR001", "patient", "open", f"p{n}", f"a{n}", date(2026, 2, 27),
                               AS_OF - timedelta(days=4), None))
    return data


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = busy_practice()
    kpis = compute_kpis(data, AS_OF, TZ, WEEKS, KpiTargets())
    html = render_report(kpis, build_huddle(data, AS_OF, TZ), ReportMeta("Maple Grove Family Dental", AS_OF, TZ))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


class Opened:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []


def open_offline(chromium: Any, path: Path, width: int = 1366) -> Iterator[Opened]:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    state = Opened(page)
    page.on("console", lambda m: state.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: state.errors.append(str(e)))

    def only_the_file(route: Any) -> None:
        if route.request.url == path.as_uri():
            route.continue_()
        else:
            state.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    try:
        yield state
    finally:
        context.close()


@pytest.fixture
def opened(chromium: Any, report_file: Path) -> Iterator[Opened]:
    yield from open_offline(chromium, report_file)


def charts(page: Any) -> list[dict[str, Any]]:
    """Each chart: its KPI, its size on the page, its title and how many drawn lines and markers it has."""
    return page.eval_on_selector_all(
        "article.kpi", """arts => arts.map(a => {
            const svg = a.querySelector('svg.chart');
            const box = svg ? svg.getBoundingClientRect() : null;
            return {
                kpi: a.dataset.kpi,
                unavailable: !!a.querySelector('[data-testid=kpi-unavailable]'),
                width: box ? box.width : 0, height: box ? box.height : 0,
                title: svg ? (svg.querySelector('title') || {}).textContent : null,
                desc: svg ? (svg.querySelector('desc') || {}).textContent : null,
                labelled: svg ? svg.getAttribute('aria-labelledby') : null,
                drawn: svg ? [...svg.querySelectorAll('path')].filter(p => (p.getAttribute('d') || '').length > 40).length : 0,
                target: (a.querySelector('[data-testid=kpi-target]') || {}).textContent || '',
            };
        })""",
    )


def test_every_chart_is_present_drawn_and_labelled(opened: Opened, report_file: Path) -> None:
    found = charts(opened.page)
    assert len(found) == 11
    for chart in found:
        assert not chart["unavailable"], chart["kpi"]
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["drawn"] >= 3, chart  # the line, the target or trend, the axes
        assert chart["title"] and chart["desc"] and chart["labelled"], chart
        assert chart["target"].strip(), chart["kpi"]
    assert opened.errors == []
    assert opened.blocked == []


def test_the_huddle_flags_visits_and_counts_overdue_tasks(opened: Opened) -> None:
    page = opened.page
    assert page.locator("[data-testid=huddle-visit]").count() == 3
    flags = page.locator("[data-testid=huddle-visit] .flag").all_inner_texts()
    assert sorted(flags) == ["New patient", "X-rays missing"]
    row = page.locator("[data-testid=role-loads] tr[data-role=patient] td").all_inner_texts()
    assert row == ["1", "1", "0"]  # open, overdue (due Feb 27), due today


def test_screenshot_and_print_fit_a4_and_letter(opened: Opened, artifacts: Path) -> None:
    page = opened.page
    page.screenshot(path=str(artifacts / "report-screen.png"), full_page=True)
    page.emulate_media(media="print")
    for paper, width_mm in PAPER_WIDTH_MM.items():
        printable = (width_mm - 2 * PRINT_MARGIN_MM) / MM_PER_CSS_PX
        page.set_viewport_size({"width": int(printable), "height": 1000})
        too_wide = page.evaluate(
            """limit => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > limit + 0.5)
                .map(e => e.tagName + '.' + e.className)""",
            int(printable),
        )
        assert too_wide == [], f"wider than {paper}'s printable width: {too_wide[:5]}"
        assert page.evaluate("document.documentElement.scrollWidth") <= int(printable)
        pdf = page.pdf(path=str(artifacts / f"report-{paper}.pdf"), format=paper)
        assert pdf.startswith(b"%PDF")
        page.screenshot(path=str(artifacts / f"report-print-{paper}.png"), full_page=True)
    assert opened.errors == [] and opened.blocked == []


def test_the_demo_practice_report(chromium: Any, tmp_path: Path, artifacts: Path) -> None:
    """End to end: the demo's run writes out/report.html; it shows the new-patient trend and every KPI's target."""
    from pms_bridge.cli.demo import DEMO_AS_OF, prepare_demo
    from pms_bridge.config import load_config
    from pms_bridge.pipeline import run_sync

    config_path = prepare_demo(tmp_path / "demo", patients=150, seed=7)
    run_sync(load_config(config_path), DEMO_AS_OF, check=True)
    path = tmp_path / "demo" / "out" / "report.html"
    assert (path.stat().st_mode & 0o777) == 0o600
    for state in open_offline(chromium, path):
        found = {c["kpi"]: c for c in charts(state.page)}
        assert found["new_patient_appointments"]["drawn"] >= 3
        for chart in found.values():
            assert chart["target"].strip(), chart["kpi"]
            assert chart["unavailable"] or chart["drawn"] >= 3, chart
        assert state.page.locator("[data-testid=huddle-day]").count() == 2
        state.page.screenshot(path=str(artifacts / "demo-report.png"), full_page=True)
        assert state.errors == [] and state.blocked == []
