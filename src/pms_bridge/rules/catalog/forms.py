"""FRM: registration and health-history forms on file before the visit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from pms_bridge.model.enums import FormKind
from pms_bridge.rules.common import RecencySettings, visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import months_before
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import WindowSettings, rule


def completed_forms(ctx: RuleContext, patient_id: str, kind: FormKind) -> list[date]:
    """Local completion dates of the patient's completed, not deleted forms of ``kind``, newest first."""
    forms = ctx.snapshot.forms_by_patient.get(patient_id, [])
    done = [ctx.local_date(f.completed_at) for f in forms if f.kind == kind and f.completed_at is not None]
    return sorted(done, reverse=True)


@rule(
    "FRM001",
    "new-patient-forms-missing",
    role="patient",
    severity="high",
    summary="A new patient has an appointment in the window and no completed registration form.",
    why="Without registration the front desk has no contact, guarantor or insurance details to check before "
    "the visit, and the patient fills in paper at check-in while the chair waits.",
    fix="Send the patient the online registration form (or have it completed before the visit) and attach it.",
    settings=WindowSettings,
    reads=("form",),
)
def new_patient_forms_missing(ctx: RuleContext, settings: WindowSettings) -> Iterator[Finding]:
    for apt, _ in ctx.first_visits(settings.window_days):
        pid = apt.patient_id
        if not ctx.snapshot.is_new_patient(pid, ctx.today) or completed_forms(ctx, pid, FormKind.REGISTRATION):
            continue
        yield visit_finding(ctx, apt, "New patient has no registration form",
                            "no completed registration form on file.", subject_type="patient")


@rule(
    "FRM002",
    "health-history-outdated",
    role="patient",
    severity="medium",
    summary="A patient with an appointment in the window has no health-history form completed in the last "
    "12 months before the visit.",
    why="Medications, allergies and conditions change; treating on an old health history is a safety and "
    "liability risk.",
    fix="Ask the patient to complete or update the health-history form before the visit.",
    settings=RecencySettings,
    reads=("form",),
)
def health_history_outdated(ctx: RuleContext, settings: RecencySettings) -> Iterator[Finding]:
    for apt, when in ctx.first_visits(settings.window_days):
        since = months_before(when, settings.months)
        done = completed_forms(ctx, apt.patient_id, FormKind.HEALTH_HISTORY)
        if done and done[0] >= since:
            continue
        last = done[0].isoformat() if done else None
        yield visit_finding(
            ctx, apt,
            f"Health history older than {settings.months} months" if done else "No health history on file",
            f"last health history {last or 'never'}; needs one completed on or after {since.isoformat()}.",
            subject_type="patient", data={"last_completed": last, "since": since.isoformat()},
        )
