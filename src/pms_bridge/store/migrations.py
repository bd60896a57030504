"""The store's schema versions and the explicit step from each to the next.

Every released schema (reconstructed from the git history; ``schema_info`` existed from the first
release on, so there is no unversioned store):

- 1: the first release. Its stores came in four shapes as features were added without a version bump:
  the snapshot and the store's own tables only; then with ``tasks`` and ``task_history``; then with
  ``pushes``; and ``patients`` with or without ``phone`` and ``email``, which the model stopped
  keeping.
- 2: ``appointments.start`` may be NULL (planned appointments); ``clinic_id`` / ``clinic`` on
  appointments and patients, ``procedure_codes.time_pattern``, ``tasks.clinic``, the
  ``provider_code_times`` table.
- 3: ``run_locks`` (who holds a practice's run lock on a PostgreSQL store).
- 4: ``source_hash`` on every snapshot table: the hash of the source row a record was mapped from, so
  the next night skips unchanged rows before mapping them (rows stored before have none: they are mapped
  once more, then carry one).
- 5: the ``claim_procedures`` table (which procedures are on which claim or pre-authorization),
  ``carrier_id`` / ``carrier_name`` on claims, and indexes on procedures (status with procedure date,
  status with plan date) and claims (status with sent date) for the claim and treatment rules.

How a store is opened (:func:`ensure_schema`): its version is read before anything is written (no
table created, no journal mode set, no file mode changed). A store from a newer pms-bridge is refused
untouched; a store that lost a table or column it had is refused as damaged; an older one is brought
up one step at a time, each step in its own transaction with its version bump. A column the model no
longer keeps is never dropped unless a step names it; columns nobody knows are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)

from pms_bridge.store.errors import StoreError, file_failure
from pms_bridge.store.schema import SCHEMA_VERSION, metadata, schema_info

log = structlog.get_logger("pms_bridge.store")

_V1_TABLES = frozenset({
    "appointments", "claims", "coverages", "cursors", "documents", "forms", "patients", "practices",
    "procedure_codes", "procedures", "providers", "quarantine", "reference_rows", "referrals", "runs",
    "schema_info", "verifications",
})
# The tables a store of each version has for certain (a schema-1 store may also have later ones).
TABLES_AT: dict[int, frozenset[str]] = {
    1: _V1_TABLES,
    2: _V1_TABLES | {"tasks", "task_history", "pushes", "provider_code_times"},
    3: _V1_TABLES | {"tasks", "task_history", "pushes", "provider_code_times", "run_locks"},
}
TABLES_AT[4] = TABLES_AT[3]
TABLES_AT[5] = TABLES_AT[4] | {"claim_procedures"}

# Column names that sound like patient data: such a column the model does not know is mentioned.
_PHI_LIKE = re.compile(r"phone|mail|address|street|city|zip|postal|birth|ssn|social|subscriber|note|name", re.IGNORECASE)


# ------------------------------------------------------------------ steps
# Tables a step creates are written out as they were at that version, not taken from the current model.

_frozen = MetaData()


def _id() -> Column[int]:
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


_tasks_v1 = Table(
    "tasks", _frozen,
    Column("practice", String(63), primary_key=True), Column("key", String(200), primary_key=True),
    Column("rule", String(16), nullable=False), Column("name", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True), Column("severity", String(8), nullable=False),
    Column("role", String(16), nullable=False), Column("assignee", Text),
    Column("patient_id", String(64), nullable=False), Column("appointment_id", String(64)),
    Column("appointment_at", DateTime), Column("subject_type", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False), Column("title", Text, nullable=False),
    Column("detail", Text, nullable=False), Column("fix", Text, nullable=False), Column("due", Date, nullable=False),
    Column("created_at", DateTime, nullable=False), Column("updated_at", DateTime, nullable=False),
    Column("resolved_at", DateTime), Column("reason", Text), Column("fingerprint", String(200), nullable=False),
    Column("data", JSON, nullable=False), Column("last_run", BigInteger, nullable=False),
)
_task_history_v1 = Table(
    "task_history", _frozen, _id(),
    Column("practice", String(63), nullable=False), Column("key", String(200), nullable=False),
    Column("run_id", BigInteger), Column("at", DateTime, nullable=False), Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False), Column("cause", Text, nullable=False), Column("changes", JSON),
    Index("ix_task_history_key", "practice", "key"),
)
_pushes_v1 = Table(
    "pushes", _frozen,
    Column("practice", String(63), primary_key=True), Column("sink", String(32), primary_key=True),
    Column("key", String(200), primary_key=True), Column("remote_id", String(64)),
    Column("state", String(16), nullable=False), Column("target", String(64)),
    Column("text_hash", String(40), nullable=False), Column("remote_created", DateTime), Column("run_id", BigInteger),
    Column("created_at", DateTime, nullable=False), Column("updated_at", DateTime, nullable=False),
)
_provider_code_times_v2 = Table(
    "provider_code_times", _frozen,
    Column("practice", String(63), primary_key=True), Column("source_id", String(64), primary_key=True),
    Column("source_updated_at", DateTime), Column("code", Text, nullable=False),
    Column("provider_id", Text, nullable=False), Column("time_pattern", Text, nullable=False),
    Column("row_hash", String(40), nullable=False), Column("first_run", BigInteger, nullable=False),
    Column("changed_run", BigInteger, nullable=False),
)
_run_locks_v3 = Table(
    "run_locks", _frozen,
    Column("practice", String(63), primary_key=True), Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False), Column("command", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
)


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _add_column(conn: Connection, table: str, column: str, ddl_type: str) -> None:
    if column not in _columns(conn, table):
        conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column}" {ddl_type}'))


def _create(conn: Connection, table: Table) -> None:
    table.create(conn, checkfirst=True)


def _sqlite_relax_start(conn: Connection) -> None:
    """appointments.start NOT NULL -> NULL on SQLite, which cannot alter a column: the table is rebuilt
    from its own definition with that one constraint removed (every column, known or not, kept)."""
    ddl, = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'")).one()
    relaxed, changed = re.subn(r"(\n\s*start DATETIME) NOT NULL", r"\1", ddl, count=1)
    if not changed:
        return
    indexes = conn.execute(text(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'appointments' AND sql IS NOT NULL"
    )).scalars().all()
    conn.execute(text(relaxed.replace("CREATE TABLE appointments", "CREATE TABLE appointments_v2", 1)))
    conn.execute(text("INSERT INTO appointments_v2 SELECT * FROM appointments"))
    conn.execute(text("DROP TABLE appointments"))
    conn.execute(text("ALTER TABLE appointments_v2 RENAME TO appointments"))
    for index in indexes:
        conn.execute(text(index))


def _to_2(conn: Connection) -> None:
    existing = set(inspect(conn).get_table_names())
    for table in (_tasks_v1, _task_history_v1, _pushes_v1):  # schema-1 stores from before the ledger had none
        if table.name not in existing:
            _create(conn, table)
    # Privacy: the model stopped keeping patients' phone numbers and e-mail addresses; they go, with their data.
    for phi in ("phone", "email"):
        if phi in _columns(conn, "patients"):
            conn.execute(text(f'ALTER TABLE patients DROP COLUMN "{phi}"'))
    if conn.dialect.name == "sqlite":
        _sqlite_relax_start(conn)
    else:
        conn.execute(text('ALTER TABLE appointments ALTER COLUMN "start" DROP NOT NULL'))
    for table in ("appointments", "patients"):
        _add_column(conn, table, "clinic_id", "TEXT")
        _add_column(conn, table, "clinic", "TEXT")
    _add_column(conn, "procedure_codes", "time_pattern", "TEXT")
    _add_column(conn, "tasks", "clinic", "TEXT")
    _create(conn, _provider_code_times_v2)


def _to_3(conn: Connection) -> None:
    _create(conn, _run_locks_v3)


_SNAPSHOT_TABLES_V3 = ("providers", "procedure_codes", "provider_code_times", "patients", "appointments", "procedures",
                       "coverages", "verifications", "referrals", "documents", "forms", "claims")


def _to_4(conn: Connection) -> None:
    for table in _SNAPSHOT_TABLES_V3:
        _add_column(conn, table, "source_hash", "VARCHAR(16)")


_claim_procedures_v5 = Table(
    "claim_procedures", _frozen,
    Column("practice", String(63), primary_key=True), Column("source_id", String(64), primary_key=True),
    Column("source_updated_at", DateTime), Column("patient_id", Text, nullable=False),
    Column("procedure_id", Text), Column("claim_id", Text), Column("status", String(32), nullable=False),
    Column("procedure_date", Date), Column("fee_billed", Numeric(14, 2)), Column("insurance_estimate", Numeric(14, 2)),
    Column("plan_id", Text), Column("row_hash", String(40), nullable=False),
    Column("first_run", BigInteger, nullable=False), Column("changed_run", BigInteger, nullable=False),
    Column("source_hash", String(16)),
    Index("ix_claim_procedures_patient_id", "practice", "patient_id"),
    Index("ix_claim_procedures_procedure_id", "practice", "procedure_id"),
    Index("ix_claim_procedures_claim_id", "practice", "claim_id"),
)
_INDEXES_V5 = (("procedures", ("status", "procedure_date")), ("procedures", ("status", "planned_date")),
               ("claims", ("status", "sent_date")))


def _to_5(conn: Connection) -> None:
    _create(conn, _claim_procedures_v5)
    _add_column(conn, "claims", "carrier_id", "TEXT")
    _add_column(conn, "claims", "carrier_name", "TEXT")
    existing = {(t, i["name"]) for t in ("procedures", "claims") for i in inspect(conn).get_indexes(t)}
    for table, columns in _INDEXES_V5:
        name = f"ix_{table}_{'_'.join(columns)}"
        if (table, name) not in existing:
            conn.execute(text(f'CREATE INDEX {name} ON {table} (practice, {", ".join(columns)})'))


STEPS: dict[int, Callable[[Connection], None]] = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5}


# --------------------------------------------------------------- opening


@dataclass(frozen=True)
class _Found:
    tables: frozenset[str]
    version: int | None  # None: no schema_info table, or no row in it


def _read(engine: Engine) -> _Found:
    """What the store holds, by reading only."""
    with engine.connect() as conn:
        tables = frozenset(inspect(conn).get_table_names())
        version = None
        if schema_info.name in tables:
            version = conn.execute(select(func.max(schema_info.c.version))).scalar_one_or_none()
        conn.rollback()
    return _Found(tables, version)


def _damaged(what: str) -> StoreError:
    return StoreError(f"the store {what}: it looks damaged. Restore it from a backup, or move it away to start "
                      "afresh (task history and dismissals would then be lost)")


def _refuse_if_unusable(found: _Found) -> None:
    ours = found.tables & set(metadata.tables)
    if found.version is None:
        if ours:
            raise _damaged(f"has pms-bridge tables ({len(ours)}) but no schema version")
        return
    if found.version > SCHEMA_VERSION:
        raise StoreError(f"this store was written by a newer pms-bridge (schema {found.version}; this one knows "
                         f"schema {SCHEMA_VERSION} and older): upgrade pms-bridge. The store was not changed")
    if found.version < 1:
        raise _damaged(f"has an unknown schema version ({found.version})")
    lost = sorted(TABLES_AT[found.version] - found.tables)
    if lost:
        raise _damaged(f"lacks table(s) it had ({', '.join(lost)})")


def _serialize(conn: Connection) -> None:
    """Start a schema change: one process at a time (others wait, then see it done), DDL included.

    SQLite: Python's sqlite3 runs DDL outside any transaction unless one was begun explicitly, so the
    step begins one itself (IMMEDIATE: the write lock up front). PostgreSQL: a transaction advisory lock.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(0x706D73_627269_6467)))  # "pmsbridg"


