"""Store stage: normalized snapshot, reference rows, cursors, runs and quarantine."""

from pms_bridge.store.engine import create_private_file, sqlite_url
from pms_bridge.store.errors import StoreBusy, StoreError, StoreUnreachable
from pms_bridge.store.store import QuarantinedRow, RunRecord, Store, UpsertCounts

__all__ = [
    "QuarantinedRow",
    "RunRecord",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreUnreachable",
    "UpsertCounts",
    "create_private_file",
    "sqlite_url",
]
