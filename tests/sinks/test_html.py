"""The HTML task list, without a browser: escaping, grouping and order, due dates,
header (freshness and sync health), no external references, empty list."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.ledger.task import Task
from pms_bridge.sinks.html import render_task_list
from pms_bridge.sinks.meta import ListMeta

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 3, 7, 30, tzinfo=TZ)  # a Tuesday
TODAY = NOW.date()


def make_task(key: str, **overrides: object) -> Task:
    values: dict[str, object] = {
        "key": key,
        "rule": "FRM001",
        "name": "new-patient-forms-missing",
        "status": "open",
        "severity": "medium",
        "role": "patient",
        "patient_id": "101",
        "appointment_id": "9001",
        "subject_type": "appointment",
        "subject_id": "9001",
        "title": f"Task {key}",
        "detail": "Detail text.",
        "fix": "Send the registration form.",
        "due": TODAY + timedelta(days=2),
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(days=1),
        "appointment_at": datetime(2026, 3, 5, 9, 0, tzinfo=TZ),
    }
    values.update(overrides)
    return Task(**values)  # type: ignore[arg-type]


def make_meta(**overrides: object) -> ListMeta:
    values: dict[str, object] = {
        "practice_name": "Maple Grove Dental",
        "timezone": "America/Chicago",
        "generated_at": NOW,
        "data_as_of": datetime(2026, 3, 3, 6, 15, tzinfo=TZ),
        "last_sync_at": datetime(2026, 3, 3, 6, 20, tzinfo=TZ),
        "sync_status": "ok",
        "patient_names": {"101": "Testperson, Alma", "102": "Sample, Bo", "103": "Example, Cy"},
    }
    values.update(overrides)
    return ListMeta(**values)  # type: ignore[arg-type]


class _Articles(HTMLParser):
    """Collects each task article's attributes and text, and section headings, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.articles: list[dict[str, str]] = []
        self.texts: list[str] = []
        self.groups: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "article":
            self.articles.append(a)
            self.texts.append("")
            self._depth = 1
        elif self._depth:
            self._depth += 1
        if tag == "section" and a.get("data-testid") == "group":
            self.groups.append(a["data-role"])

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def parse(html: str) -> _Articles:
    parser = _Articles()
    parser.feed(html)
    return parser


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_patient_name_and_title_are_escaped() -> None:
    task = make_task("a", patient_id="666", title="Crown & bridge: <b>verify</b>", detail='He said "hi" & left')
    meta = make_meta(patient_names={"666": "<script>alert(1)</script>"})
    html = render_task_list([task], meta)

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Crown &amp; bridge: &lt;b&gt;verify&lt;/b&gt;" in html
    assert "<b>verify</b>" not in html
    assert "He said &#34;hi&#34; &amp; left" in html
    # The only script element is ours: exactly one opening tag.
    assert html.count("<script") == 1
    text = squash(parse(html).texts[0])
    assert "<script>alert(1)</script>" in text  # shown to the reader as plain text
    assert "Crown & bridge" in text


def test_escaping_in_attributes_and_header() -> None:
    meta = make_meta(practice_name='Smile "R" Us <Dental>', failed_sources=['<img src=x onerror=alert(1)>'],
                     sync_status="partial", patient_names={"101": '"><img src=x>'})
    html = render_task_list([make_task("k\"<>")], meta)
    assert "<img" not in html
    assert 'Smile &#34;R&#34; Us &lt;Dental&gt;' in html
    assert 'data-key="k&#34;&lt;&gt;"' in html


def test_groups_follow_role_order_and_skip_empty_roles() -> None:
    tasks = [
        make_task("c1", role="clinical"),
        make_task("f1", role="financial", assignee="Dana (billing)"),
        make_task("p1", role="patient"),
        make_task("f2", role="financial"),
    ]
    html = render_task_list(tasks, make_meta())
    parsed = parse(html)
    assert parsed.groups == ["patient", "financial", "clinical"]
    assert [a["data-role"] for a in parsed.articles] == ["patient", "financial", "financial", "clinical"]
    assert "Patient coordinator" in html and "Financial coordinator" in html
    assert "Scheduling coordinator" not in html.split("<main", 1)[1]
    # the group's assignee is named in its heading
    assert re.search(r'data-testid="assignee">\s*Dana \(billing\)', html)


def test_unknown_role_is_kept_after_the_known_ones() -> None:
    parsed = parse(render_task_list([make_task("x", role="marketing"), make_task("p")], make_meta()))
    assert parsed.groups == ["patient", "marketing"]


