"""The push ledger: what a PMS sink wrote for each task, so nothing is sent twice.

A write is recorded as ``pending`` before it is sent and as ``sent`` (with the
PMS's id) after it succeeded. A ``pending`` row left by a crash means "this may
already be in the PMS": the sink looks for its marker there before writing
again. ``closed`` means the remote copy is closed (done) or never needs
another write.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from pms_bridge.store import Store, schema

PushState = Literal["pending", "sent", "closed"]


@dataclass
class PushRecord:
    key: str
    state: PushState
    text_hash: str
    created_at: datetime
    updated_at: datetime
    remote_id: str | None = None
    target: str | None = None
    remote_created: datetime | None = None
    run_id: int | None = None


_FIELDS = [f.name for f in fields(PushRecord)]


class PushLedger:
    """One sink's push records for one practice."""

    def __init__(self, store: Store, sink: str) -> None:
        self.store = store
        self.sink = sink
        self.practice = store.practice.key

    def load(self) -> dict[str, PushRecord]:
        p = schema.pushes
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(p).where(p.c.practice == self.practice, p.c.sink == self.sink).order_by(p.c.key)
            ).all()
        return {row.key: PushRecord(**{f: row._mapping[f] for f in _FIELDS}) for row in rows}

    def save(self, record: PushRecord) -> None:
        """Insert or replace one record (its own transaction: it must be durable before the write)."""
        row = {f: getattr(record, f) for f in _FIELDS}
        row.update(practice=self.practice, sink=self.sink)
        self.store._upsert(schema.pushes, [row], ["practice", "sink", "key"])

    def delete(self, key: str) -> None:
        p = schema.pushes
        with self.store.engine.begin() as conn:
            conn.execute(p.delete().where(p.c.practice == self.practice, p.c.sink == self.sink, p.c.key == key))
