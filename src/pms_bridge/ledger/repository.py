"""The task ledger in the store: tasks by key, and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from pms_bridge.ledger.reconcile import LedgerUpdate, Transition, fingerprint
from pms_bridge.ledger.task import Task
from pms_bridge.store import Store
from pms_bridge.store import schema

_TASK_FIELDS = [f for f in Task.__dataclass_fields__]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    run_id: int | None
    from_status: str | None
    to_status: str
    cause: str
    changes: list[str] | None


class TaskNotFound(KeyError):
    pass


class Ledger:
    """Reads and writes one practice's tasks."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.practice = store.practice.key

    def tasks(self, status: Iterable[str] | None = None, role: str | None = None) -> list[Task]:
        t = schema.tasks
        query = select(t).where(t.c.practice == self.practice)
        if status is not None:
            query = query.where(t.c.status.in_(list(status)))
        if role is not None:
            query = query.where(t.c.role == role)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.due, t.c.key)).all()
        return [Task(**{f: row._mapping[f] for f in _TASK_FIELDS}) for row in rows]

    def fingerprints(self) -> dict[str, str]:
        t = schema.tasks
        with self.store.engine.connect() as conn:
            return dict(conn.execute(select(t.c.key, t.c.fingerprint).where(t.c.practice == self.practice)).all())

    def apply(self, update: LedgerUpdate, run_id: int | None, at: datetime) -> None:
        """Write changed tasks and their transitions in one transaction."""
        tz = self.store.practice.tz
        rows = [self._row(task, run_id, tz) for task in update.changed.values()]
        with self.store.engine.begin() as conn:
            self.store._upsert(schema.tasks, rows, ["practice", "key"], conn)
            self._history(conn, update.transitions, run_id, at)

    def dismiss(self, key: str, reason: str, at: datetime) -> Task:
        """A person closed the task: it stays closed until its subject changes."""
        matches = [t for t in self.tasks() if t.key == key]
        if not matches:
            raise TaskNotFound(key)
        task = matches[0]
        if task.status == "dismissed":
            return task
        t = schema.tasks
        with self.store.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.practice == self.practice, t.c.key == key)
                .values(status="dismissed", reason=reason, resolved_at=at, updated_at=at)
            )
            self._history(conn, [Transition(key, task.status, "dismissed", f"dismissed: {reason}")], None, at)
        return next(t for t in self.tasks() if t.key == key)

    def history(self, key: str) -> list[HistoryEntry]:
        h = schema.task_history
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(h).where(h.c.practice == self.practice, h.c.key == key).order_by(h.c.id)
            ).all()
        return [HistoryEntry(r.at, r.run_id, r.from_status, r.to_status, r.cause, r.changes) for r in rows]

    def _row(self, task: Task, run_id: int | None, tz: Any) -> dict[str, Any]:
        row = {f: getattr(task, f) for f in _TASK_FIELDS}
        row.update(
            practice=self.practice,
            fingerprint=fingerprint(task.appointment_id, task.appointment_at, tz),
            last_run=run_id or 0,
        )
        return row

    def _history(self, conn: Any, transitions: list[Transition], run_id: int | None, at: datetime) -> None:
        if not transitions:
            return
        conn.execute(
            schema.task_history.insert(),
            [
                {
                    "practice": self.practice,
                    "key": tr.key,
                    "run_id": run_id,
                    "at": at,
                    "from_status": tr.from_status,
                    "to_status": tr.to_status,
                    "cause": tr.cause,
                    "changes": tr.changes,
                }
                for tr in transitions
            ],
        )
