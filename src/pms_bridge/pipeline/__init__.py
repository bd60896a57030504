"""Pipeline orchestration: connector -> mapping -> store (rules and sinks join later)."""

from pms_bridge.pipeline.report import ResourceReport, SyncReport
from pms_bridge.pipeline.run import UnsupportedConnector, parse_as_of, run_sync

__all__ = ["ResourceReport", "SyncReport", "UnsupportedConnector", "parse_as_of", "run_sync"]
