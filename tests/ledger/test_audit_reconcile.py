"""Reconcile details a wrong change could break silently: the subject's day is the practice's local day,
a finding's own severity wins over the rule's, and a changed due date or assignee updates the open task."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.ledger import Task, reconcile
from pms_bridge.ledger.reconcile import fingerprint
from pms_bridge.rules import Finding

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, tzinfo=TZ)
EVENING = datetime(2026, 3, 5, 17, 30, tzinfo=TZ)  # 23:30 UTC
LATER_EVENING = datetime(2026, 3, 5, 19, 0, tzinfo=TZ)  # 01:00 UTC on March 6
KEY = "SCH003:appointment:A1"


def _finding(**kw: object) -> Finding:
    values: dict[str, object] = {"rule": "SCH003", "subject_type": "appointment", "subject_id": "A1",
                                 "patient_id": "P1", "appointment_id": "A1", "title": "No procedures",
                                 "detail": "d", "due": date(2026, 3, 4)}
    values.update(kw)
    return Finding(**values)  # type: ignore[arg-type]


def _run(existing: dict[str, Task], finding: Finding, start: datetime = EVENING, **kw: object):  # noqa: ANN202
    return reconcile(existing, [finding], as_of=AS_OF, tz=TZ, evaluated_rules={"SCH003"},
                     appointment_starts={"A1": start}, **kw)  # type: ignore[arg-type]


def test_the_fingerprint_is_the_local_day() -> None:
    assert fingerprint("A1", LATER_EVENING, TZ) == "A1@2026-03-05"
    assert fingerprint("A1", LATER_EVENING.astimezone(ZoneInfo("UTC")), TZ) == "A1@2026-03-05"
    assert fingerprint(None, None, TZ) == "@"


def test_a_dismissed_task_stays_closed_when_its_visit_moves_within_the_local_day() -> None:
    (task,) = _run({}, _finding()).changed.values()
    dismissed = {KEY: replace(task, status="dismissed", reason="handled")}
    prints = {KEY: fingerprint("A1", EVENING, TZ)}
    update = _run(dismissed, _finding(), start=LATER_EVENING, fingerprints=prints)
    assert update.changed == {} and update.counts["unchanged"] == 1
    moved = _run(dismissed, _finding(), start=EVENING + timedelta(days=1), fingerprints=prints)
    assert [t.to_status for t in moved.transitions] == ["open"] and moved.counts["reopened"] == 1


def test_a_findings_own_severity_wins_over_the_rules() -> None:
    (task,) = _run({}, _finding(severity="high")).changed.values()
    assert task.severity == "high"  # SCH003's own severity is medium
    (plain,) = _run({}, _finding()).changed.values()
    assert plain.severity == "medium"


def test_a_new_due_date_or_assignee_updates_the_open_task() -> None:
    (task,) = _run({}, _finding(), assignees={"scheduling": "Sam"}).changed.values()
    existing = {KEY: task}
    due = _run(existing, _finding(due=date(2026, 3, 3)), assignees={"scheduling": "Sam"})
    assert due.transitions[0].changes == ["due"] and due.changed[KEY].due == date(2026, 3, 3)
    handed = _run(existing, _finding(), assignees={"scheduling": "Kim"})
    assert handed.transitions[0].changes == ["assignee"] and handed.changed[KEY].assignee == "Kim"