def test_sorted_by_due_then_severity_then_appointment_time() -> None:
    d1, d2 = TODAY + timedelta(days=1), TODAY + timedelta(days=3)
    at = lambda h: datetime(2026, 3, 6, h, 0, tzinfo=TZ)
    tasks = [
        make_task("late-low", due=d2, severity="low", appointment_at=at(8)),
        make_task("soon-low", due=d1, severity="low", appointment_at=at(8)),
        make_task("soon-high-11", due=d1, severity="high", appointment_at=at(11)),
        make_task("soon-high-none", due=d1, severity="high", appointment_at=None, appointment_id=None),
        make_task("soon-high-9", due=d1, severity="high", appointment_at=at(9)),
        make_task("soon-medium", due=d1, severity="medium", appointment_at=at(7)),
        make_task("late-high", due=d2, severity="high", appointment_at=at(8)),
    ]
    keys = [a["data-key"] for a in parse(render_task_list(tasks, make_meta())).articles]
    assert keys == [
        "soon-high-9", "soon-high-11", "soon-high-none", "soon-medium", "soon-low", "late-high", "late-low",
    ]


def test_overdue_and_today_marking() -> None:
    tasks = [
        make_task("over", due=TODAY - timedelta(days=3)),
        make_task("today", due=TODAY),
        make_task("later", due=TODAY + timedelta(days=1)),
        make_task("closed", due=TODAY - timedelta(days=3), status="dismissed", reason="Patient moved away"),
    ]
    parsed = parse(render_task_list(tasks, make_meta()))
    by_key = {a["data-key"]: squash(t) for a, t in zip(parsed.articles, parsed.texts)}
    assert "Overdue 3 days" in by_key["over"]
    assert "Due Sat Feb 28" in by_key["over"]
    assert "Today" in by_key["today"] and "Overdue" not in by_key["today"]
    assert "Overdue" not in by_key["later"] and "Today" not in by_key["later"]
    assert "Due Wed Mar 4" in by_key["later"]
    # a dismissed task is not overdue work, but says it is dismissed and why
    assert "Overdue" not in by_key["closed"]
    assert "Dismissed" in by_key["closed"] and "Patient moved away" in by_key["closed"]


def test_overdue_uses_the_as_of_date_in_the_practice_time_zone() -> None:
    # 03:00 UTC on Mar 3 is still Mar 2 in Chicago: a task due Mar 2 is due today, not overdue.
    meta = make_meta(generated_at=datetime(2026, 3, 3, 3, 0, tzinfo=ZoneInfo("UTC")))
    text = squash(parse(render_task_list([make_task("t", due=date(2026, 3, 2))], meta)).texts[0])
    assert "Today" in text and "Overdue" not in text


def test_task_shows_patient_appointment_fix_rule_and_severity() -> None:
    tasks = [
        make_task("named", severity="high", rule="XR001", name="radiographs-missing",
                  fix="Request x-rays from the referring office."),
        make_task("unnamed", patient_id="777", appointment_id=None, appointment_at=None),
    ]
    parsed = parse(render_task_list(tasks, make_meta()))
    by_key = {a["data-key"]: (a, squash(t)) for a, t in zip(parsed.articles, parsed.texts)}
    attrs, text = by_key["named"]
    assert attrs["data-role"] == "patient" and attrs["data-status"] == "open" and attrs["data-severity"] == "high"
    assert attrs["data-testid"] == "task" and "task" in attrs["class"].split()
    assert "Testperson, Alma #101" in text
    assert "Appt Thu Mar 5, 9:00 AM" in text
    assert "How to fix: Request x-rays from the referring office." in text
    assert "XR001 radiographs-missing" in text
    assert "High" in text
    _, text = by_key["unnamed"]
    assert "Patient #777" in text and "No appointment" in text