def _version_now(conn: Connection) -> int | None:
    if schema_info.name not in inspect(conn).get_table_names():
        return None
    return conn.execute(select(func.max(schema_info.c.version))).scalar_one_or_none()


def _create_fresh(engine: Engine) -> None:
    with engine.begin() as conn:
        _serialize(conn)
        if _version_now(conn) is not None:  # another process created it meanwhile
            return
        metadata.create_all(conn)
        conn.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION))
    log.info("store.created", schema=SCHEMA_VERSION)


def _upgrade(engine: Engine, target: int) -> None:
    with engine.begin() as conn:
        _serialize(conn)
        now = _version_now(conn)
        if now is None or now >= target:
            return
        STEPS[target](conn)
        conn.execute(schema_info.update().values(version=target))
    log.info("store.upgraded", schema=target)


def _check_columns(engine: Engine) -> None:
    """A current store lacking a column is damaged; columns the model does not know are left alone."""
    inspector = inspect(engine)
    missing: list[str] = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
        unknown = sorted(present - set(table.columns.keys()))
        if unknown:
            phi_like = [c for c in unknown if _PHI_LIKE.search(c)]
            # Names only, never values; a column that may hold patient data is the integrator's to remove.
            (log.warning if phi_like else log.info)(
                "store.unknown_columns", table=table.name, columns=unknown, may_hold_patient_data=phi_like)
    if missing:
        raise _damaged(f"lacks column(s) it had ({', '.join(missing)})")


def _prepare_sqlite_file(engine: Engine) -> None:
    """After the version check: the file owner-only, and the write-ahead log (a persistent setting)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return
    path = Path(database)
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError as exc:
        raise file_failure(exc, path) from None
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def ensure_schema(engine: Engine) -> None:
    """Create a fresh store, or check an existing one and bring it up to :data:`SCHEMA_VERSION`."""
    found = _read(engine)
    _refuse_if_unusable(found)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite_file(engine)
    if found.version is None:
        _create_fresh(engine)
    else:
        for target in range(found.version + 1, SCHEMA_VERSION + 1):
            _upgrade(engine, target)
    _check_columns(engine)
