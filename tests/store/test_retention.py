"""Retention: purge deletes exactly the practice's old closed history, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import event, func, select

from pms_bridge.ledger import Ledger, LedgerUpdate, Task, Transition
from pms_bridge.model import Appointment, Practice
from pms_bridge.sinks.pushes import PushLedger, PushRecord
from pms_bridge.store import QuarantinedRow, Store, schema
from pms_bridge.store.retention import KINDS, purge, purge_preview

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=730)
OLD = CUTOFF - timedelta(days=10)
RECENT = CUTOFF + timedelta(days=10)
MARKER = "Qzxpurgemarker"  # stands for PHI in a closed task's text


def _apt(aid: str, start: datetime, status: str) -> Appointment:
    return Appointment(source_id=aid, patient_id="1", start=start, minutes=30, status=status)


def _task(key: str, status: str, created: datetime, resolved: datetime | None) -> Task:
    rule, subject_type, subject_id = key.split(":")
    return Task(
        key=key, rule=rule, name="some-rule", status=status, severity="warning", role="patient", patient_id="1",
        appointment_id=None, subject_type=subject_type, subject_id=subject_id, title=f"{MARKER} title",
        detail=f"{MARKER} detail", fix="fix it", due=created.date(), created_at=created,
        updated_at=resolved or created, resolved_at=resolved,
    )


def _add_task(store: Store, key: str, status: str, created: datetime, resolved: datetime | None) -> None:
    """A task with its history: created at ``created``, closed at ``resolved``."""
    ledger = Ledger(store)
    ledger.apply(
        LedgerUpdate({key: _task(key, "open", created, None)}, [Transition(key, None, "open", "new finding")]),
        run_id=1, at=created,
    )
    if resolved is not None:
        ledger.apply(
            LedgerUpdate({key: _task(key, status, created, resolved)}, [Transition(key, "open", status, "closed")]),
            run_id=2, at=resolved,
        )


def _push(store: Store, sink: str, key: str, state: str, at: datetime) -> None:
    PushLedger(store, sink).save(
        PushRecord(key=key, state=state, text_hash="h", created_at=at, updated_at=at, remote_id="77", run_id=2)  # type: ignore[arg-type]
    )


def _add_run(store: Store, started: datetime, finished: datetime | None) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(schema.runs.insert().values(
            practice=store.practice.key, command="run", started_at=started, finished_at=finished,
            status="ok" if finished else "running", summary={},
        ))
        return int(result.inserted_primary_key[0])


def _add_quarantine(store: Store, at: datetime, source_id: str) -> None:
    row = QuarantinedRow("appointment.csv", "appointment", 2, source_id, "start", "not a date")
    with store.engine.begin() as conn:
        conn.execute(schema.quarantine.insert().values(
            practice=store.practice.key, run_id=1, source=row.source, resource=row.resource, line=row.line,
            source_id=row.source_id, field=row.field, reason=row.reason, created_at=at,
        ))


def _populate(store: Store) -> dict[str, int]:
    """One of everything, old and recent; returns the ids of the runs."""
    store.upsert_records("appointment", [
        _apt("1", OLD, "complete"),  # purged
        _apt("2", OLD, "broken"),  # purged
        _apt("3", OLD, "scheduled"),  # kept: still on the book
        _apt("4", RECENT, "complete"),  # kept: recent
        _apt("5", NOW + timedelta(days=7), "scheduled"),  # kept: future
    ], run_id=1)
    _add_task(store, "REF001:referral:1", "resolved", OLD - timedelta(days=5), OLD)  # purged
    _add_task(store, "FRM001:patient:2", "dismissed", OLD - timedelta(days=5), OLD)  # purged
    _add_task(store, "INS001:appointment:3", "expired", OLD - timedelta(days=5), OLD)  # purged
    _add_task(store, "XR001:patient:4", "resolved", OLD, RECENT)  # kept: closed recently
    _add_task(store, "FRM002:patient:5", "open", OLD - timedelta(days=5), None)  # kept: open, however old
    _push(store, "opendental-tasks", "REF001:referral:1", "closed", OLD)  # purged
    _push(store, "opendental-commlog", "REF001:referral:1", "sent", OLD)  # purged
    _push(store, "opendental-tasks", "XR001:patient:4", "closed", RECENT)  # kept
    _push(store, "opendental-tasks", "FRM002:patient:5", "sent", OLD)  # kept: the task is open
    _add_quarantine(store, OLD, "8")  # purged
    _add_quarantine(store, RECENT, "9")  # kept
    return {
        "old": _add_run(store, OLD - timedelta(hours=1), OLD),  # purged
        "crashed": _add_run(store, OLD, None),  # purged: started long ago, never finished
        "recent": _add_run(store, RECENT - timedelta(hours=1), RECENT),  # kept
        "latest": _add_run(store, NOW - timedelta(hours=1), NOW),  # kept
    }


EXPECTED = {"appointments": 2, "tasks": 3, "task_history": 6, "pushes": 2, "quarantine": 1, "runs": 2}


def _table_count(store: Store, table: str) -> int:
    t = schema.metadata.tables[table]
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t).where(t.c.practice == store.practice.key)).scalar_one()


def test_purge_deletes_exactly_the_old_closed_history(store: Store) -> None:
    runs = _populate(store)
    assert purge_preview(store, CUTOFF) == EXPECTED
    assert list(purge_preview(store, CUTOFF)) == list(KINDS)
    assert _table_count(store, "tasks") == 5  # the preview changed nothing

    assert purge(store, CUTOFF) == EXPECTED

    assert {r["source_id"] for r in store.rows("appointment")} == {"3", "4", "5"}
    ledger = Ledger(store)
    assert {t.key: t.status for t in ledger.tasks()} == {"XR001:patient:4": "resolved", "FRM002:patient:5": "open"}
    assert ledger.history("REF001:referral:1") == []
    assert [e.to_status for e in ledger.history("XR001:patient:4")] == ["open", "resolved"]
    assert [e.to_status for e in ledger.history("FRM002:patient:5")] == ["open"]
    assert set(PushLedger(store, "opendental-tasks").load()) == {"XR001:patient:4", "FRM002:patient:5"}
    assert PushLedger(store, "opendental-commlog").load() == {}
    assert [q.source_id for q in store.quarantined()] == ["9"]
    assert sorted(r.id for r in store.list_runs()) == sorted([runs["recent"], runs["latest"]])

    # Nothing is left to purge: a second purge deletes nothing.
    assert purge(store, CUTOFF) == dict.fromkeys(KINDS, 0)


def test_the_latest_run_is_always_kept(store: Store) -> None:
    first = _add_run(store, OLD - timedelta(days=3), OLD - timedelta(days=3))
    latest = _add_run(store, OLD, OLD)
    assert purge(store, NOW)["runs"] == 1
    assert [r.id for r in store.list_runs()] == [latest]
    assert first != latest
    assert purge(store, NOW)["runs"] == 0


def test_an_empty_store_purges_nothing(store: Store) -> None:
    assert purge_preview(store, CUTOFF) == dict.fromkeys(KINDS, 0)
    assert purge(store, CUTOFF) == dict.fromkeys(KINDS, 0)


def test_other_practices_are_never_touched(store: Store, store_url: str, practice: Practice) -> None:
    other = Store.open(store_url, Practice(key=practice.key + "-b", name="Other", timezone="America/Denver"))
    try:
        _populate(store)
        _populate(other)
        before = {name: _table_count(other, name) for name in ("tasks", "task_history", "pushes", "quarantine", "runs")}
        assert purge(store, CUTOFF) == EXPECTED
        assert other.count("appointment") == 5
        assert {name: _table_count(other, name) for name in before} == before
        assert purge_preview(other, CUTOFF) == EXPECTED
        # The latest run is the practice's own: the other practice's newer runs do not shield this one's.
        assert purge(other, CUTOFF) == EXPECTED
    finally:
        other.close()


def test_a_naive_cutoff_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="aware"):
        purge(store, datetime(2024, 1, 1))


def test_sqlite_file_keeps_no_trace_of_purged_rows(tmp_path: Path, practice: Practice) -> None:
    """Deleted rows are gone from the file and its write-ahead log (VACUUM + checkpoint), not just unlinked."""
    path = tmp_path / "store.sqlite"
    store = Store.open(f"sqlite:///{path}", practice)

    def on_disk() -> bytes:
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    try:
        _add_task(store, "REF001:referral:1", "resolved", OLD - timedelta(days=5), OLD)
        assert MARKER.encode() in on_disk()
        assert purge(store, CUTOFF)["tasks"] == 1
        assert MARKER.encode() not in on_disk()
    finally:
        store.close()


def test_a_purge_stands_when_the_file_cannot_be_compacted(tmp_path: Path, practice: Practice) -> None:
    """VACUUM copies the whole file: with no room for the copy it fails, named (disk full), and the purge stands."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}", practice)

    @event.listens_for(store.engine, "before_cursor_execute")
    def no_room(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement == "VACUUM":
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = 13  # SQLITE_FULL, as SQLite reports it
            raise full

    try:
        _add_task(store, "REF001:referral:1", "resolved", OLD - timedelta(days=5), OLD)
        with structlog.testing.capture_logs() as logs:
            assert purge(store, CUTOFF)["tasks"] == 1
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["store.failed", "store.vacuum_failed"]
        assert store.task_rows() == []
    finally:
        store.close()
