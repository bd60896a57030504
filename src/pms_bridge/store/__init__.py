"""Store stage: normalized snapshot, reference rows, cursors, runs and quarantine."""

from pms_bridge.store.engine import StoreError, create_private_file, sqlite_url
from pms_bridge.store.store import QuarantinedRow, RunRecord, Store, UpsertCounts

__all__ = [
    "QuarantinedRow",
    "RunRecord",
    "Store",
    "StoreError",
    "UpsertCounts",
    "create_private_file",
    "sqlite_url",
]
