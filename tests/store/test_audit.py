"""The audit trail: task state changes and PMS pushes merged newest first, ids and codes only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pms_bridge.ledger import Ledger, LedgerUpdate, Task, Transition
from pms_bridge.model import Practice
from pms_bridge.sinks.pushes import PushLedger, PushRecord
from pms_bridge.store import Store
from pms_bridge.store.audit import AuditEvent, audit_events

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECRET = "Zyxtest Ona"  # a patient name in a task's title: never in the audit trail


def _task(key: str, status: str, at: datetime) -> Task:
    rule, subject_type, subject_id = key.split(":")
    return Task(
        key=key, rule=rule, name="some-rule", status=status, severity="warning", role="patient", patient_id="100",
        appointment_id=None, subject_type=subject_type, subject_id=subject_id, title=f"Call {SECRET}",
        detail=f"{SECRET} has no forms", fix="fix it", due=at.date(), created_at=at, updated_at=at,
        resolved_at=None if status == "open" else at,
    )


def _change(store: Store, key: str, old: str | None, new: str, cause: str, run_id: int | None, at: datetime) -> None:
    Ledger(store).apply(LedgerUpdate({key: _task(key, new, at)}, [Transition(key, old, new, cause)]), run_id, at)


def _push(store: Store, sink: str, key: str, state: str, run_id: int, at: datetime, remote_id: str | None) -> None:
    PushLedger(store, sink).save(PushRecord(
        key=key, state=state, text_hash="h", created_at=at, updated_at=at, remote_id=remote_id, run_id=run_id,  # type: ignore[arg-type]
    ))


def _history(store: Store) -> None:
    # run 1 opens two tasks and pushes one; run 2 resolves it and closes the push; a person dismisses the other.
    _change(store, "FRM001:patient:100", None, "open", "new finding", 1, T0)
    _change(store, "REF001:referral:7", None, "open", "new finding", 1, T0)
    _push(store, "opendental-tasks", "REF001:referral:7", "sent", 1, T0, "5001")
    _change(store, "FRM001:patient:100", "open", "resolved", "no longer found", 2, T0 + DAY)
    _push(store, "opendental-tasks", "FRM001:patient:100", "closed", 2, T0 + DAY, None)
    Ledger(store).dismiss("REF001:referral:7", "handled by phone", T0 + 2 * DAY)


def test_events_are_merged_newest_first(store: Store) -> None:
    _history(store)
    events = audit_events(store, None, None, None, 200)
    assert [(e.kind, e.key, e.to_status or e.state) for e in events] == [
        ("task", "REF001:referral:7", "dismissed"),
        ("push", "FRM001:patient:100", "closed"),  # at the same instant, the push follows the change it carries
        ("task", "FRM001:patient:100", "resolved"),
        ("push", "REF001:referral:7", "sent"),
        ("task", "REF001:referral:7", "open"),
        ("task", "FRM001:patient:100", "open"),
    ]
    assert events[0] == AuditEvent(
        at=T0 + 2 * DAY, kind="task", run_id=None, key="REF001:referral:7", rule="REF001",
        from_status="open", to_status="dismissed", cause="dismissed: handled by phone",
    )
    assert events[3] == AuditEvent(
        at=T0, kind="push", run_id=1, key="REF001:referral:7", rule="REF001",
        sink="opendental-tasks", state="sent", remote_id="5001",
    )
    assert events[-1].from_status is None and events[-1].cause == "new finding" and events[-1].run_id == 1
    assert all(e.at.tzinfo is not None for e in events)


def test_filters_since_key_run_and_limit(store: Store) -> None:
    _history(store)
    since = audit_events(store, T0 + DAY, None, None, 200)
    assert [e.at for e in since] == [T0 + 2 * DAY, T0 + DAY, T0 + DAY]
    by_key = audit_events(store, None, "REF001:referral:7", None, 200)
    assert {e.key for e in by_key} == {"REF001:referral:7"} and len(by_key) == 3
    run2 = audit_events(store, None, None, 2, 200)
    assert [(e.kind, e.run_id) for e in run2] == [("push", 2), ("task", 2)]
    assert audit_events(store, None, "FRM001:patient:100", 1, 200) == [
        AuditEvent(at=T0, kind="task", run_id=1, key="FRM001:patient:100", rule="FRM001",
                   to_status="open", cause="new finding")
    ]
    assert [e.at for e in audit_events(store, None, None, None, 2)] == [T0 + 2 * DAY, T0 + DAY]
    assert audit_events(store, None, None, None, 0) == []
    assert audit_events(store, T0 + 3 * DAY, None, None, 200) == []


def test_ids_and_codes_only(store: Store) -> None:
    _history(store)
    lines = [json.dumps(e.to_json()) for e in audit_events(store, None, None, None, 200)]
    assert lines and all(SECRET not in line and "Call" not in line for line in lines)
    first = json.loads(lines[0])
    assert set(first) == {"at", "kind", "run_id", "key", "rule", "from_status", "to_status", "cause", "sink",
                          "state", "remote_id"}
    assert first["at"] == (T0 + 2 * DAY).isoformat()


def test_other_practices_events_are_not_shown(store: Store, store_url: str, practice: Practice) -> None:
    other = Store.open(store_url, Practice(key=practice.key + "-b", name="Other", timezone="America/Denver"))
    try:
        _history(other)
        assert audit_events(store, None, None, None, 200) == []
        _change(store, "XR001:patient:1", None, "open", "new finding", 9, T0)
        assert [e.key for e in audit_events(store, None, None, None, 200)] == ["XR001:patient:1"]
        assert len(audit_events(other, None, None, None, 200)) == 6
    finally:
        other.close()


def test_a_naive_since_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="aware"):
        audit_events(store, datetime(2026, 3, 1), None, None, 10)
