"""Bulk writes at the driver store what SQLAlchemy would, and source hashes ride along with the records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from pms_bridge.model import Appointment, Procedure
from pms_bridge.store import Store
from pms_bridge.store.schema import SNAPSHOT_TABLES

TZ = ZoneInfo("America/Chicago")


def _procedure(pid: str, fee: str = "1234.50") -> Procedure:
    return Procedure(source_id=pid, patient_id="7", code="D2740", status="complete", procedure_date=date(2026, 2, 27),
                     fee=Decimal(fee), source_updated_at=datetime(2026, 2, 27, 16, 5, 30, 123456, tzinfo=TZ))


def test_bulk_rows_read_back_as_sqlalchemy_wrote_them(store: Store) -> None:
    """The same record written by the bulk path and by a plain SQLAlchemy insert reads back identically,
    and the store's own queries (ranges on times, code values) find it."""
    store.upsert_records("procedure", [_procedure("1")], run_id=1)
    table = SNAPSHOT_TABLES["procedure"]
    reference = {**_procedure("2").model_dump(), "practice": store.practice.key, "row_hash": "h",
                 "first_run": 1, "changed_run": 1, "source_hash": None}
    reference["status"] = reference["status"].value
    with store.engine.begin() as conn:
        conn.execute(insert(table), [reference])
        raw = {sid: tuple(rest) for sid, *rest in conn.execute(
            select(table.c.source_id, table.c.source_updated_at, table.c.procedure_date, table.c.fee, table.c.status))}
    assert raw["1"] == raw["2"] == (datetime(2026, 2, 27, 22, 5, 30, 123456, tzinfo=UTC), date(2026, 2, 27),
                                    Decimal("1234.50"), "complete")
    with store.engine.connect() as conn:  # the very same text and numbers, as the database holds them
        stored = conn.exec_driver_sql("SELECT source_updated_at, procedure_date, fee, status FROM procedures "
                                      "ORDER BY source_id").all()
    assert stored[0] == stored[1]
    start = datetime(2026, 3, 8, 9, 0, tzinfo=TZ)
    store.upsert_records("appointment", [Appointment(source_id="5", patient_id="7", start=start, minutes=40,
                                                     status="scheduled", is_new_patient=True)], run_id=1)
    assert store.scheduled_appointment_ids(date(2026, 3, 8), date(2026, 3, 8)) == {"5"}
    (row,) = store.rows("appointment")
    assert (row["start"], row["is_new_patient"], row["status"]) == (start.astimezone(UTC), True, "scheduled")


def test_a_source_hash_is_kept_and_filled_in_without_rewriting_the_row(store: Store) -> None:
    store.upsert_records("procedure", [_procedure("1"), _procedure("2")], run_id=1)  # as a schema-3 store had them
    assert store.source_hashes("procedure", ["1", "2", "3"]) == {"1": None, "2": None}
    counts = store.upsert_records("procedure", [_procedure("1"), _procedure("2", fee="9.00")], run_id=2,
                                  source_hashes={"1": "aaaa", "2": "bbbb"})
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 1)
    rows = {r["source_id"]: r for r in store.rows("procedure")}
    assert store.source_hashes("procedure", ["1", "2"]) == {"1": "aaaa", "2": "bbbb"}
    assert (rows["1"]["source_hash"], rows["1"]["changed_run"]) == ("aaaa", 1)  # the hash only: not a change
    assert (rows["2"]["source_hash"], rows["2"]["changed_run"], rows["2"]["fee"]) == ("bbbb", 2, Decimal("9.00"))


def test_a_large_batch_upserts_like_a_small_one(store: Store) -> None:
    """Hundreds of rows at once (PostgreSQL: COPY through a staging table) insert, update and keep first_run
    exactly as a few rows do."""
    many = [_procedure(str(i), fee=f"{i}.25") for i in range(450)]
    assert store.upsert_records("procedure", many, run_id=1).inserted == 450
    again = [_procedure(str(i), fee=f"{i + (1 if i % 3 == 0 else 0)}.25") for i in range(450)]
    counts = store.upsert_records("procedure", again, run_id=2, source_hashes={str(i): f"{i:016x}" for i in range(450)})
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 150, 300)
    rows = {r["source_id"]: r for r in store.rows("procedure")}
    assert len(rows) == 450
    for i in range(450):
        row, record = rows[str(i)], again[i]
        assert (row["fee"], row["first_run"], row["source_hash"]) == (record.fee, 1, f"{i:016x}")
        assert row["changed_run"] == (2 if i % 3 == 0 else 1)
        assert (row["source_updated_at"], row["status"]) == (record.source_updated_at, "complete")
    assert store.upsert_records("procedure", again, run_id=3).unchanged == 450  # and again: nothing to write