def test_header_shows_as_of_data_as_of_and_healthy_sync() -> None:
    html = render_task_list([make_task("a")], make_meta())
    assert "Maple Grove Dental" in html
    assert re.search(r'data-testid="as-of">.*Tue Mar 3, 2026, 7:30 AM CST', html)
    assert re.search(r'data-testid="data-as-of">Tue Mar 3, 2026, 6:15 AM CST<', html)
    assert "Tue Mar 3, 2026, 6:20 AM CST · OK" in html
    assert 'data-testid="sync-warning"' not in html
    assert re.search(r'data-testid="task-count">1<', html)
    assert re.search(r'data-testid="visible-count"[^>]*>1<', html)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"sync_status": "failed"}, "The last sync failed"),
        ({"sync_status": "partial"}, "The last sync was incomplete"),
        ({"quarantined": 7}, "7 rows could not be read; see <code>pms-bridge quarantine</code>"),
        ({"quarantined": 1}, "1 row could not be read; see <code>pms-bridge quarantine</code>"),
        ({"failed_sources": ["claims.csv", "referrals.csv"]}, "Not loaded in the last sync: claims.csv, referrals.csv"),
    ],
)
def test_sync_warning(overrides: dict[str, object], expected: str) -> None:
    html = render_task_list([make_task("a")], make_meta(**overrides))
    assert 'data-testid="sync-warning"' in html
    assert expected in html


def test_never_synced_and_unknown_data_age() -> None:
    html = render_task_list([], make_meta(sync_status=None, last_sync_at=None, data_as_of=None))
    assert "Never synced" in html
    assert re.search(r'data-testid="data-as-of">unknown<', html)


def test_naive_datetimes_are_practice_local() -> None:
    meta = make_meta(generated_at=datetime(2026, 3, 3, 7, 30))
    task = make_task("a", appointment_at=datetime(2026, 3, 5, 14, 45))
    html = render_task_list([task], meta)
    assert "Tue Mar 3, 2026, 7:30 AM CST" in html
    assert "Thu Mar 5, 2:45 PM" in html


def test_self_contained_no_external_references() -> None:
    tasks = [make_task("a"), make_task("b", role="financial", status="dismissed")]
    html = render_task_list(tasks, make_meta(sync_status="failed", quarantined=2))
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "@import" not in html and "url(" not in html
    assert '<meta charset="utf-8">' in html
    assert '<meta name="robots" content="noindex">' in html
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp is not None
    policy = csp.group(1)
    for directive in ("default-src 'none'", "style-src 'unsafe-inline'", "script-src 'unsafe-inline'", "img-src data:"):
        assert directive in policy


def test_filters_offered_for_what_is_present() -> None:
    tasks = [
        make_task("a", role="patient", severity="high"),
        make_task("b", role="financial", severity="low", status="dismissed"),
    ]
    html = render_task_list(tasks, make_meta())
    role_select = re.search(r'<select id="f-role" data-testid="role-filter">(.*?)</select>', html, re.DOTALL)
    assert role_select is not None
    assert re.findall(r'<option value="([^"]*)"', role_select.group(1)) == ["", "patient", "financial"]
    assert 'data-testid="status-filter"' in html
    assert 'data-testid="search"' in html
    # only open tasks: no status filter
    assert 'data-testid="status-filter"' not in render_task_list([make_task("a")], make_meta())


def test_print_stylesheet_present() -> None:
    html = render_task_list([make_task("a")], make_meta())
    assert "@media print" in html
    assert "break-inside: avoid" in html


def test_empty_list_is_friendly() -> None:
    html = render_task_list([], make_meta())
    assert "No open tasks" in html
    assert re.search(r'data-testid="task-count">0<', html)
    assert 'data-testid="task"' not in html
    assert 'data-testid="filters"' not in html
    assert "<script" not in html
    assert "Maple Grove Dental" in html


def test_clinic_badge_only_when_tasks_span_clinics() -> None:
    tasks = [make_task("a", clinic="MAIN"), make_task("b", clinic="Oak <Grove>", patient_id="102")]
    html = render_task_list(tasks, make_meta())
    doc = parse(html)
    text = {a["data-key"]: squash(t) for a, t in zip(doc.articles, doc.texts)}
    search = {a["data-key"]: a["data-search"] for a in doc.articles}
    assert "MAIN" in text["a"] and "MAIN" not in text["b"] and "Oak <Grove>" in text["b"]
    assert "Oak &lt;Grove&gt;" in html and "Oak <Grove>" not in html  # escaped like every PMS text
    assert search["b"].endswith("oak <grove>") and "oak" not in search["a"]
    one_clinic = render_task_list([make_task("a", clinic="MAIN"), make_task("b", clinic="MAIN")], make_meta())
    no_clinic = render_task_list([make_task("a"), make_task("b")], make_meta())
    assert 'data-testid="clinic"' in html
    assert 'data-testid="clinic"' not in one_clinic and 'data-testid="clinic"' not in no_clinic
    assert no_clinic == render_task_list([make_task("a", clinic=None), make_task("b")], make_meta())
