"""The task ledger in the store: tasks by key, and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pms_bridge.ledger.reconcile import LedgerUpdate, Transition, fingerprint
from pms_bridge.ledger.task import Task
from pms_bridge.store import Store

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
        return [Task(**{f: row[f] for f in _TASK_FIELDS}) for row in self.store.task_rows(status, role)]

    def fingerprints(self) -> dict[str, str]:
        return self.store.task_fingerprints()

    def apply(self, update: LedgerUpdate, run_id: int | None, at: datetime) -> None:
        """Write changed tasks and their transitions in one transaction."""
        tz = self.store.practice.tz
        rows = [self._row(task, run_id, tz) for task in update.changed.values()]
        self.store.save_tasks(rows, _history(update.transitions, run_id, at))

    def dismiss(self, key: str, reason: str, at: datetime) -> Task:
        """A person closed the task: it stays closed until its subject changes."""
        matches = [t for t in self.tasks() if t.key == key]
        if not matches:
            raise TaskNotFound(key)
        task = matches[0]
        if task.status == "dismissed":
            return task
        self.store.update_task(
            key,
            {"status": "dismissed", "reason": reason, "resolved_at": at, "updated_at": at},
            _history([Transition(key, task.status, "dismissed", f"dismissed: {reason}")], None, at),
        )
        return next(t for t in self.tasks() if t.key == key)

    def history(self, key: str) -> list[HistoryEntry]:
        return [
            HistoryEntry(r["at"], r["run_id"], r["from_status"], r["to_status"], r["cause"], r["changes"])
            for r in self.store.task_history_rows(key)
        ]

    def _row(self, task: Task, run_id: int | None, tz: Any) -> dict[str, Any]:
        row = {f: getattr(task, f) for f in _TASK_FIELDS}
        row.update(fingerprint=fingerprint(task.appointment_id, task.appointment_at, tz), last_run=run_id or 0)
        return row


def _history(transitions: list[Transition], run_id: int | None, at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "key": tr.key,
            "run_id": run_id,
            "at": at,
            "from_status": tr.from_status,
            "to_status": tr.to_status,
            "cause": tr.cause,
            "changes": tr.changes,
        }
        for tr in transitions
    ]
