"""The store: normalized snapshot, reference rows, cursors, runs, quarantine."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Engine, Table, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from pms_bridge.model import ENTITIES, Practice, Record
from pms_bridge.model.types import base_type
from pms_bridge.store import schema
from pms_bridge.store.bulk import Bulk
from pms_bridge.store.compact_ids import StoredHashes
from pms_bridge.store.engine import open_engine
from pms_bridge.store.ledger_tables import LedgerTables
from pms_bridge.store.lock import run_lock
from pms_bridge.store.migrations import ensure_schema


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(frozen=True)
class QuarantinedRow:
    source: str
    resource: str
    line: int | None
    source_id: str | None
    field: str | None
    reason: str


@dataclass
class RunRecord:
    id: int
    command: str
    started_at: datetime
    finished_at: datetime | None
    as_of: datetime | None
    status: str  # running / ok / partial / failed / interrupted
    summary: dict[str, Any] = field(default_factory=dict)


def row_hash(values: dict[str, Any]) -> str:
    return hashlib.sha1(repr(tuple(values.values())).encode(), usedforsecurity=False).hexdigest()


@cache
def enum_types(entity: str) -> dict[str, type[Enum]]:
    """The entity's fields whose values are Enum members (code values), with their Enum."""
    model = ENTITIES[entity]
    return {name: target for name, info in model.model_fields.items()
            if isinstance(target := base_type(info.annotation), type) and issubclass(target, Enum)}


def _enum_fields(entity: str) -> frozenset[str]:
    return frozenset(enum_types(entity))


def record_maker(entity: str) -> Callable[[Iterable[tuple[str, Any]]], Record]:
    """Row (field name, value pairs) -> model object, without validating it again (the store only holds rows
    that passed validation on the way in); code values get their Enum type back."""
    model = ENTITIES[entity]
    enums = list(enum_types(entity).items())
    # Rows with the same fields set share one (equal) set of their names: the records are frozen, and a set
    # per record would be a third of its memory.
    shared: dict[tuple[str, ...], set[str]] = {}
    # Ids and codes many records repeat (a patient's, a provider's, a procedure code) are kept once.
    repeated = [name for name in model.model_fields if name.endswith("_id") and name != "source_id"]
    repeated += [name for name in ("code", "clinic") if name in model.model_fields]
    strings: dict[str, str] = {}

    def make(row: Iterable[tuple[str, Any]]) -> Record:
        values = {k: v for k, v in row if v is not None}
        for name in repeated:
            if name in values:
                values[name] = strings.setdefault(values[name], values[name])
        for name, enum in enums:
            if name in values:
                values[name] = enum(values[name])
        names = tuple(values)
        fields_set = shared.get(names)
        if fields_set is None:
            fields_set = shared[names] = set(names)
        return model.model_construct(fields_set, **values)

    return make


def _now() -> datetime:
    return datetime.now(UTC)


