"""SCH: appointments booked with the right provider, procedures and length."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import day_before, not_before
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import WindowSettings, rule


class SCH003Settings(WindowSettings):
    exempt_types: list[str] = Field(
        default_factory=lambda: ["Consult", "Consultation"],
        description="Appointment types that may be booked without procedures (matched ignoring case).",
    )


@rule(
    "SCH003",
    "appointment-without-procedures",
    role="scheduling",
    severity="medium",
    summary="A scheduled appointment in the window has no procedures attached.",
    why="Without procedures the provider cannot prepare, the length cannot be checked and insurance "
    "cannot be estimated; the visit often ends up unproductive.",
    fix="Attach the planned procedures to the appointment, or set an exempt appointment type (e.g. Consult).",
    settings=SCH003Settings,
)
def appointment_without_procedures(ctx: RuleContext, settings: SCH003Settings) -> Iterator[Finding]:
    exempt = {t.casefold() for t in settings.exempt_types}
    for apt in ctx.window(settings.window_days):
        if apt.appointment_type and apt.appointment_type.casefold() in exempt:
            continue
        if ctx.snapshot.procedures_of(apt.source_id):
            continue
        when = ctx.local_date(apt.start)
        yield Finding(
            rule="SCH003",
            subject_type="appointment",
            subject_id=apt.source_id,
            patient_id=apt.patient_id,
            appointment_id=apt.source_id,
            title="Appointment has no procedures attached",
            detail=f"Booked {apt.start.astimezone(ctx.tz):%a %b %-d %H:%M} for {apt.minutes} min with nothing to do.",
            due=not_before(day_before(when), ctx.today),
            data={"appointment_type": apt.appointment_type, "minutes": apt.minutes},
        )
