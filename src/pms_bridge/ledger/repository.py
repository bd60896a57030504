"""The task ledger in the store: tasks by key, and their history."""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
        return [_task(row) for row in self.store.task_rows(status, role)]

    def fingerprints(self) -> dict[str, str]:
        return self.store.task_fingerprints()

    def to_reconcile(self, keys: Collection[str]) -> tuple[dict[str, Task], dict[str, str]]:
        """What :func:`reconcile` needs of the stored tasks for a run that found ``keys``: the open tasks and
        the tasks of those keys (a closed task comes back only when found again), by key, and their
        fingerprints."""
        rows = self.store.task_rows_open_or(keys)
        tasks = {row["key"]: _task(row) for row in rows}
        return tasks, {row["key"]: row["fingerprint"] for row in rows}

    def task(self, key: str) -> Task | None:
        """The task of ``key`` (None when there is none)."""
        row = self.store.task_row(key)
        return None if row is None else _task(row)

    def apply(self, update: LedgerUpdate, run_id: int | None, at: datetime) -> None:
        """Write changed tasks and their transitions in one transaction."""
        tz = self.store.practice.tz
        rows = [self._row(task, run_id, tz) for task in update.changed.values()]
        self.store.save_tasks(rows, _history(update.transitions, run_id, at))

    def dismiss(self, key: str, reason: str, at: datetime) -> Task:
        """A person closed the task: it stays closed until its subject changes."""
        task = self.task(key)
        if task is None:
            raise TaskNotFound(key)
        if task.status == "dismissed":
            return task
        self.store.update_task(
            key,
            {"status": "dismissed", "reason": reason, "resolved_at": at, "updated_at": at},
            _history([Transition(key, task.status, "dismissed", f"dismissed: {reason}")], None, at),
        )
        dismissed = self.task(key)
        assert dismissed is not None
        return dismissed

    def history(self, key: str) -> list[HistoryEntry]:
        return [
            HistoryEntry(r["at"], r["run_id"], r["from_status"], r["to_status"], r["cause"], r["changes"])
            for r in self.store.task_history_rows(key)
        ]

    def _row(self, task: Task, run_id: int | None, tz: Any) -> dict[str, Any]:
        row = {f: getattr(task, f) for f in _TASK_FIELDS}
        row.update(fingerprint=fingerprint(task.appointment_id, task.appointment_at, tz), last_run=run_id or 0)
        return row


def _task(row: dict[str, Any]) -> Task:
    """A stored task row as a Task."""
    return Task(**{f: row[f] for f in _TASK_FIELDS})


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