class Store(LedgerTables):
    """One practice's view of a (possibly shared) store database."""

    def __init__(self, engine: Engine, practice: Practice) -> None:
        self.engine = engine
        self.practice = practice
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._holding = False
        self._bulk = Bulk(engine.dialect)
        try:
            ensure_schema(engine)
            self._register_practice()
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def open(cls, url: str, practice: Practice) -> Store:
        return cls(open_engine(url), practice)

    @contextmanager
    def hold(self, command: str) -> Iterator[None]:
        """The practice's write lock for a whole command (run, purge, anything that writes).

        Raises :class:`~pms_bridge.store.StoreBusy` at once, naming the holder, when a live process holds
        it; a lock left by a dead process is taken over. Not re-entrant.
        """
        with run_lock(self.engine, self.practice.key, command):
            self._holding = True
            try:
                yield
            finally:
                self._holding = False

    def close(self) -> None:
        self.engine.dispose()

    def _register_practice(self) -> None:
        values = {"key": self.practice.key, "name": self.practice.name, "timezone": self.practice.timezone}
        t = schema.practices
        with self.engine.connect() as conn:
            known = conn.execute(select(t).where(t.c.key == self.practice.key)).first()
        if known is None or dict(known._mapping) != values:  # readers of a known practice write nothing
            self._upsert(schema.practices, [values], ["key"])

    def _upsert(
        self,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: list[str],
        conn: Any = None,
        keep: tuple[str, ...] = (),
    ) -> None:
        """Insert rows, updating those whose keys exist (all columns but ``keys`` and ``keep``)."""
        if not rows:
            return
        stmt = self._insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys and c.name not in keep}
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
        if conn is None:
            with self.engine.begin() as own:
                own.execute(stmt, list(rows))
        else:
            conn.execute(stmt, list(rows))

    # ---------------------------------------------------------------- snapshot

    def upsert_records(
        self,
        entity: str,
        records: Sequence[Record],
        run_id: int,
        source_hashes: Mapping[str, str] | None = None,
    ) -> UpsertCounts:
        """Merge records into the snapshot; only new or changed rows are written.

        ``source_hashes``: id -> hash of the source row each record was mapped from (kept beside it, see
        mapping.fingerprint).
        """
        counts = UpsertCounts()
        if not records:
            return counts
        table = schema.SNAPSHOT_TABLES[entity]
        hashes = source_hashes or {}
        with self.engine.begin() as conn:
            stored = self._stored_hashes(conn, table, [r.source_id for r in records])
            changed, rehashed = [], []
            for record in records:
                values = dict(record.__dict__)  # the model's fields, as model_dump() gives them (flat models)
                values["row_hash"] = row_hash(values)
                source_hash = hashes.get(record.source_id)
                old = stored.get(record.source_id)
                if old is not None and old[1] == values["row_hash"]:
                    counts.unchanged += 1
                    if source_hash is not None and old[0] != source_hash:
                        rehashed.append({"practice": self.practice.key, "source_id": record.source_id,
                                         "source_hash": source_hash})
                    continue
                if old is None:
                    counts.inserted += 1
                else:
                    counts.updated += 1
                values.update(practice=self.practice.key, first_run=run_id, changed_run=run_id,
                              source_hash=source_hash)
                changed.append(values)
            # first_run is kept on update: it says when the row first arrived.
            self._bulk.upsert(conn, table, changed, ["practice", "source_id"], keep=("first_run",),
                              enums=_enum_fields(entity))
            self._bulk.set_column(conn, table, "source_hash", rehashed, ["practice", "source_id"])
        return counts

    def source_hashes(self, entity: str, source_ids: Sequence[str] | None = None) -> Mapping[str, str | None]:
        """id -> source hash of the stored rows among ``source_ids``; None: every stored row of the entity, read
        into a compact map (8 bytes a row: see compact_ids) so that a long history costs little memory."""
        table = schema.SNAPSHOT_TABLES[entity]
        with self.engine.connect() as conn:
            if source_ids is None:
                return StoredHashes(self._bulk.every(conn, table, self.practice.key, "source_id, source_hash"))
            return dict(self._hash_rows(conn, table, source_ids, "source_id, source_hash"))

    def _stored_hashes(self, conn: Any, table: Table, source_ids: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        return {sid: (source, row) for sid, source, row in self._hash_rows(conn, table, source_ids)}

    def _hash_rows(self, conn: Any, table: Table, source_ids: Sequence[str],
                   columns: str = "source_id, source_hash, row_hash") -> Iterator[Any]:
        """``columns`` of the stored rows among ``source_ids``, asked for in batches of ids."""
        for batch in schema.in_batches(source_ids):
            yield from self._bulk.hashes(conn, table, self.practice.key, batch, columns)

    def each_stored_id(self, entity: str, batch: int = 10_000) -> Iterator[list[str]]:
        """The entity's stored ids, a list of ``batch`` at a time (a long history is never held at once)."""
        with self.engine.connect() as conn:
            ids: list[str] = []
            for (source_id,) in self._bulk.every(conn, schema.SNAPSHOT_TABLES[entity], self.practice.key, "source_id"):
                ids.append(source_id)
                if len(ids) >= batch:
                    yield ids
                    ids = []
            if ids:
                yield ids

    def stored_among(self, entity: str, source_ids: Iterable[str]) -> set[str]:
        """Those of ``source_ids`` the snapshot holds."""
        table = schema.SNAPSHOT_TABLES[entity]
        with self.engine.connect() as conn:
            return {sid for (sid,) in self._hash_rows(conn, table, sorted(set(source_ids)), "source_id")}

    def remove(self, entity: str, source_ids: Iterable[str]) -> int:
        """Delete records from the snapshot (rows deleted in the PMS)."""
        table = schema.SNAPSHOT_TABLES[entity]
        ids = sorted(source_ids)
        removed = 0
        with self.engine.begin() as conn:
            for batch in schema.in_batches(ids):
                result = conn.execute(
                    table.delete().where(table.c.practice == self.practice.key, table.c.source_id.in_(batch))
                )
                removed += result.rowcount
        return removed

    def ids_of_patients(self, entity: str, patient_ids: Iterable[str]) -> set[str]:
        """Stored ids of an entity's rows that belong to these patients."""
        table = schema.SNAPSHOT_TABLES[entity]
        wanted = sorted(set(patient_ids))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for batch in schema.in_batches(wanted):
                found |= set(conn.scalars(select(table.c.source_id).where(
                    table.c.practice == self.practice.key, table.c.patient_id.in_(batch)
                )))
        return found

    def patients_with_open_tasks(self, rule_prefixes: Sequence[str], limit: int) -> list[str]:
        """Stored, not deleted patients that open tasks of these rules are about, newest first contact first."""
        t = schema.tasks
        pats = schema.SNAPSHOT_TABLES["patient"]
        p = self.practice.key
        about = select(t.c.patient_id).where(
            t.c.practice == p, t.c.status == "open", or_(*(t.c.rule.startswith(prefix) for prefix in rule_prefixes))
        )
        query = (
            select(pats.c.source_id)
            .where(pats.c.practice == p, pats.c.status != "deleted", pats.c.source_id.in_(about))
            .order_by(pats.c.first_contact_date.desc().nulls_last(), pats.c.source_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def patients_changed_since(self, run_id: int, entities: Sequence[str]) -> dict[str, int]:
        """patient -> the latest run after ``run_id`` that changed one of their rows of ``entities``."""
        latest: dict[str, int] = {}
        with self.engine.connect() as conn:
            for entity in entities:
                t = schema.SNAPSHOT_TABLES[entity]
                who = t.c.source_id if entity == "patient" else t.c.patient_id
                query = (select(who, func.max(t.c.changed_run))
                         .where(t.c.practice == self.practice.key, t.c.changed_run > run_id).group_by(who))
                for patient, run in conn.execute(query):
                    if patient is not None and run > latest.get(patient, 0):
                        latest[patient] = run
        return latest

    def scheduled_appointment_ids(self, start: date, end: date) -> set[str]:
        """Stored scheduled appointments from ``start`` to ``end`` (inclusive dates, practice time)."""
        t = schema.SNAPSHOT_TABLES["appointment"]
        lo, hi = self._local_range(start, end)
        with self.engine.connect() as conn:
            return set(conn.scalars(select(t.c.source_id).where(
                t.c.practice == self.practice.key, t.c.status == "scheduled", t.c.start >= lo, t.c.start < hi
            )))

    def patients_needing_detail(self, start: date, end: date, first_contact_since: date, referral_since: date) -> set[str]:
        """Patients with a scheduled appointment from ``start`` to ``end``, a recent first contact or a recent referral."""
        apts = schema.SNAPSHOT_TABLES["appointment"]
        pats = schema.SNAPSHOT_TABLES["patient"]
        refs = schema.SNAPSHOT_TABLES["referral"]
        lo, hi = self._local_range(start, end)
        p = self.practice.key
        with self.engine.connect() as conn:
            ids = set(conn.scalars(select(apts.c.patient_id).where(
                apts.c.practice == p, apts.c.status == "scheduled", apts.c.start >= lo, apts.c.start < hi
            )))
            ids |= set(conn.scalars(select(pats.c.source_id).where(
                pats.c.practice == p, pats.c.first_contact_date >= first_contact_since
            )))
            ids |= set(conn.scalars(select(refs.c.patient_id).where(
                refs.c.practice == p, refs.c.referral_date >= referral_since
            )))
            deleted = set(conn.scalars(select(pats.c.source_id).where(
                pats.c.practice == p, pats.c.status == "deleted"
            )))
        return ids - deleted  # a deleted patient's details matter to no rule

    def _local_range(self, start: date, end: date) -> tuple[datetime, datetime]:
        tz = self.practice.tz
        lo = datetime(start.year, start.month, start.day, tzinfo=tz)
        hi = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
        return lo, hi

    def count(self, entity: str) -> int:
        table = schema.SNAPSHOT_TABLES[entity]
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(table).where(table.c.practice == self.practice.key)
            ).scalar_one()

    def counts(self) -> dict[str, int]:
        return {entity: self.count(entity) for entity in schema.SNAPSHOT_TABLES}

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Every stored row of one entity (small snapshots, tests, exports)."""
        table = schema.SNAPSHOT_TABLES[entity]
        with self.engine.connect() as conn:
            result = conn.execute(
                select(table).where(table.c.practice == self.practice.key).order_by(table.c.source_id)
            )
            return [dict(r._mapping) for r in result]

    def records(self, entity: str) -> Iterator[Record]:
        """Every stored record of the entity rebuilt as a model object (see record_maker)."""
        names = list(ENTITIES[entity].model_fields)
        make = record_maker(entity)
        for row in self.rows(entity):
            yield make((name, row[name]) for name in names)

    def data_as_of(self) -> datetime | None:
        """The newest change time the PMS reported for any stored record.

        A stamp later than the wall clock (a clerk's typo, a year-9998 test row) is no change time that
        happened: it would make every later ``--as-of`` look backdated, so it is not counted.
        """
        newest: datetime | None = None
        credible = datetime.now(UTC) + timedelta(days=1)
        with self.engine.connect() as conn:
            for table in schema.SNAPSHOT_TABLES.values():
                value = conn.execute(
                    select(func.max(table.c.source_updated_at))
                    .where(table.c.practice == self.practice.key, table.c.source_updated_at <= credible)
                ).scalar_one()
                if value is not None:
                    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
                    newest = value if newest is None else max(newest, value)
        return newest

    # -------------------------------------------------------------- references

    def save_references(self, lookup: str, rows: dict[str, dict[str, str]]) -> None:
        data = [
            {"practice": self.practice.key, "lookup": lookup, "key": key, "data": values}
            for key, values in rows.items()
        ]
        with self.engine.begin() as conn:
            for batch in schema.in_batches(data, 2000):  # four parameters a row
                self._upsert(schema.reference_rows, list(batch), ["practice", "lookup", "key"], conn)

    def load_references(self, lookups: Iterable[str]) -> dict[str, dict[str, dict[str, str]]]:
        wanted = list(lookups)
        tables: dict[str, dict[str, dict[str, str]]] = {name: {} for name in wanted}
        t = schema.reference_rows
        with self.engine.connect() as conn:
            result = conn.execute(
                select(t.c.lookup, t.c.key, t.c.data).where(t.c.practice == self.practice.key, t.c.lookup.in_(wanted))
            )
            for lookup, key, data in result:
                tables[lookup][key] = data
        return tables

    # ----------------------------------------------------------------- cursors

    def get_cursor(self, resource: str) -> str | None:
        t = schema.cursors
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.c.value).where(t.c.practice == self.practice.key, t.c.resource == resource)
            ).scalar_one_or_none()

    def set_cursor(self, resource: str, value: str, run_id: int) -> None:
        row = {
            "practice": self.practice.key,
            "resource": resource,
            "value": value,
            "run_id": run_id,
            "updated_at": _now(),
        }
        self._upsert(schema.cursors, [row], ["practice", "resource"])

    # -------------------------------------------------------------------- runs

    def start_run(self, command: str, as_of: datetime | None) -> int:
        """Record a run as running. Under :meth:`hold`, the practice's earlier runs still 'running' are
        marked 'interrupted' first: their process is gone, since this one holds the lock."""
        t = schema.runs
        with self.engine.begin() as conn:
            if self._holding:
                conn.execute(t.update().where(t.c.practice == self.practice.key, t.c.status == "running")
                             .values(status="interrupted"))
            result = conn.execute(
                schema.runs.insert().values(
                    practice=self.practice.key, command=command, started_at=_now(), as_of=as_of, status="running"
                )
            )
            return int(result.inserted_primary_key[0])

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        """Record how a run ended: ok, partial, failed, or interrupted (SIGINT / SIGTERM)."""
        with self.engine.begin() as conn:
            conn.execute(
                schema.runs.update()
                .where(schema.runs.c.id == run_id)
                .values(finished_at=_now(), status=status, summary=summary)
            )

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        t = schema.runs
        with self.engine.connect() as conn:
            result = conn.execute(
                select(t).where(t.c.practice == self.practice.key).order_by(t.c.id.desc()).limit(limit)
            )
            return [
                RunRecord(
                    id=r.id,
                    command=r.command,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    as_of=r.as_of,
                    status=r.status,
                    summary=r.summary or {},
                )
                for r in result
            ]

    def unfinished_run(self) -> RunRecord | None:
        """The latest run if it did not finish ('running', or 'interrupted'): the snapshot may be half-updated."""
        latest = next(iter(self.list_runs(1)), None)
        return latest if latest is not None and latest.status in ("running", "interrupted") else None

    # -------------------------------------------------------------- quarantine

    def quarantine(self, run_id: int, rows: Sequence[QuarantinedRow]) -> None:
        if not rows:
            return
        now = _now()
        data = [
            {
                "practice": self.practice.key,
                "run_id": run_id,
                "source": r.source,
                "resource": r.resource,
                "line": r.line,
                "source_id": r.source_id,
                "field": r.field,
                "reason": r.reason,
                "created_at": now,
            }
            for r in rows
        ]
        with self.engine.begin() as conn:
            conn.execute(schema.quarantine.insert(), data)

    def quarantined(self, run_id: int | None = None) -> list[QuarantinedRow]:
        t = schema.quarantine
        query = select(t).where(t.c.practice == self.practice.key)
        if run_id is not None:
            query = query.where(t.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [
                QuarantinedRow(r.source, r.resource, r.line, r.source_id, r.field, r.reason)
                for r in conn.execute(query.order_by(t.c.id))
            ]
