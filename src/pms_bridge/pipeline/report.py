"""What a sync did, per resource and in total (counts and ids only, no PHI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pms_bridge.pipeline.check import CheckReport
from pms_bridge.store import UpsertCounts


@dataclass
class ResourceReport:
    resource: str
    entity: str | None  # None for reference tables
    source: str | None = None  # file or endpoint; None when the export lacks it
    rows_read: int = 0
    skipped: int = 0
    quarantined: int = 0
    stored: UpsertCounts = field(default_factory=UpsertCounts)
    removed: int = 0  # rows a full export no longer has (deleted in the PMS)
    error: str | None = None  # a file-level problem: the file was not (fully) loaded
    warning: str | None = None  # needs a person's look, but the run is not partial

    @property
    def missing(self) -> bool:
        return self.source is None and self.error is None


@dataclass
class SyncReport:
    run_id: int
    mapping: str
    connector: str
    started_at: datetime
    finished_at: datetime | None = None
    resources: list[ResourceReport] = field(default_factory=list)
    snapshot_counts: dict[str, int] = field(default_factory=dict)
    data_as_of: datetime | None = None
    as_of: datetime | None = None
    checks: CheckReport | None = None

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.resources)

    @property
    def failed(self) -> list[ResourceReport]:
        return [r for r in self.resources if r.error]

    @property
    def status(self) -> str:
        return "partial" if self.quarantined or self.failed else "ok"

    def to_summary(self) -> dict[str, Any]:
        """JSON-able summary stored with the run."""
        return {
            "mapping": self.mapping,
            "connector": self.connector,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of else None,
            "quarantined": self.quarantined,
            "findings": self.checks.counts() if self.checks else None,
            "snapshot": self.snapshot_counts,
            "resources": [
                {
                    **{k: v for k, v in r.__dict__.items() if k != "stored"},
                    **asdict(r.stored),
                }
                for r in self.resources
            ],
        }
