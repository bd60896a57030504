"""The store on SQLite and on PostgreSQL: upserts, cursors, runs, quarantine."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, inspect, text

from pms_bridge.model import Appointment, Patient, Practice
from pms_bridge.store import QuarantinedRow, Store, StoreError
from pms_bridge.store.engine import ensure_schema

TZ = ZoneInfo("America/Chicago")


def _patient(pid: str, last: str = "Testlast", status: str = "patient") -> Patient:
    return Patient(source_id=pid, last_name=last, first_name="Ann", birth_date=date(1990, 1, 2), status=status)


def _appointment(aid: str, minutes: int = 60) -> Appointment:
    return Appointment(
        source_id=aid, patient_id="1", start=datetime(2026, 3, 8, 9, 0, tzinfo=TZ), minutes=minutes, status="scheduled"
    )


def test_upsert_counts_new_changed_unchanged(store: Store) -> None:
    first = store.upsert_records("patient", [_patient("1"), _patient("2")], run_id=1)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)

    again = store.upsert_records("patient", [_patient("1"), _patient("2", last="Changed")], run_id=2)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert store.count("patient") == 2

    rows = {r["source_id"]: r for r in store.rows("patient")}
    assert rows["2"]["last_name"] == "Changed"
    assert rows["2"]["first_run"] == 1 and rows["2"]["changed_run"] == 2
    assert rows["1"]["changed_run"] == 1


def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    store.upsert_records("appointment", [_appointment("5")], run_id=1)
    (row,) = store.rows("appointment")
    assert row["start"] == datetime(2026, 3, 8, 9, 0, tzinfo=TZ)
    assert row["start"].tzinfo is not None
    assert row["status"] == "scheduled"


def test_practices_are_kept_apart(store_url: str, practice: Practice) -> None:
    other = Practice(key=practice.key + "-b", name="Other", timezone="America/Denver")
    a, b = Store.open(store_url, practice), Store.open(store_url, other)
    try:
        a.upsert_records("patient", [_patient("1")], run_id=1)
        b.upsert_records("patient", [_patient("1", last="Elsewhere"), _patient("2")], run_id=1)
        assert a.count("patient") == 1 and b.count("patient") == 2
        assert a.rows("patient")[0]["last_name"] == "Testlast"
    finally:
        a.close()
        b.close()


def test_cursor_advances_and_reads_back(store: Store) -> None:
    assert store.get_cursor("appointment") is None
    store.set_cursor("appointment", "2026-03-01 00:00:00", run_id=1)
    store.set_cursor("appointment", "2026-03-02 00:00:00", run_id=2)
    assert store.get_cursor("appointment") == "2026-03-02 00:00:00"


def test_runs_and_quarantine(store: Store) -> None:
    as_of = datetime(2026, 3, 2, 8, tzinfo=TZ)
    run_id = store.start_run("run", as_of)
    store.quarantine(run_id, [QuarantinedRow("appointment.csv", "appointment", 7, "42", "start", "not a date")])
    store.finish_run(run_id, "partial", {"quarantined": 1})
    (run,) = store.list_runs()
    assert run.id == run_id and run.status == "partial" and run.summary == {"quarantined": 1}
    assert run.as_of == as_of
    assert store.quarantined(run_id) == [
        QuarantinedRow("appointment.csv", "appointment", 7, "42", "start", "not a date")
    ]


def test_references_round_trip(store: Store) -> None:
    store.save_references("definition", {"10": {"ItemName": "BWs", "Category": "18"}})
    store.save_references("definition", {"10": {"ItemName": "Bitewings", "Category": "18"}})
    tables = store.load_references(["definition", "carrier"])
    assert tables == {"definition": {"10": {"ItemName": "Bitewings", "Category": "18"}}, "carrier": {}}


def test_large_batch_is_one_round_trip_per_batch(store: Store) -> None:
    patients = [_patient(str(i)) for i in range(3000)]
    counts = store.upsert_records("patient", patients, run_id=1)
    assert counts.inserted == 3000 and store.count("patient") == 3000


def test_sqlite_file_is_owner_only(tmp_path: Path, practice: Practice) -> None:
    path = tmp_path / "new-dir" / "store.sqlite"
    store = Store.open(f"sqlite:///{path}", practice)
    store.upsert_records("patient", [_patient("1")], run_id=1)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in path.parent.iterdir():  # WAL and shared-memory files follow the database's mode
        assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0, sidecar.name


def test_newer_store_is_refused(tmp_path: Path, practice: Practice) -> None:
    path = tmp_path / "new.sqlite"
    Store.open(f"sqlite:///{path}", practice).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_info SET version = 999"))
    with pytest.raises(StoreError, match="newer pms-bridge"):
        ensure_schema(engine)


def test_data_as_of_is_newest_source_change(store: Store) -> None:
    assert store.data_as_of() is None
    newer = datetime(2026, 3, 1, 17, 0, tzinfo=TZ)
    store.upsert_records(
        "patient",
        [
            _patient("1").model_copy(update={"source_updated_at": datetime(2026, 2, 1, tzinfo=TZ)}),
            _patient("2").model_copy(update={"source_updated_at": newer}),
        ],
        run_id=1,
    )
    assert store.data_as_of() == newer.astimezone(UTC)


def test_an_appointment_on_the_book_needs_a_start() -> None:
    from pydantic import ValidationError

    for status in ("scheduled", "complete", "broken"):
        with pytest.raises(ValidationError, match="only planned and unscheduled-list"):
            Appointment(source_id="7", patient_id="1", minutes=30, status=status)
    assert Appointment(source_id="7", patient_id="1", minutes=30, status="unscheduled").start is None


def test_a_store_that_lost_a_table_is_an_error_not_a_fresh_start(tmp_path: Path, practice: Practice) -> None:
    path = tmp_path / "damaged.sqlite"
    store = Store.open(f"sqlite:///{path}", practice)
    store.close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE tasks"))
    with pytest.raises(StoreError, match=r"lacks table\(s\) it had \(tasks\).*Restore it from a backup"):
        ensure_schema(engine)
    assert "tasks" not in inspect(engine).get_table_names()  # nothing recreated over the damage


def test_an_older_store_gets_the_tables_it_never_had(tmp_path: Path, practice: Practice) -> None:
    path = tmp_path / "old.sqlite"
    Store.open(f"sqlite:///{path}", practice).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # schema 1 had no providers' code times
        conn.execute(text("DROP TABLE provider_code_times"))
        conn.execute(text("UPDATE schema_info SET version = 1"))
    ensure_schema(engine)
    assert "provider_code_times" in inspect(engine).get_table_names()


def test_data_as_of_ignores_change_stamps_from_the_future(store: Store) -> None:
    """A year-9998 stamp (a typo in the PMS) must not make every later --as-of look backdated."""
    real = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    store.upsert_records("patient", [
        _patient("1").model_copy(update={"source_updated_at": real}),
        _patient("2").model_copy(update={"source_updated_at": datetime(9998, 1, 1, tzinfo=UTC)}),
    ], run_id=1)
    assert store.data_as_of() == real
