"""What a sync did, per resource and in total (counts and ids only, no PHI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pms_bridge.pipeline.check import CheckReport
from pms_bridge.sinks.registry import SinkResult
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
    unavailable: str | None = None  # the PMS cannot serve it at all (e.g. its version is too old): not a failure
    warning: str | None = None  # needs a person's look (with ``incomplete`` or quarantined rows the run is partial)
    # Why the rows read may not be the whole table (a file cut short, a removal refused as a cut export):
    # nothing was removed and no rule reading it closed a task. Makes the run partial.
    incomplete: str | None = None
    # A reference table (or a resource that is one too): the other entities whose records it feeds.
    feeds: list[str] = field(default_factory=list)
    # The practice's own labels no setting places: config key -> label -> rows (labels, never patient data)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def missing(self) -> bool:
        return self.source is None and self.error is None

    @property
    def doubt(self) -> str | None:
        """Why this table's rows are no evidence that something is gone (None: they are); names and counts only."""
        name = self.source or self.resource
        if self.error:
            return f"{name} could not be read"
        if self.incomplete:
            return f"{name} looks cut short"
        if self.quarantined:
            return f"{name} has {self.quarantined:,} quarantined row{'s' if self.quarantined != 1 else ''}"
        return None

    @property
    def speaks_for(self) -> set[str]:
        """The entities this table's rows are evidence about."""
        return set(self.feeds) | ({self.entity} if self.entity else set())

    def note(self, text: str) -> None:
        self.warning = f"{self.warning} {text}" if self.warning else text


def unavailable_entities(resources: Iterable[tuple[str | None, str | None]]) -> set[str]:
    """Of (entity, why it is unavailable) pairs, the entities no resource served."""
    pairs = [(entity, why) for entity, why in resources if entity]
    return {entity for entity, why in pairs if why} - {entity for entity, why in pairs if not why}


def unavailable_in(summary: dict[str, Any]) -> set[str]:
    """The unavailable entities a stored run summary records (``pms-bridge check`` between runs)."""
    return unavailable_entities((r.get("entity"), r.get("unavailable")) for r in summary.get("resources", []))


@dataclass
class TaskReport:
    counts: dict[str, int]  # opened / updated / resolved / expired / reopened / unchanged
    open_tasks: int
    sinks: list[SinkResult] = field(default_factory=list)
    # Rules whose tasks could not close this run: rule code -> why (tables and counts), and how many
    # of its tasks stayed open only because of that.
    held: dict[str, str] = field(default_factory=dict)
    held_tasks: dict[str, int] = field(default_factory=dict)

    @property
    def push_failures(self) -> int:
        return sum(1 for s in self.sinks if s.error)


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
    tasks: TaskReport | None = None
    requests: int = 0  # API requests made (every attempt)
    # About the whole run, said once (a database account that could write): they need a person's look but do
    # not make the run partial.
    warnings: list[str] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.resources)

    @property
    def unavailable_entities(self) -> set[str]:
        """Entities no resource could serve on this PMS (rules that need them are not evaluated)."""
        return unavailable_entities((r.entity, r.unavailable) for r in self.resources)

    @property
    def unmapped_labels(self) -> dict[str, dict[str, int]]:
        """Labels nothing mapped, over every resource: config key -> label -> rows."""
        merged: dict[str, dict[str, int]] = {}
        for resource in self.resources:
            for setting, labels in resource.unmapped.items():
                into = merged.setdefault(setting, {})
                for label, rows in labels.items():
                    into[label] = into.get(label, 0) + rows
        return {setting: dict(sorted(labels.items())) for setting, labels in sorted(merged.items())}

    @property
    def failed(self) -> list[ResourceReport]:
        return [r for r in self.resources if r.error]

    @property
    def incomplete(self) -> list[ResourceReport]:
        return [r for r in self.resources if r.incomplete]

    def doubts(self) -> dict[str, list[str]]:
        """Entity -> why some table feeding it is no evidence of absence this run (see ResourceReport.doubt)."""
        doubts: dict[str, list[str]] = {}
        for r in self.resources:
            why = r.doubt
            if why:
                for entity in sorted(r.speaks_for):
                    doubts.setdefault(entity, []).append(why)
        return doubts

    @property
    def status(self) -> str:
        pushes_failed = self.tasks is not None and self.tasks.push_failures > 0
        return "partial" if self.quarantined or self.failed or self.incomplete or pushes_failed else "ok"

    def to_summary(self) -> dict[str, Any]:
        """JSON-able summary stored with the run."""
        return {
            "mapping": self.mapping,
            "connector": self.connector,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of else None,
            "quarantined": self.quarantined,
            "unmapped_labels": self.unmapped_labels,
            "requests": self.requests,
            "warnings": list(self.warnings),
            "findings": self.checks.counts() if self.checks else None,
            "rules_skipped": self.checks.skipped if self.checks else {},
            "tasks": (
                {**self.tasks.counts, "open": self.tasks.open_tasks, "push_failures": self.tasks.push_failures}
                if self.tasks
                else None
            ),
            "closes_held": (
                {code: {"why": why, "tasks": self.tasks.held_tasks.get(code, 0)} for code, why in self.tasks.held.items()}
                if self.tasks
                else {}
            ),
            "sinks": [s.__dict__ for s in self.tasks.sinks] if self.tasks else [],
            "snapshot": self.snapshot_counts,
            "resources": [
                {
                    **{k: v for k, v in r.__dict__.items() if k != "stored"},
                    **asdict(r.stored),
                }
                for r in self.resources
            ],
        }
