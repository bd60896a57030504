"""What a rule reports: one problem with one subject, ready to become a task."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pms_bridge.model.vocabulary import Severity

SubjectType = Literal["patient", "appointment", "procedure", "coverage", "referral", "claim"]


@dataclass(frozen=True)
class Finding:
    """A rule's finding. Titles and details name codes, dates and provider
    abbreviations, never patient names (sinks add those where allowed)."""

    subject_type: SubjectType
    subject_id: str
    patient_id: str
    appointment_id: str | None
    title: str
    detail: str
    due: date
    data: dict[str, Any] = field(default_factory=dict)  # structured detail (JSON-able)
    severity: Severity | None = None  # None: the rule's default severity
    rule: str = ""  # the rule's code, filled in by the engine: a rule never spells its own code

    @property
    def key(self) -> str:
        """Stable across runs: the same problem with the same subject has the same key."""
        return f"{self.rule}:{self.subject_type}:{self.subject_id}"
