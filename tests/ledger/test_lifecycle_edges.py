"""The ledger's lifecycle at its edges: the instant an appointment starts, and a reopened task's age.

Each test here pins a boundary a plausible one-character change would move (``<=`` to ``<`` in
the expiry check, a reopen that forgets the first ``created_at``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.ledger import Ledger, Task, reconcile
from pms_bridge.ledger.reconcile import fingerprint
from pms_bridge.rules import Finding
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")
OPENED = datetime(2026, 3, 2, 8, tzinfo=TZ)  # the night the task was first opened
APT_AT = datetime(2026, 3, 5, 9, tzinfo=TZ)
KEY = "SCH003:appointment:A1"


def finding() -> Finding:
    return Finding(rule="SCH003", subject_type="appointment", subject_id="A1", patient_id="P1",
                   appointment_id="A1", title="Appointment has no procedures attached", detail="d",
                   due=date(2026, 3, 4))


def run(existing: dict[str, Task], findings: list[Finding], as_of: datetime, starts: dict | None = None,
        **kw):
    return reconcile(existing, findings, as_of=as_of, tz=TZ, evaluated_rules={"SCH003"},
                     appointment_starts={"A1": APT_AT} if starts is None else starts, **kw)


def opened() -> dict[str, Task]:
    update = run({}, [finding()], OPENED)
    assert update.changed[KEY].created_at == OPENED
    return dict(update.changed)


# ------------------------------------------------------------------- expired or resolved, to the instant
@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (APT_AT - timedelta(microseconds=1), "resolved"),  # not started yet: the problem was fixed in time
        (APT_AT - timedelta(minutes=1), "resolved"),
        (APT_AT, "expired"),  # starts exactly now: too late to work it
        (APT_AT + timedelta(microseconds=1), "expired"),
        (APT_AT + timedelta(hours=1), "expired"),
    ],
    ids=["1us-before", "1min-before", "exactly-at-start", "1us-after", "1h-after"],
)
def test_a_vanished_finding_expires_from_the_instant_its_appointment_starts(as_of: datetime, status: str) -> None:
    update = run(opened(), [], as_of)
    task = update.changed[KEY]
    assert task.status == status
    assert task.resolved_at == as_of and task.updated_at == as_of and task.created_at == OPENED
    assert update.counts[status] == 1 and sum(update.counts[s] for s in ("resolved", "expired")) == 1
    (transition,) = update.transitions
    assert (transition.from_status, transition.to_status) == ("open", status)
    expected_cause = "the appointment date passed" if status == "expired" else "no longer found"
    assert transition.cause == expected_cause


def test_the_start_compared_is_the_appointment_at_its_current_time_in_any_zone() -> None:
    # the same instant written in UTC is still "exactly at the start"
    at_start_utc = APT_AT.astimezone(ZoneInfo("UTC"))
    assert run(opened(), [], at_start_utc).changed[KEY].status == "expired"
    # the appointment moved a day later since the task was opened: not started yet, so resolved
    moved = run(opened(), [], APT_AT, starts={"A1": APT_AT + timedelta(days=1)})
    assert moved.changed[KEY].status == "resolved"
    # moved a day earlier: started already, so expired even though the stored start is ahead
    earlier = run(opened(), [], APT_AT - timedelta(hours=1), starts={"A1": APT_AT - timedelta(days=1)})
    assert earlier.changed[KEY].status == "expired"


@pytest.mark.parametrize(("as_of", "status"), [(APT_AT - timedelta(seconds=1), "resolved"), (APT_AT, "expired")])
def test_an_appointment_gone_from_the_snapshot_is_judged_by_its_stored_start(as_of: datetime, status: str) -> None:
    update = run(opened(), [], as_of, starts={})  # the appointment was deleted in the PMS
    assert update.changed[KEY].status == status


def test_an_open_task_whose_finding_is_still_there_stays_open_at_and_after_the_start() -> None:
    tasks = opened()
    for as_of in (APT_AT, APT_AT + timedelta(hours=2)):
        update = run(tasks, [finding()], as_of)
        assert KEY not in update.changed or update.changed[KEY].status == "open"
        assert update.counts["expired"] == update.counts["resolved"] == 0


# ------------------------------------------------------------------------- a reopened task keeps its age
def test_a_dismissed_task_reopened_because_its_appointment_moved_keeps_its_first_created_at() -> None:
    tasks = opened()
    tasks[KEY] = replace(tasks[KEY], status="dismissed", reason="handled by phone", resolved_at=OPENED)
    prints = {KEY: fingerprint("A1", APT_AT, TZ)}
    later = OPENED + timedelta(days=1, hours=2)
    moved_to = APT_AT + timedelta(days=3)
    update = run(tasks, [finding()], later, starts={"A1": moved_to}, fingerprints=prints)
    task = update.changed[KEY]
    assert task.status == "open" and update.counts["reopened"] == 1
    assert task.created_at == OPENED  # the task's age counts from when it was first found
    assert task.updated_at == later and task.appointment_at == moved_to
    assert task.resolved_at is None and task.reason is None


@pytest.mark.parametrize("closed_as", ["resolved", "expired"])
def test_a_closed_task_whose_problem_returns_keeps_its_first_created_at(closed_as: str) -> None:
    tasks = opened()
    closed_at = OPENED + timedelta(days=1)
    tasks[KEY] = replace(tasks[KEY], status=closed_as, resolved_at=closed_at, updated_at=closed_at)
    later = OPENED + timedelta(days=2)
    update = run(tasks, [finding()], later, starts={"A1": APT_AT + timedelta(days=7)})
    task = update.changed[KEY]
    assert task.status == "open" and update.transitions[0].from_status == closed_as
    assert task.created_at == OPENED and task.updated_at == later and task.resolved_at is None


def test_a_reopened_task_keeps_its_first_created_at_in_the_store(store: Store) -> None:
    """Through the store: open, dismiss (a person), then the appointment moves to another day."""
    ledger = Ledger(store)
    ledger.apply(run({}, [finding()], OPENED), None, OPENED)
    ledger.dismiss(KEY, "handled by phone", OPENED + timedelta(hours=3))
    dismissed = {t.key: t for t in ledger.tasks()}
    assert dismissed[KEY].status == "dismissed"

    same_day = OPENED + timedelta(days=1)
    assert run(dismissed, [finding()], same_day, fingerprints=ledger.fingerprints()).changed == {}

    later = OPENED + timedelta(days=2)
    moved = run(dismissed, [finding()], later, starts={"A1": APT_AT + timedelta(days=1)},
                fingerprints=ledger.fingerprints())
    ledger.apply(moved, None, later)
    (task,) = ledger.tasks()
    assert task.status == "open"
    assert task.created_at == OPENED and task.updated_at == later
    assert [h.to_status for h in ledger.history(KEY)] == ["open", "dismissed", "open"]
