"""Findings -> task ledger: the lifecycle rules, as a pure function.

- a new finding opens a task; the same finding on a later run updates the
  open task in place (text, due date, appointment) and never duplicates it;
- an open task whose finding is gone is *resolved*, or *expired* when the
  appointment it was about has already started;
- a task a person dismissed stays dismissed unless its subject changes
  materially (another appointment, or the appointment moved to another day);
- a resolved or expired task whose finding comes back is reopened;
- a task of a *held* rule (one that read a table not read whole this run) is not resolved: its finding
  may be missing only because its rows were. It still expires once its appointment has started.

Every transition is reported with its cause so it can be recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from pms_bridge.ledger.task import Task
from pms_bridge.rules import RULES, Finding

# Fields of an open task that follow the latest finding.
TRACKED = ("title", "detail", "fix", "due", "severity", "appointment_id", "appointment_at", "assignee", "data",
           "clinic")


@dataclass(frozen=True)
class Transition:
    key: str
    from_status: str | None  # None: the task was created
    to_status: str
    cause: str
    changes: list[str] | None = None  # names of the fields an update changed


@dataclass
class LedgerUpdate:
    changed: dict[str, Task] = field(default_factory=dict)  # tasks to write
    transitions: list[Transition] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("opened", "updated", "resolved", "expired", "reopened", "unchanged"), 0)
    )
    held: dict[str, int] = field(default_factory=dict)  # rule -> open tasks not resolved because the rule was held

    def record(self, task: Task, transition: Transition, count: str) -> None:
        self.changed[task.key] = task
        self.transitions.append(transition)
        self.counts[count] += 1


def fingerprint(appointment_id: str | None, appointment_at: datetime | None, tz: ZoneInfo) -> str:
    """The subject's material state: which appointment, on which day."""
    day = appointment_at.astimezone(tz).date().isoformat() if appointment_at else ""
    return f"{appointment_id or ''}@{day}"


def task_from_finding(
    finding: Finding,
    as_of: datetime,
    appointment_at: datetime | None,
    assignees: dict[str, str],
    clinic: str | None = None,
) -> Task:
    rule = RULES[finding.rule]
    return Task(
        key=finding.key,
        rule=finding.rule,
        name=rule.name,
        status="open",
        severity=finding.severity or rule.severity,
        role=rule.role,
        patient_id=finding.patient_id,
        appointment_id=finding.appointment_id,
        subject_type=finding.subject_type,
        subject_id=finding.subject_id,
        title=finding.title,
        detail=finding.detail,
        fix=rule.fix,
        due=finding.due,
        created_at=as_of,
        updated_at=as_of,
        appointment_at=appointment_at,
        assignee=assignees.get(rule.role),
        data=dict(finding.data),
        clinic=clinic,
    )


def _changed_fields(old: Task, new: Task) -> list[str]:
    return [name for name in TRACKED if getattr(old, name) != getattr(new, name)]


def reconcile(
    existing: dict[str, Task],
    findings: Iterable[Finding],
    *,
    as_of: datetime,
    tz: ZoneInfo,
    evaluated_rules: set[str],
    appointment_starts: dict[str, datetime | None],  # None: undated (planned, unscheduled list)
    assignees: dict[str, str] | None = None,
    held: Mapping[str, str] | None = None,
    fingerprints: dict[str, str] | None = None,
    clinics: dict[str, str] | None = None,
) -> LedgerUpdate:
    """What the ledger becomes after a run's findings.

    ``held``: the rules whose tasks may not be resolved this run (rule code -> why): a table they read was
    not read whole, so their missing findings prove nothing. Their tasks still expire when the appointment
    has started.
    ``fingerprints`` holds the stored fingerprint of each existing task; ``clinics`` the clinic
    name of each finding (by key) in a multi-clinic office.
    """
    update = LedgerUpdate()
    assignees = assignees or {}
    fingerprints = fingerprints or {}
    clinics = clinics or {}
    seen: set[str] = set()
    for finding in findings:
        seen.add(finding.key)
        apt_at = appointment_starts.get(finding.appointment_id) if finding.appointment_id else None
        fresh = task_from_finding(finding, as_of, apt_at, assignees, clinics.get(finding.key))
        old = existing.get(finding.key)
        if old is None:
            update.record(fresh, Transition(fresh.key, None, "open", "new finding"), "opened")
            continue
        if old.status == "dismissed":
            if fingerprints.get(old.key) == fingerprint(fresh.appointment_id, fresh.appointment_at, tz):
                update.counts["unchanged"] += 1
                continue
            reopened = replace(fresh, created_at=old.created_at, reason=None)
            update.record(reopened, Transition(old.key, "dismissed", "open", "subject changed (appointment)"), "reopened")
            continue
        if old.status in ("resolved", "expired"):
            reopened = replace(fresh, created_at=old.created_at, reason=None)
            update.record(reopened, Transition(old.key, old.status, "open", "problem found again"), "reopened")
            continue
        changes = _changed_fields(old, fresh)
        if changes:
            updated = replace(old, **{name: getattr(fresh, name) for name in changes}, updated_at=as_of)
            update.record(updated, Transition(old.key, "open", "open", "details changed", changes), "updated")
        else:
            update.counts["unchanged"] += 1
    held = held or {}
    for key, old in existing.items():
        if old.status != "open" or key in seen or old.rule not in evaluated_rules:
            continue
        start = appointment_starts.get(old.appointment_id, old.appointment_at) if old.appointment_id else None
        if start is not None and start <= as_of:
            closed = replace(old, status="expired", resolved_at=as_of, updated_at=as_of)
            update.record(closed, Transition(key, "open", "expired", "the appointment date passed"), "expired")
        elif old.rule in held:
            update.held[old.rule] = update.held.get(old.rule, 0) + 1
        else:
            closed = replace(old, status="resolved", resolved_at=as_of, updated_at=as_of)
            update.record(closed, Transition(key, "open", "resolved", "no longer found"), "resolved")
    return update
