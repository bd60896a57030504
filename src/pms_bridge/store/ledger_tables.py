"""The store's task ledger and push log tables: tasks by key, their history, what sinks sent.

A mixin of :class:`~pms_bridge.store.Store`, kept apart so the store's snapshot code stays
readable. Rows are plain dicts of column values; the practice column is filled in here, so
callers never see it (a shared database holds many practices).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from pms_bridge.store import schema

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

    from pms_bridge.model import Practice



class LedgerTables:
    """Task ledger and push log storage for one practice."""

    engine: Engine
    practice: Practice

    if TYPE_CHECKING:  # provided by Store
        def _upsert(self, table: Table, rows: Sequence[dict[str, Any]], keys: list[str], conn: Any = None,
                    keep: tuple[str, ...] = ()) -> None: ...

    # ------------------------------------------------------------------ tasks

    def task_rows(self, status: Iterable[str] | None = None, role: str | None = None) -> list[dict[str, Any]]:
        """Stored tasks (all columns), by due date then key; optionally of these statuses / this role."""
        t = schema.tasks
        query = select(t).where(t.c.practice == self.practice.key)
        if status is not None:
            query = query.where(t.c.status.in_(list(status)))
        if role is not None:
            query = query.where(t.c.role == role)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(t.c.due, t.c.key))]

    def task_rows_open_or(self, keys: Collection[str]) -> list[dict[str, Any]]:
        """The open tasks and the tasks of ``keys`` whatever their status (all columns), by due date then key.

        What a run's reconciliation reads: a closed task matters only when its key is found again.
        """
        t = schema.tasks
        p = self.practice.key
        wanted = sorted(set(keys))
        with self.engine.connect() as conn:
            open_tasks = conn.execute(select(t).where(t.c.practice == p, t.c.status == "open"))
            rows = {r.key: dict(r._mapping) for r in open_tasks}
            for batch in schema.in_batches(wanted):
                query = select(t).where(t.c.practice == p, t.c.status != "open", t.c.key.in_(batch))
                rows.update((r.key, dict(r._mapping)) for r in conn.execute(query))
        return sorted(rows.values(), key=lambda row: (row["due"], row["key"]))

    def task_row(self, key: str) -> dict[str, Any] | None:
        """One stored task (all columns), or None."""
        t = schema.tasks
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.practice == self.practice.key, t.c.key == key)).first()
        return None if row is None else dict(row._mapping)

    def task_fingerprints(self) -> dict[str, str]:
        """Task key -> the fingerprint stored with it."""
        t = schema.tasks
        with self.engine.connect() as conn:
            return dict(conn.execute(select(t.c.key, t.c.fingerprint).where(t.c.practice == self.practice.key)).all())

    def save_tasks(self, rows: Sequence[dict[str, Any]], history: Sequence[dict[str, Any]]) -> None:
        """Insert or update tasks and append their history entries, in one transaction."""
        practice = self.practice.key
        with self.engine.begin() as conn:
            self._upsert(schema.tasks, [{**row, "practice": practice} for row in rows], ["practice", "key"], conn)
            self._add_history(conn, history)

    def update_task(self, key: str, values: dict[str, Any], history: Sequence[dict[str, Any]]) -> None:
        """Change some columns of one task and append its history entries, in one transaction."""
        t = schema.tasks
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.practice == self.practice.key, t.c.key == key).values(**values))
            self._add_history(conn, history)

    def task_history_rows(self, key: str) -> list[dict[str, Any]]:
        """One task's history entries, oldest first."""
        h = schema.task_history
        with self.engine.connect() as conn:
            rows = conn.execute(select(h).where(h.c.practice == self.practice.key, h.c.key == key).order_by(h.c.id))
            return [dict(r._mapping) for r in rows]

    def _add_history(self, conn: Connection, history: Sequence[dict[str, Any]]) -> None:
        if history:
            conn.execute(schema.task_history.insert(), [{**entry, "practice": self.practice.key} for entry in history])

    # --------------------------------------------------------------- push log

    def push_rows(self, sink: str) -> list[dict[str, Any]]:
        """One sink's push records, by task key."""
        p = schema.pushes
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(p).where(p.c.practice == self.practice.key, p.c.sink == sink).order_by(p.c.key)
            )
            return [dict(r._mapping) for r in rows]

    def save_push(self, sink: str, row: dict[str, Any]) -> None:
        """Insert or replace one push record (its own transaction: durable before the write it guards)."""
        self._upsert(schema.pushes, [{**row, "practice": self.practice.key, "sink": sink}],
                     ["practice", "sink", "key"])

    def delete_push(self, sink: str, key: str) -> None:
        p = schema.pushes
        with self.engine.begin() as conn:
            conn.execute(p.delete().where(p.c.practice == self.practice.key, p.c.sink == sink, p.c.key == key))
