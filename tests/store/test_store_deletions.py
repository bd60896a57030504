"""What the sync asks the store when it looks for rows deleted in the PMS (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pms_bridge.model import Appointment, Document, Patient
from pms_bridge.store import Store, schema

TZ = ZoneInfo("America/Chicago")


def _patient(pid: str, first_contact: date | None, status: str = "patient") -> Patient:
    return Patient(source_id=pid, last_name="Testlast", first_name="Ann", birth_date=date(1990, 1, 2),
                   status=status, first_contact_date=first_contact)


def _task(store: Store, key: str, rule: str, patient: str, status: str = "open") -> None:
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(schema.tasks.insert().values(
            practice=store.practice.key, key=key, rule=rule, name="x", status=status, severity="high",
            role="patient", patient_id=patient, subject_type="patient", subject_id=patient, title="t", detail="d",
            fix="f", due=date(2026, 3, 4), created_at=now, updated_at=now, fingerprint="fp", data={}, last_run=1,
        ))


def test_ids_of_patients(store: Store) -> None:
    docs = [Document(source_id=sid, patient_id=pid) for sid, pid in (("1", "7"), ("mount-1", "7"), ("2", "8"))]
    store.upsert_records("document", docs, run_id=1)
    assert store.ids_of_patients("document", ["7", "9"]) == {"1", "mount-1"}
    assert store.ids_of_patients("document", [str(n) for n in range(2500)]) == {"1", "mount-1", "2"}
    assert store.ids_of_patients("document", []) == set()


def test_patients_with_open_referral_tasks_newest_first_contact_first(store: Store) -> None:
    store.upsert_records("patient", [
        _patient("1", date(2026, 2, 1)), _patient("2", date(2026, 2, 25)), _patient("3", None),
        _patient("4", date(2026, 2, 27), status="deleted"), _patient("5", date(2026, 2, 28)),
        _patient("6", date(2026, 2, 28)),
    ], run_id=1)
    _task(store, "REF001:patient:1", "REF001", "1")
    _task(store, "REF003:patient:2", "REF003", "2")
    _task(store, "REF001:patient:3", "REF001", "3")
    _task(store, "REF001:patient:4", "REF001", "4")  # already known deleted: not asked again
    _task(store, "REF001:patient:5", "REF001", "5", status="resolved")
    _task(store, "XR001:patient:6", "XR001", "6")  # not a referral task
    assert store.patients_with_open_tasks(("REF",), 10) == ["2", "1", "3"]
    assert store.patients_with_open_tasks(("REF",), 2) == ["2", "1"]
    assert store.patients_with_open_tasks(("REF", "XR"), 1) == ["6"]


def test_deleted_patients_need_no_details(store: Store) -> None:
    store.upsert_records("patient", [_patient("1", date(2026, 2, 20)), _patient("2", date(2026, 2, 21), "deleted")],
                         run_id=1)
    store.upsert_records("appointment", [Appointment(
        source_id="9", patient_id="2", start=datetime(2026, 3, 3, 9, 0, tzinfo=TZ), minutes=30, status="scheduled",
    )], run_id=1)
    assert store.patients_needing_detail(date(2026, 3, 2), date(2026, 3, 16), date(2025, 12, 1), date(2025, 3, 1)) \
        == {"1"}


def test_id_lists_longer_than_one_in_batch_are_asked_for_whole(store: Store) -> None:
    """Lookups and removals by id span several IN batches: no id at a batch's edge is dropped."""
    count = schema.IN_BATCH * 2 + 3
    store.upsert_records("patient", [_patient(str(n), None) for n in range(count)], run_id=1)
    asked = [str(n) for n in range(count + 5)]  # five ids nobody stored
    assert store.stored_among("patient", asked) == {str(n) for n in range(count)}
    assert set(store.source_hashes("patient", sorted(asked))) == {str(n) for n in range(count)}
    assert store.remove("patient", asked) == count
    assert store.count("patient") == 0


def test_in_batches_cover_every_value_once() -> None:
    values = list(range(11))
    assert [list(b) for b in schema.in_batches(values, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert list(schema.in_batches([], 4)) == []
    assert [list(b) for b in schema.in_batches(values, 11)] == [values]
