"""The ledger's lifecycle rules, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.ledger import Task, reconcile
from pms_bridge.ledger.reconcile import fingerprint
from pms_bridge.rules import Finding

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, tzinfo=TZ)
APT_AT = datetime(2026, 3, 5, 9, tzinfo=TZ)


def finding(title: str = "Appointment has no procedures attached", apt: str = "A1", subject: str = "A1") -> Finding:
    return Finding(rule="SCH003", subject_type="appointment", subject_id=subject, patient_id="P1",
                   appointment_id=apt, title=title, detail="d", due=date(2026, 3, 4))


def run(existing: dict[str, Task], findings: list[Finding], as_of: datetime = AS_OF, starts: dict | None = None,
        **kw):  # noqa: ANN003, ANN201
    return reconcile(existing, findings, as_of=as_of, tz=TZ, evaluated_rules={"SCH003"},
                     appointment_starts=starts if starts is not None else {"A1": APT_AT, "A2": APT_AT}, **kw)


def stored(update) -> dict[str, Task]:  # noqa: ANN001
    return dict(update.changed)


def test_a_new_finding_opens_a_task_with_rule_metadata() -> None:
    update = run({}, [finding()], assignees={"scheduling": "Sam"})
    (task,) = update.changed.values()
    assert (task.key, task.status, task.role, task.severity, task.assignee) == (
        "SCH003:appointment:A1", "open", "scheduling", "medium", "Sam")
    assert task.appointment_at == APT_AT and task.created_at == AS_OF and task.fix
    assert update.counts["opened"] == 1
    assert [(t.from_status, t.to_status) for t in update.transitions] == [(None, "open")]


def test_the_same_finding_again_changes_nothing() -> None:
    tasks = stored(run({}, [finding()]))
    again = run(tasks, [finding()], as_of=AS_OF + timedelta(hours=1))
    assert again.changed == {} and again.counts["unchanged"] == 1 and again.transitions == []


def test_an_open_task_is_updated_in_place() -> None:
    tasks = stored(run({}, [finding()]))
    later = AS_OF + timedelta(days=1)
    update = run(tasks, [finding(title="Still nothing attached")], as_of=later)
    (task,) = update.changed.values()
    assert task.title == "Still nothing attached" and task.updated_at == later and task.created_at == AS_OF
    assert update.transitions[0].changes == ["title"] and update.counts["updated"] == 1


def test_a_cleared_problem_resolves_and_a_past_appointment_expires() -> None:
    tasks = stored(run({}, [finding(), finding(apt="A2", subject="A2")]))
    later = datetime(2026, 3, 4, 8, tzinfo=TZ)
    update = run(tasks, [], as_of=later, starts={"A1": APT_AT, "A2": datetime(2026, 3, 3, 9, tzinfo=TZ)})
    statuses = {k: t.status for k, t in update.changed.items()}
    assert statuses == {"SCH003:appointment:A1": "resolved", "SCH003:appointment:A2": "expired"}
    assert all(t.resolved_at == later for t in update.changed.values())
    assert (update.counts["resolved"], update.counts["expired"]) == (1, 1)


def test_nothing_closes_when_the_data_was_incomplete_or_the_rule_was_not_run() -> None:
    tasks = stored(run({}, [finding()]))
    held = reconcile(tasks, [], as_of=AS_OF, tz=TZ, evaluated_rules={"SCH003"}, appointment_starts={"A1": APT_AT},
                     held={"SCH003": "appointment.csv has quarantined rows"})
    assert held.changed == {} and held.held == {"SCH003": 1}
    not_run = reconcile(tasks, [], as_of=AS_OF, tz=TZ, evaluated_rules={"REF001"}, appointment_starts={})
    assert not_run.changed == {}


def test_a_dismissed_task_stays_dismissed_until_its_subject_changes() -> None:
    tasks = stored(run({}, [finding()]))
    key = "SCH003:appointment:A1"
    tasks[key] = replace(tasks[key], status="dismissed", reason="handled by phone")
    prints = {key: fingerprint("A1", APT_AT, TZ)}
    assert run(tasks, [finding()], fingerprints=prints).changed == {}
    moved = run(tasks, [finding()], fingerprints=prints, starts={"A1": APT_AT + timedelta(days=2)})
    assert moved.changed[key].status == "open" and moved.counts["reopened"] == 1
    assert moved.transitions[0].cause.startswith("subject changed")


def test_a_resolved_problem_that_returns_is_reopened() -> None:
    tasks = stored(run({}, [finding()]))
    tasks = {**tasks, **stored(run(tasks, []))}
    back = run(tasks, [finding()])
    task = back.changed["SCH003:appointment:A1"]
    assert task.status == "open" and task.resolved_at is None and task.created_at == AS_OF
    assert back.transitions[0].from_status == "resolved"


def test_a_task_carries_its_clinic_and_follows_it() -> None:
    key = finding().key
    tasks = stored(run({}, [finding()], clinics={key: "MAIN"}))
    assert tasks[key].clinic == "MAIN" and tasks[key].to_json()["clinic"] == "MAIN"
    moved = run(tasks, [finding()], as_of=AS_OF + timedelta(hours=1), clinics={key: "OAK"})
    assert moved.changed[key].clinic == "OAK" and moved.transitions[0].changes == ["clinic"]
    assert stored(run({}, [finding()]))[key].clinic is None  # a single-clinic office
