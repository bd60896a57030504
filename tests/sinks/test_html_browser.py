"""The HTML task list in a real browser (Playwright + Debian's chromium): it renders
without errors or network requests, counts add up, the filters and search work, and
print hides the filter bar. Screenshots and a PDF go to the `artifacts` folder for a human
(a temporary one, or test-artifacts/ when PMS_BRIDGE_TEST_ARTIFACTS says so: see conftest.py).

Skips when playwright or chromium is missing, unless PMS_BRIDGE_REQUIRE_SERVICES=1
(CI), which turns the skip into a failure."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.ledger.task import Task
from pms_bridge.sinks.html import render_task_list
from pms_bridge.sinks.meta import ListMeta

REQUIRE_SERVICES = os.environ.get("PMS_BRIDGE_REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 3, 7, 30, tzinfo=TZ)
TODAY = NOW.date()


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def _chromium_path() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


# -- synthetic tasks (made-up names; 3 roles, mixed severities, one overdue, one dismissed) --

NAMES = {
    "1001": "Testwell, Avery",
    "1002": "Sampleton, Brook",
    "1003": "Demoor, Casey",
    "1004": "Fakename, Devon",
    "1005": "Mockley, Emery",
    "1006": "Placeholder, Finley",
}


def task(key: str, role: str, severity: str, patient_id: str, rule: str, name: str, title: str,
         detail: str, fix: str, due_in: int, appt: tuple[int, int, int] | None, **extra: Any) -> Task:
    appointment_at = datetime(2026, 3, appt[0], appt[1], appt[2], tzinfo=TZ) if appt else None
    return Task(
        key=key, rule=rule, name=name, status=extra.pop("status", "open"), severity=severity, role=role,
        patient_id=patient_id, appointment_id=f"A{key}" if appt else None,
        subject_type="appointment" if appt else "patient", subject_id=f"A{key}" if appt else patient_id,
        title=title, detail=detail, fix=fix, due=TODAY + timedelta(days=due_in),
        created_at=NOW - timedelta(days=2), updated_at=NOW - timedelta(days=1),
        appointment_at=appointment_at, **extra,
    )


def sample_tasks() -> list[Task]:
    return [
        task("t1", "patient", "high", "1001", "XR001", "radiographs-missing",
             "No radiographs on file for new patient",
             "New patient visit Thu Mar 5 at 9:00 AM; no radiograph in the last 12 months.",
             "Request the FMX from the referring office and attach it under BWs/FMXs.", -2, (5, 9, 0),
             assignee="Front desk (Jo)"),
        task("t2", "patient", "medium", "1002", "FRM001", "new-patient-forms-missing",
             "Registration form not completed",
             "No completed registration form before the first visit.",
             "Text the patient the online registration link.", 0, (4, 10, 30),
             assignee="Front desk (Jo)"),
        task("t3", "patient", "low", "1003", "FRM002", "health-history-outdated",
             "Health history older than 12 months",
             "Last health history completed Jan 12, 2025.",
             "Have the patient update the health history at check-in.", 2, (6, 14, 0)),
        task("t4", "financial", "high", "1004", "INS001", "insurance-inactive",
             "Insurance ends before the appointment",
             "Coverage with Acme Dental PPO terminates Feb 28, 2026; appointment is Mar 4.",
             "Call the patient for new coverage or discuss self-pay before the visit.", 0, (4, 8, 0)),
        task("t5", "financial", "medium", "1005", "INS002", "insurance-not-verified",
             "Eligibility not verified in the last 30 days",
             "Appointment in 2 days; last verification Jan 10, 2026.",
             "Verify eligibility on the carrier portal and record the result.", 1, (5, 11, 15)),
        task("t6", "financial", "low", "1006", "INS003", "insurance-incomplete",
             "Coverage is missing the subscriber id",
             "The plan on file has no subscriber id; claims will be rejected.",
             "Ask for the insurance card and enter the subscriber id.", 5, None),
        task("t7", "scheduling", "medium", "1003", "SCH004", "appointment-length-mismatch",
             "Appointment booked 30 minutes short",
             "Booked 60 min; the attached procedures take 90 min (D2740, D2950).",
             "Extend the appointment or move a procedure to another visit.", 1, (6, 14, 0)),
        task("t8", "scheduling", "high", "1001", "SCH001", "procedure-outside-provider-scope",
             "Crown prep scheduled with a hygienist",
             "D2740 is attached to an appointment with hygienist RDH Lee only.",
             "Move the crown prep to a dentist's column.", 3, (9, 8, 0), status="dismissed",
             reason="Dr. Patel will see the patient in the hygiene room",
             resolved_at=NOW - timedelta(hours=20)),
    ]


def sample_meta() -> ListMeta:
    return ListMeta(
        practice_name="Maple Grove Family Dental",
        timezone="America/Chicago",
        generated_at=NOW,
        data_as_of=datetime(2026, 3, 3, 6, 12, tzinfo=TZ),
        last_sync_at=datetime(2026, 3, 3, 6, 15, tzinfo=TZ),
        sync_status="partial",
        quarantined=3,
        failed_sources=[],
        patient_names=NAMES,
    )


# -- browser fixtures ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    executable = _chromium_path()
    if executable is None:
        _unavailable("no chromium binary (apt-get install chromium, or put `chromium` on PATH)")
    with sync_playwright() as p:
        # The profile playwright makes lives in the system temp folder; HOME points there too, so
        # chromium's caches and crash reports stay out of the user's home.
        home = tmp_path_factory.mktemp("browser-home")
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_CACHE_HOME": str(home / ".cache")}
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, env=env)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.html"
    path.write_text(render_task_list(sample_tasks(), sample_meta()), encoding="utf-8")
    return path


class Loaded:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []


@pytest.fixture
def loaded(browser: Any, page_file: Path) -> Iterator[Loaded]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    state = Loaded(page)
    page.on("console", lambda m: state.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: state.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: state.failed.append(r.url))
    page.on("request", lambda r: state.requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    try:
        yield state
    finally:
        context.close()


def visible_tasks(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "article.task",
        "els => els.filter(e => e.offsetParent !== null)"
        ".map(e => ({key: e.dataset.key, role: e.dataset.role}))",
    )


def visible_count(page: Any) -> int:
    return int(page.get_by_test_id("visible-count").inner_text())


# -- tests ----------------------------------------------------------------------


def test_renders_without_errors_or_network(loaded: Loaded, page_file: Path) -> None:
    page = loaded.page
    assert loaded.console_errors == []
    assert loaded.failed == []
    assert loaded.requests == [page_file.as_uri()]  # the file itself, nothing else
    assert page.get_by_test_id("filters").is_visible()  # JS ran and showed the filter bar
    assert page.get_by_test_id("practice-name").inner_text() == "Maple Grove Family Dental"
    assert page.get_by_test_id("sync-warning").is_visible()


def test_counts_match_the_tasks_given(loaded: Loaded) -> None:
    page = loaded.page
    n = len(sample_tasks())
    assert int(page.get_by_test_id("task-count").inner_text()) == n
    assert visible_count(page) == n
    assert len(visible_tasks(page)) == n


def test_role_filter_shows_exactly_that_role(loaded: Loaded) -> None:
    page = loaded.page
    expected = {"patient", "scheduling", "financial"}
    options = page.eval_on_selector_all("[data-testid='role-filter'] option", "os => os.map(o => o.value)")
    assert options == ["", "patient", "scheduling", "financial"]
    for role in expected:
        page.get_by_test_id("role-filter").select_option(role)
        shown = visible_tasks(page)
        want = sorted(t.key for t in sample_tasks() if t.role == role)
        assert sorted(t["key"] for t in shown) == want
        assert {t["role"] for t in shown} == {role}
        assert visible_count(page) == len(want)
        # groups of other roles are hidden
        groups = page.eval_on_selector_all(
            "section.group", "gs => gs.filter(g => g.offsetParent !== null).map(g => g.dataset.role)"
        )
        assert groups == [role]
    page.get_by_test_id("role-filter").select_option("")
    assert visible_count(page) == len(sample_tasks())
    assert loaded.console_errors == []


def test_search_narrows(loaded: Loaded) -> None:
    page = loaded.page
    search = page.get_by_test_id("search")
    search.fill("testwell")  # patient name: two tasks for Avery Testwell
    assert sorted(t["key"] for t in visible_tasks(page)) == ["t1", "t8"]
    assert visible_count(page) == 2
    search.fill("ins00")  # rule code prefix
    assert sorted(t["key"] for t in visible_tasks(page)) == ["t4", "t5", "t6"]
    search.fill("rejected coverage")  # words from the detail and the title, in any order
    assert [t["key"] for t in visible_tasks(page)] == ["t6"]
    search.fill("zzz-no-such-thing")
    assert visible_tasks(page) == []
    assert visible_count(page) == 0
    assert page.get_by_test_id("no-match").is_visible()
    search.fill("")
    assert visible_count(page) == len(sample_tasks())


def test_filters_combine_and_status_filter(loaded: Loaded) -> None:
    page = loaded.page
    page.get_by_test_id("severity-filter").select_option("high")
    assert sorted(t["key"] for t in visible_tasks(page)) == ["t1", "t4", "t8"]
    page.get_by_test_id("status-filter").select_option("open")
    assert sorted(t["key"] for t in visible_tasks(page)) == ["t1", "t4"]
    page.get_by_test_id("clear-filters").click()
    assert visible_count(page) == len(sample_tasks())


def test_works_without_javascript(browser: Any, page_file: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        assert len(visible_tasks(page)) == len(sample_tasks())
        assert not page.get_by_test_id("filters").is_visible()  # useless without JS
    finally:
        context.close()


def test_screenshots_print_and_pdf(loaded: Loaded, artifacts: Path) -> None:
    page = loaded.page
    page.screenshot(path=str(artifacts / "tasks-screen.png"), full_page=True)

    page.emulate_media(media="print")
    assert not page.get_by_test_id("filters").is_visible()
    assert not page.get_by_test_id("search").is_visible()
    assert page.get_by_test_id("practice-name").is_visible()
    assert page.get_by_test_id("as-of").is_visible()
    assert len(visible_tasks(page)) == len(sample_tasks())
    page.screenshot(path=str(artifacts / "tasks-print.png"), full_page=True)

    pdf = page.pdf(path=str(artifacts / "tasks.pdf"), format="Letter", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")
    assert page.get_by_test_id("filters").is_visible()
    assert loaded.console_errors == []


def test_a_runs_task_list_shows_the_ledgers_tasks(browser: Any, tmp_path: Path, artifacts: Path) -> None:
    """End to end: the sample practice's run writes tasks.html; the page counts what the ledger holds."""
    from pms_bridge.cli.demo import DEMO_AS_OF, prepare_demo
    from pms_bridge.config import load_config
    from pms_bridge.ledger import Ledger
    from pms_bridge.pipeline import run_sync
    from pms_bridge.store import Store

    config_path = prepare_demo(tmp_path / "demo", patients=120, seed=7)
    cfg = load_config(config_path)
    run_sync(cfg, DEMO_AS_OF, check=True)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    open_tasks = Ledger(store).tasks(["open"])
    store.close()
    html = tmp_path / "demo" / "out" / "tasks.html"
    assert (html.stat().st_mode & 0o777) == 0o600

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(html.as_uri())
    planted = json.loads((tmp_path / "demo" / "exports" / "planted.json").read_text(encoding="utf-8"))
    assert {(t.rule, t.patient_id) for t in open_tasks} == {(p["rule"], p["patient_id"]) for p in planted}
    assert int(page.get_by_test_id("task-count").inner_text()) == len(open_tasks)
    assert sorted(t["key"] for t in visible_tasks(page)) == sorted(t.key for t in open_tasks)
    page.get_by_test_id("role-filter").select_option("financial")
    assert sorted(t["key"] for t in visible_tasks(page)) == sorted(t.key for t in open_tasks if t.role == "financial")
    page.get_by_test_id("role-filter").select_option("")
    page.screenshot(path=str(artifacts / "demo-tasks.png"), full_page=True)
    context.close()
    assert errors == []
