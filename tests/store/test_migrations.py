"""Schema upgrades: a store of every released schema is brought up to date with its rows, and ends up
with the same tables, columns and indexes as a fresh store; newer and damaged stores are left alone."""

from __future__ import annotations

import hashlib
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from pms_bridge.model import Appointment, Practice
from pms_bridge.store import Store, StoreError
from pms_bridge.store.migrations import STEPS, TABLES_AT, ensure_schema
from pms_bridge.store.schema import SCHEMA_VERSION, metadata

SCHEMAS = Path(__file__).parent / "schemas"
# Every shape a released store can have (tests/store/schemas: DDL from the git history).
RELEASED = {"schema-1a": 1, "schema-1b": 1, "schema-1c": 1, "schema-1d": 1, "schema-2": 2, "schema-3": 3,
            "schema-4": 4}
PRACTICE = Practice(key="synth", name="Synthetic Dental", timezone="America/Chicago")
START = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)


def _statements(shape: str, dialect: str) -> list[str]:
    body = "\n".join(line for line in (SCHEMAS / f"{shape}.{dialect}.sql").read_text().splitlines()
                     if not line.startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _build(engine: Engine, shape: str) -> None:
    """A store as that release left it, with a few synthetic rows."""
    with engine.begin() as conn:
        for statement in _statements(shape, engine.dialect.name):
            conn.exec_driver_sql(statement)
        tables = set(inspect(conn).get_table_names())
        patient_columns = {c["name"] for c in inspect(conn).get_columns("patients")}
        conn.execute(text("INSERT INTO schema_info (id, version) VALUES (1, :v)"), {"v": RELEASED[shape]})
        conn.execute(text("INSERT INTO practices (key, name, timezone) VALUES ('synth', 'Synthetic Dental', "
                          "'America/Chicago')"))
        patient = {"practice": "synth", "source_id": "p1", "last_name": "Synthlast", "first_name": "Syn",
                   "row_hash": "h", "first_run": 1, "changed_run": 1}
        if "phone" in patient_columns:
            patient |= {"phone": "555-0100", "email": "syn@example.test"}
        conn.execute(text(f"INSERT INTO patients ({', '.join(patient)}) VALUES ({', '.join(':' + k for k in patient)})"),
                     patient)
        conn.execute(text(
            "INSERT INTO appointments (practice, source_id, patient_id, start, minutes, status, row_hash, first_run, "
            "changed_run) VALUES ('synth', 'a1', 'p1', :start, 60, 'scheduled', 'h', 1, 1)"),
            {"start": START.replace(tzinfo=None)})
        conn.execute(text("INSERT INTO runs (practice, command, started_at, status) VALUES "
                          "('synth', 'run', :at, 'ok')"), {"at": START.replace(tzinfo=None)})
        if "tasks" in tables:
            conn.execute(text(
                "INSERT INTO tasks (practice, key, rule, name, status, severity, role, patient_id, subject_type, "
                "subject_id, title, detail, fix, due, created_at, updated_at, fingerprint, data, last_run) VALUES "
                "('synth', 'FRM001:patient:p1', 'FRM001', 'forms', 'dismissed', 'warning', 'patient', 'p1', "
                "'patient', 'p1', 't', 'd', 'f', :due, :at, :at, 'fp', '{}', 1)"),
                {"due": date(2026, 3, 9), "at": START.replace(tzinfo=None)})
        if "pushes" in tables:
            conn.execute(text(
                "INSERT INTO pushes (practice, sink, key, remote_id, state, text_hash, created_at, updated_at) "
                "VALUES ('synth', 'opendental-tasks', 'FRM001:patient:p1', '77', 'sent', 'h', :at, :at)"),
                {"at": START.replace(tzinfo=None)})


def _layout(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullable), primary keys and indexes, as the database reports them."""
    inspector = inspect(engine)
    layout: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        layout[table] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)},
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
        }
    return layout


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM schema_info")).scalar_one()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Makes empty databases (SQLite files, or PostgreSQL databases dropped afterwards): url = new_database()."""
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    server = make_url(request.getfixturevalue("postgres_url")).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"pmsb_test_{int(time.time())}_{uuid.uuid4().hex[:8]}"  # a killed session's leftovers are swept (conftest)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        made.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.mark.parametrize("shape", sorted(RELEASED))
def test_every_released_schema_upgrades_with_its_rows(new_database: Any, shape: str) -> None:
    fresh_url, old_url = new_database(), new_database()
    Store.open(fresh_url, PRACTICE).close()
    old = create_engine(old_url)
    _build(old, shape)
    had_tasks = "tasks" in inspect(old).get_table_names()

    store = Store.open(old_url, PRACTICE)
    try:
        (patient,) = store.rows("patient")
        assert (patient["source_id"], patient["last_name"], patient["first_name"]) == ("p1", "Synthlast", "Syn")
        assert "phone" not in patient and "email" not in patient  # dropped by name in step 2 (privacy)
        (appointment,) = store.rows("appointment")
        assert appointment["start"] == START and appointment["clinic"] is None
        assert [(r.command, r.status) for r in store.list_runs()] == [("run", "ok")]
        assert [t["status"] for t in store.task_rows()] == (["dismissed"] if had_tasks else [])
        assert [p["remote_id"] for p in store.push_rows("opendental-tasks")] == \
            (["77"] if shape not in ("schema-1a", "schema-1b") else [])
        planned = Appointment(source_id="a2", patient_id="p1", minutes=30, status="planned")
        assert store.upsert_records("appointment", [planned], run_id=2).inserted == 1  # start may be NULL now
    finally:
        store.close()
    fresh = create_engine(fresh_url)
    try:
        assert _version(old) == SCHEMA_VERSION
        assert _layout(old) == _layout(fresh)
    finally:
        old.dispose()
        fresh.dispose()


def test_every_version_has_its_step_and_its_tables() -> None:
    assert sorted(STEPS) == list(range(2, SCHEMA_VERSION + 1))
    assert TABLES_AT[SCHEMA_VERSION] == set(metadata.tables)
    assert set(RELEASED.values()) == set(range(1, SCHEMA_VERSION))  # a released schema per older version


def test_a_newer_store_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    Store.open(f"sqlite:///{path}", PRACTICE).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_info SET version = :v"), {"v": SCHEMA_VERSION + 1})
        conn.execute(text("DROP TABLE run_locks"))  # a newer pms-bridge may have reshaped anything
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    engine.dispose()
    path.chmod(0o644)
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(StoreError, match=rf"written by a newer pms-bridge \(schema {SCHEMA_VERSION + 1}; .*"
                                         r"upgrade pms-bridge. The store was not changed"):
        Store.open(f"sqlite:///{path}", PRACTICE)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not even its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.sqlite"]  # no journal left behind


@pytest.mark.postgres
def test_a_newer_postgres_store_is_left_untouched(new_database: Any) -> None:
    url = new_database()
    Store.open(url, PRACTICE).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE schema_info SET version = :v"), {"v": SCHEMA_VERSION + 1})
        conn.execute(text("DROP TABLE run_locks"))
    before = _layout(engine)
    with pytest.raises(StoreError, match="newer pms-bridge"):
        Store.open(url, Practice(key="another", name="Another", timezone="UTC"))
    assert _layout(engine) == before
    with engine.connect() as conn:  # the practice was not registered either
        assert conn.execute(text("SELECT key FROM practices")).scalars().all() == ["synth"]
    engine.dispose()


def test_a_column_nobody_knows_is_kept_and_a_patient_sounding_one_mentioned(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store.open(url, PRACTICE).close()
    engine = create_engine(url)
    with engine.begin() as conn:  # an integrator's own columns
        conn.execute(text("ALTER TABLE patients ADD COLUMN home_phone TEXT"))
        conn.execute(text("ALTER TABLE runs ADD COLUMN ticket TEXT"))
        conn.execute(text("INSERT INTO patients (practice, source_id, row_hash, first_run, changed_run, home_phone) "
                          "VALUES ('synth', 'p9', 'h', 1, 1, '555-0199')"))
    with structlog.testing.capture_logs() as logs:
        Store.open(url, PRACTICE).close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT home_phone FROM patients")).scalar_one() == "555-0199"
        assert "ticket" in {c["name"] for c in inspect(conn).get_columns("runs")}
    engine.dispose()
    warned = [e for e in logs if e["event"] == "store.unknown_columns" and e["log_level"] == "warning"]
    # Only the patient-sounding column is warned about (the other one at info level), and never a value.
    assert [(e["table"], e["columns"], e["may_hold_patient_data"]) for e in warned] == [
        ("patients", ["home_phone"], ["home_phone"])]
    assert "555-0199" not in repr(logs)


def test_a_current_store_that_lost_a_column_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store.open(f"sqlite:///{path}", PRACTICE).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE appointments DROP COLUMN booked_at"))
    with pytest.raises(StoreError, match=r"lacks column\(s\) it had \(appointments.booked_at\): it looks damaged"):
        ensure_schema(engine)
    assert "booked_at" not in {c["name"] for c in inspect(engine).get_columns("appointments")}  # not re-added


def test_a_store_without_a_version_is_damaged_not_fresh(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store.open(f"sqlite:///{path}", PRACTICE).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_info"))
    with pytest.raises(StoreError, match=r"has pms-bridge tables \(\d+\) but no schema version: it looks damaged"):
        ensure_schema(engine)


def test_each_step_commits_with_its_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = create_engine(url)
    _build(engine, "schema-1d")

    def broken(conn: Any) -> None:
        conn.exec_driver_sql("CREATE TABLE run_locks (practice TEXT)")
        raise RuntimeError("power cut")

    monkeypatch.setitem(STEPS, 3, broken)
    with pytest.raises(RuntimeError, match="power cut"):
        ensure_schema(engine)
    assert _version(engine) == 2  # step 2 stands; step 3 left nothing behind
    assert "run_locks" not in inspect(engine).get_table_names()
    monkeypatch.undo()
    ensure_schema(engine)
    assert _version(engine) == SCHEMA_VERSION
    engine.dispose()
