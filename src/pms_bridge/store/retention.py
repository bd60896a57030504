"""Retention: delete one practice's history older than a cutoff (``pms-bridge purge``).

What goes, for the store's own practice only (other practices in a shared
database are never touched):

- appointments that started before the cutoff and are no longer scheduled
  (complete, broken, cancelled ...); their procedures stay;
- closed tasks (resolved, dismissed, expired) closed before the cutoff, with
  their task history and the PMS sinks' push records;
- quarantined rows recorded before the cutoff;
- runs finished before the cutoff (and runs that started before it and never
  finished: a crash), always keeping the practice's latest run.

Open tasks, scheduled appointments and everything newer stay. Counting
(:func:`purge_preview`) and deleting (:func:`purge`) use the same conditions.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import ColumnElement, Connection, Table, and_, func, or_, select
from sqlalchemy.exc import OperationalError

from pms_bridge.store import schema
from pms_bridge.store.errors import StoreBusy, StoreError, StoreUnreachable
from pms_bridge.store.store import Store

log = structlog.get_logger("pms_bridge.retention")

# The kinds purge reports, in the order they are shown.
KINDS = ("appointments", "tasks", "task_history", "pushes", "quarantine", "runs")


def _targets(store: Store, cutoff: datetime, conn: Connection) -> list[tuple[str, Table, ColumnElement[bool]]]:
    """(kind, table, condition) of every row older than ``cutoff``; children before their parents."""
    if cutoff.tzinfo is None:
        raise ValueError("the purge cutoff must be an aware datetime")
    p = store.practice.key
    apts = schema.SNAPSHOT_TABLES["appointment"]
    t, h, pu, q, r = schema.tasks, schema.task_history, schema.pushes, schema.quarantine, schema.runs

    closed_keys = select(t.c.key).where(t.c.practice == p, t.c.status != "open", t.c.resolved_at < cutoff)
    latest_run = conn.execute(select(func.max(r.c.id)).where(r.c.practice == p)).scalar_one_or_none()
    old_run = or_(r.c.finished_at < cutoff, and_(r.c.finished_at.is_(None), r.c.started_at < cutoff))
    runs_cond = and_(r.c.practice == p, old_run)
    if latest_run is not None:
        runs_cond = and_(runs_cond, r.c.id != latest_run)
    return [
        ("appointments", apts, and_(apts.c.practice == p, apts.c.start < cutoff, apts.c.status != "scheduled")),
        ("task_history", h, and_(h.c.practice == p, h.c.key.in_(closed_keys))),
        ("pushes", pu, and_(pu.c.practice == p, pu.c.key.in_(closed_keys))),
        ("tasks", t, and_(t.c.practice == p, t.c.status != "open", t.c.resolved_at < cutoff)),
        ("quarantine", q, and_(q.c.practice == p, q.c.created_at < cutoff)),
        ("runs", r, runs_cond),
    ]


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    return {kind: counts[kind] for kind in KINDS}


def purge_preview(store: Store, cutoff: datetime) -> dict[str, int]:
    """How many rows :func:`purge` would delete, per kind (nothing is changed)."""
    with store.engine.connect() as conn:
        counts = {
            kind: conn.execute(select(func.count()).select_from(table).where(cond)).scalar_one()
            for kind, table, cond in _targets(store, cutoff, conn)
        }
    return _ordered(counts)


def purge(store: Store, cutoff: datetime) -> dict[str, int]:
    """Delete the practice's rows older than ``cutoff`` in one transaction; returns the count per kind."""
    counts: dict[str, int] = {}
    with store.engine.begin() as conn:
        for kind, table, cond in _targets(store, cutoff, conn):
            counts[kind] = conn.execute(table.delete().where(cond)).rowcount
    compacted = bool(sum(counts.values())) and store.engine.dialect.name == "sqlite" and _compact_sqlite(store)
    log.info("store.purged", compacted=compacted, **counts)
    return _ordered(counts)


def _compact_sqlite(store: Store) -> bool:
    """Rewrite the SQLite file so deleted patient data does not linger on disk.

    SQLite's DELETE only marks pages free: the deleted rows' bytes stay in the
    file (and in the write-ahead log) until the pages are reused. VACUUM
    rebuilds the file from the live rows; the checkpoint then empties the
    WAL, which still holds old copies of the pages. VACUUM cannot run inside
    a transaction, hence an autocommit connection after the purge committed.

    On PostgreSQL nothing is done here: dead rows are reclaimed by autovacuum,
    and a VACUUM FULL would lock tables other practices share.
    """
    try:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    # e.g. another process reads the file, or no room for the copy VACUUM makes: the purge itself stands
    except (OperationalError, StoreBusy, StoreError, StoreUnreachable) as exc:
        log.warning("store.vacuum_failed", error_type=type(exc).__name__)
        return False
    return True
