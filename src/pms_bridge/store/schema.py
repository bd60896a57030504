"""Snapshot tables derived from the normalized model, plus the store's own tables.

The model is the single definition of every entity's columns: each snapshot
table is built from its pydantic model, keyed by (practice, source_id), so
one database can hold many practices.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
)

from pms_bridge.model import ENTITY_TYPES, Record
from pms_bridge.model.types import base_type

_T = TypeVar("_T")

# Values per IN (...) list or per batch of a statement: well under every driver's limit on bound
# parameters (SQLite's is 32,766).
IN_BATCH = 5000


def in_batches(values: Sequence[_T], size: int = IN_BATCH) -> Iterator[Sequence[_T]]:
    """``values`` in consecutive slices of at most ``size``, for IN lists and batched statements."""
    for start in range(0, len(values), size):
        yield values[start : start + size]

# The schema this pms-bridge writes; store/migrations.py has one step per version.
# 1: the first release; 2: appointments.start may be NULL (planned appointments), clinics, code times;
# 3: run_locks (who holds a practice's run lock on a server store);
# 4: snapshot rows keep the hash of the source row they were mapped from (mapping.fingerprint);
# 5: claim_procedures (which procedures are on which claim), claims' carrier, the indexes the claim and
# treatment rules' reach needs.
SCHEMA_VERSION = 5
metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC (SQLite has no timezone type)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _column_type(annotation: Any) -> Any:
    target = base_type(annotation)
    if target is bool:
        return Boolean()
    if target is int:
        return Integer()
    if target is Decimal:
        return Numeric(14, 2)
    if target is datetime:
        return UTCDateTime()
    if target is date:
        return Date()
    if isinstance(target, type) and issubclass(target, Enum):
        return String(32)
    return Text()


# Columns the rules join and filter on.
_INDEXED = ("patient_id", "appointment_id", "coverage_id", "start")
# Per entity, further (practice, ...) indexes the rules' reach filters on: completed procedures by date,
# planned ones by plan date, claims by state and sent date, claims' lines by procedure and by claim.
_INDEXED_TOGETHER: dict[str, tuple[tuple[str, ...], ...]] = {
    "claim_procedure": (("procedure_id",), ("claim_id",)),
    "procedure": (("status", "procedure_date"), ("status", "planned_date")),
    "claim": (("status", "sent_date"),),
}


def _snapshot_table(model: type[Record]) -> Table:
    columns = [
        Column("practice", String(63), primary_key=True),
        Column("source_id", String(64), primary_key=True),
    ]
    for name, info in model.model_fields.items():
        if name == "source_id":
            continue
        columns.append(Column(name, _column_type(info.annotation), nullable=not info.is_required()))
    columns += [
        Column("row_hash", String(40), nullable=False),
        Column("first_run", BigInteger, nullable=False),
        Column("changed_run", BigInteger, nullable=False),
        Column("source_hash", String(16)),  # NULL: mapped before schema 4, or written without one
    ]
    indexes = [Index(f"ix_{model.table}_{c}", "practice", c) for c in _INDEXED if c in model.model_fields]
    indexes += [Index(f"ix_{model.table}_{'_'.join(cs)}", "practice", *cs)
                for cs in _INDEXED_TOGETHER.get(model.entity, ())]
    return Table(model.table, metadata, *columns, *indexes)


SNAPSHOT_TABLES: dict[str, Table] = {m.entity: _snapshot_table(m) for m in ENTITY_TYPES}

practices = Table(
    "practices",
    metadata,
    Column("key", String(63), primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
)

# Reference rows (definitions, carriers, plans ...) the mapping resolves ids with.
reference_rows = Table(
    "reference_rows",
    metadata,
    Column("practice", String(63), primary_key=True),
    Column("lookup", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("data", JSON, nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("practice", String(63), primary_key=True),
    Column("resource", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("run_id", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("practice", String(63), nullable=False, index=True),
    Column("command", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("as_of", UTCDateTime),
    Column("status", String(16), nullable=False),  # running / ok / partial / failed
    Column("summary", JSON),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("practice", String(63), nullable=False),
    Column("run_id", BigInteger, nullable=False, index=True),
    Column("source", Text, nullable=False),  # file or resource
    Column("resource", String(64), nullable=False),
    Column("line", Integer),
    Column("source_id", String(64)),
    Column("field", String(128)),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The task ledger: one row per task key, and every transition of every task.
tasks = Table(
    "tasks",
    metadata,
    Column("practice", String(63), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("rule", String(16), nullable=False),
    Column("name", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("severity", String(8), nullable=False),
    Column("role", String(16), nullable=False),
    Column("assignee", Text),
    Column("patient_id", String(64), nullable=False),
    Column("appointment_id", String(64)),
    Column("appointment_at", UTCDateTime),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("due", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("reason", Text),
    # What the task is about, materially: a dismissed task reopens only when this changes.
    Column("fingerprint", String(200), nullable=False),
    Column("data", JSON, nullable=False),
    Column("last_run", BigInteger, nullable=False),
    Column("clinic", Text),  # the clinic's name in a multi-clinic office
)

task_history = Table(
    "task_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("practice", String(63), nullable=False),
    Column("key", String(200), nullable=False),
    Column("run_id", BigInteger),  # None: a person's action outside a run
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(16)),  # None: created
    Column("to_status", String(16), nullable=False),
    Column("cause", Text, nullable=False),
    Column("changes", JSON),  # fields that changed on an update
    Index("ix_task_history_key", "practice", "key"),
)

# What a PMS sink did with each task: recorded before a write is sent and
# after it succeeds, so a crash in between is found (state "pending") and
# the copy already in the PMS is adopted instead of sent twice.
pushes = Table(
    "pushes",
    metadata,
    Column("practice", String(63), primary_key=True),
    Column("sink", String(32), primary_key=True),  # sink type, e.g. "opendental-tasks"
    Column("key", String(200), primary_key=True),  # the ledger task's key
    Column("remote_id", String(64)),  # TaskNum / CommlogNum once known
    Column("state", String(16), nullable=False),  # pending / sent / closed
    Column("target", String(64)),  # where it went: TaskListNum (tasks), PatNum (commlogs)
    Column("text_hash", String(40), nullable=False),  # of the fields last written
    Column("remote_created", UTCDateTime),  # the PMS's own creation time of the remote row
    Column("run_id", BigInteger),  # the run that last changed the row
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Who holds a practice's run lock on a PostgreSQL store (the lock itself is an advisory lock; a SQLite
# store keeps these facts beside its file, readable while the database is busy).
run_locks = Table(
    "run_locks",
    metadata,
    Column("practice", String(63), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("command", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
)

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
