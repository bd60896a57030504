"""The audit trail: what pms-bridge did to tasks and what it pushed to the PMS, newest first.

Two sources are merged into one time-ordered list:

- ``task_history``: every state change of a ledger task (created, resolved,
  dismissed, reopened, expired, details changed), with the run that made it
  (none for a person's action) and its cause;
- ``pushes``: each PMS sink's record of a task (one row per sink and task,
  holding its latest state: pending / sent / closed, and the PMS's own id).

Events carry ids and codes only (task keys are rule + subject id, remote ids
are the PMS's numbers), never a task's title, detail or a patient's name.
The one free text is the cause of a dismissal, which holds the reason the
person gave (as ``pms-bridge tasks history`` shows it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from pms_bridge.store import schema
from pms_bridge.store.store import Store

EventKind = Literal["task", "push"]


@dataclass(frozen=True)
class AuditEvent:
    at: datetime  # aware, UTC
    kind: EventKind  # "task": a ledger state change; "push": a PMS sink's record
    run_id: int | None  # None: a person's action outside a run
    key: str  # the task's key (rule:subject_type:subject_id)
    rule: str  # the rule code, the key's first part
    from_status: str | None = None  # task: None when created
    to_status: str | None = None  # task
    cause: str | None = None  # task
    sink: str | None = None  # push: e.g. "opendental-tasks"
    state: str | None = None  # push: pending / sent / closed
    remote_id: str | None = None  # push: the PMS's id (TaskNum, CommlogNum)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def _rule(key: str) -> str:
    return key.split(":", 1)[0]


def audit_events(
    store: Store,
    since: datetime | None = None,
    key: str | None = None,
    run_id: int | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """The practice's task changes and PMS pushes, newest first, at most ``limit``.

    ``since`` (aware) keeps events at or after it; ``key`` one task's events;
    ``run_id`` one run's events.
    """
    if since is not None and since.tzinfo is None:
        raise ValueError("'since' must be an aware datetime")
    if limit <= 0:
        return []
    p = store.practice.key
    h, pu = schema.task_history, schema.pushes

    history = select(h).where(h.c.practice == p)
    pushes = select(pu).where(pu.c.practice == p)
    if since is not None:
        history = history.where(h.c.at >= since)
        pushes = pushes.where(pu.c.updated_at >= since)
    if key is not None:
        history = history.where(h.c.key == key)
        pushes = pushes.where(pu.c.key == key)
    if run_id is not None:
        history = history.where(h.c.run_id == run_id)
        pushes = pushes.where(pu.c.run_id == run_id)
    # Each side is cut to ``limit`` before the merge: the newest ``limit`` of both are among them.
    history = history.order_by(h.c.at.desc(), h.c.id.desc()).limit(limit)
    pushes = pushes.order_by(pu.c.updated_at.desc(), pu.c.sink, pu.c.key).limit(limit)

    ranked: list[tuple[tuple[datetime, int, int], AuditEvent]] = []
    with store.engine.connect() as conn:
        for row in conn.execute(history):
            event = AuditEvent(
                at=row.at, kind="task", run_id=row.run_id, key=row.key, rule=_rule(row.key),
                from_status=row.from_status, to_status=row.to_status, cause=row.cause,
            )
            ranked.append(((row.at, 0, row.id), event))
        for n, row in enumerate(conn.execute(pushes)):
            event = AuditEvent(
                at=row.updated_at, kind="push", run_id=row.run_id, key=row.key, rule=_rule(row.key),
                sink=row.sink, state=row.state, remote_id=row.remote_id,
            )
            # At the same instant a push follows the ledger change it carries out.
            ranked.append(((row.updated_at, 1, -n), event))
    ranked.sort(key=lambda item: item[0], reverse=True)
    return [event for _, event in ranked[:limit]]
