"""Store stage: normalized snapshot, reference rows, cursors, runs and quarantine."""

from pms_bridge.store.compact_ids import IdSet, StoredHashes
from pms_bridge.store.engine import create_private_file, sqlite_url
from pms_bridge.store.errors import StoreBusy, StoreError, StoreUnreachable
from pms_bridge.store.store import QuarantinedRow, RunRecord, Store, UpsertCounts
from pms_bridge.store.working_set import (
    History,
    Reach,
    WorkingSet,
    appointment_starts,
    clinic_names,
    find_working_set,
    patients_by_id,
    procedure_codes_stored,
    working_set_records,
)

__all__ = [
    "History",
    "IdSet",
    "QuarantinedRow",
    "Reach",
    "RunRecord",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreUnreachable",
    "StoredHashes",
    "UpsertCounts",
    "WorkingSet",
    "appointment_starts",
    "clinic_names",
    "create_private_file",
    "find_working_set",
    "patients_by_id",
    "procedure_codes_stored",
    "sqlite_url",
    "working_set_records",
]
