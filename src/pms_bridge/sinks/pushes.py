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

from pms_bridge.store import Store

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
        rows = self.store.push_rows(self.sink)
        return {row["key"]: PushRecord(**{f: row[f] for f in _FIELDS}) for row in rows}

    def save(self, record: PushRecord) -> None:
        """Insert or replace one record (its own transaction: it must be durable before the write)."""
        self.store.save_push(self.sink, {f: getattr(record, f) for f in _FIELDS})

    def delete(self, key: str) -> None:
        self.store.delete_push(self.sink, key)
