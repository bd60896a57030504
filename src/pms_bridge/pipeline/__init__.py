"""Pipeline orchestration: connector -> mapping -> store -> rules -> ledger -> sinks, for one run."""

from pms_bridge.pipeline.check import CheckReport, check_store
from pms_bridge.pipeline.report import ResourceReport, SinkResult, SyncReport, TaskReport
from pms_bridge.pipeline.run import check_only, now_at_practice, parse_as_of, run_sync
from pms_bridge.pipeline.tasks import list_meta, stored_patient_names

__all__ = [
    "CheckReport",
    "ResourceReport",
    "SinkResult",
    "TaskReport",
    "list_meta",
    "stored_patient_names",
    "SyncReport",
    "check_only",
    "check_store",
    "now_at_practice",
    "parse_as_of",
    "run_sync",
]
