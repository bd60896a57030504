"""A task: a finding a person works until it is resolved, dismissed or expired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pms_bridge.model.vocabulary import Role, Severity, TaskStatus


@dataclass
class Task:
    key: str  # rule + subject: stable across runs
    rule: str
    name: str  # the rule's readable name
    status: TaskStatus
    severity: Severity
    role: Role  # the coordinator role that works it
    patient_id: str
    appointment_id: str | None
    subject_type: str
    subject_id: str
    title: str
    detail: str
    fix: str
    due: date
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None  # when it left "open" (resolved, dismissed or expired)
    appointment_at: datetime | None = None  # start of the appointment it concerns
    assignee: str | None = None  # a person or PMS task list, from the config's role routing
    reason: str | None = None  # why it was dismissed / how it was resolved
    data: dict[str, Any] = field(default_factory=dict)
    clinic: str | None = None  # the clinic's name in a multi-clinic office (the appointment's, else the patient's)

    def to_json(self) -> dict[str, Any]:
        """The tasks JSON (a contract other tools read; `pms-bridge schema tasks`): ids as strings, dates ISO
        8601, no patient names."""
        return {
            "key": self.key,
            "rule": self.rule,
            "name": self.name,
            "status": self.status,
            "severity": self.severity,
            "role": self.role,
            "assignee": self.assignee,
            "patient_id": self.patient_id,
            "appointment_id": self.appointment_id,
            "appointment_at": self.appointment_at.isoformat() if self.appointment_at else None,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "due": self.due.isoformat(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "reason": self.reason,
            "data": self.data,
            "clinic": self.clinic,
        }
