"""What a run reads of the ledger: the open tasks and the tasks of its findings, not every task ever stored."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.ledger import Ledger, reconcile
from pms_bridge.ledger.reconcile import fingerprint
from pms_bridge.rules import Finding
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, tzinfo=TZ)


def _finding(n: int) -> Finding:
    return Finding(rule="SCH003", subject_type="appointment", subject_id=f"A{n}", patient_id=f"P{n}",
                   appointment_id=f"A{n}", title="Appointment has no procedures attached", detail="d",
                   due=date(2026, 3, 4))


def _key(n: int) -> str:
    return f"SCH003:appointment:A{n}"


def _ledger(store: Store) -> Ledger:
    """Tasks 0-9 opened; then 0-3 resolved (not found again), 4 dismissed, 5-9 still open."""
    ledger = Ledger(store)
    starts = {f"A{n}": AS_OF + timedelta(days=3) for n in range(10)}
    first = reconcile({}, [_finding(n) for n in range(10)], as_of=AS_OF, tz=TZ, evaluated_rules={"SCH003"},
                      appointment_starts=starts)
    ledger.apply(first, 1, AS_OF)
    later = AS_OF + timedelta(days=1)
    second = reconcile({t.key: t for t in ledger.tasks()}, [_finding(n) for n in range(4, 10)], as_of=later, tz=TZ,
                       evaluated_rules={"SCH003"}, appointment_starts=starts)
    ledger.apply(second, 2, later)
    ledger.dismiss(_key(4), "handled", later)
    return ledger


def test_open_tasks_and_the_tasks_found_again(store: Store) -> None:
    ledger = _ledger(store)
    tasks, fingerprints = ledger.to_reconcile({_key(1), _key(4), _key(7), "SCH003:appointment:new"})
    assert sorted(tasks) == sorted([_key(1), _key(4), *(_key(n) for n in range(5, 10))])
    assert tasks[_key(1)].status == "resolved" and tasks[_key(4)].status == "dismissed"
    assert all(tasks[_key(n)].status == "open" for n in range(5, 10))
    assert fingerprints == {key: ledger.fingerprints()[key] for key in tasks}
    assert fingerprints[_key(4)] == fingerprint("A4", AS_OF + timedelta(days=3), TZ)


def test_nothing_found_reads_the_open_tasks_only(store: Store) -> None:
    tasks, _ = _ledger(store).to_reconcile(set())
    assert sorted(tasks) == sorted(_key(n) for n in range(5, 10))


def test_reconciling_with_what_it_reads_equals_reconciling_with_every_task(store: Store) -> None:
    ledger = _ledger(store)
    findings = [_finding(n) for n in (0, 4, 6, 11)]  # a resolved one back, the dismissed one, an open one, a new one
    at = AS_OF + timedelta(days=2)
    starts = {f"A{n}": AS_OF + timedelta(days=3) for n in range(12)} | {"A4": AS_OF + timedelta(days=4)}
    tasks, fingerprints = ledger.to_reconcile({f.key for f in findings})
    kw = {"as_of": at, "tz": TZ, "evaluated_rules": {"SCH003"}, "appointment_starts": starts}
    fast = reconcile(tasks, findings, fingerprints=fingerprints, **kw)
    slow = reconcile({t.key: t for t in ledger.tasks()}, findings, fingerprints=ledger.fingerprints(), **kw)
    assert fast.changed == slow.changed and fast.transitions == slow.transitions and fast.counts == slow.counts
    assert fast.counts["reopened"] == 2 and fast.counts["opened"] == 1  # 0 found again, 4's appointment moved


def test_one_task_by_key(store: Store) -> None:
    ledger = _ledger(store)
    task = ledger.task(_key(4))
    assert task is not None and task.status == "dismissed"
    assert ledger.task("SCH003:appointment:none") is None
