"""TX: planned treatment becomes scheduled treatment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from pms_bridge.model import Procedure
from pms_bridge.model.enums import AppointmentStatus, ProcedureStatus
from pms_bridge.rules.common import procedure_label
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import months_before
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.patients import active
from pms_bridge.rules.registry import Horizon, RuleSettings, rule


class TX001Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"recent_visit_days": ("recent_visit",)}

    after_days: int = Field(default=14, ge=0, le=365,
                            description="Follow up treatment planned more than this many days ago.")
    visit_months: int = Field(default=18, ge=1, le=120,
                              description="Only for patients with a completed visit in this many months.")

    @property
    def recent_visit_days(self) -> int:
        """Days that hold ``visit_months`` months back from any day (the working set's reach)."""
        return self.visit_months * 31 + 1


def _on_the_book(ctx: RuleContext, proc: Procedure) -> bool:
    """On a scheduled appointment (a planned appointment, Open Dental's placeholder, does not count)."""
    apt = ctx.snapshot.appointments.get(proc.appointment_id) if proc.appointment_id else None
    return apt is not None and apt.status == AppointmentStatus.SCHEDULED


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


@rule(
    "TX001",
    "treatment-unscheduled",
    role="treatment",
    severity="medium",
    summary="Procedures were treatment-planned more than 14 days ago and are on no scheduled appointment, for a "
    "patient seen (a completed visit) in the last 18 months; one task per patient, listing the procedures and "
    "their fee total.",
    why="Diagnosed treatment that is never scheduled goes undone: the patient's problem grows and the practice's "
    "case acceptance (target 70% or more) falls.",
    fix="Call the patient about the planned treatment (cost, insurance, timing) and book it, or mark it inactive "
    "if the patient declined.",
    settings=TX001Settings,
    also_reads=("procedure",),
)
def treatment_unscheduled(ctx: RuleContext, settings: TX001Settings) -> Iterator[Finding]:
    planned_by = ctx.today - timedelta(days=settings.after_days + 1)
    seen_since = months_before(ctx.today, settings.visit_months)
    for pid, procs in ctx.snapshot.procedures_by_patient.items():
        waiting = [p for p in procs if p.status == ProcedureStatus.PLANNED and p.planned_date is not None
                   and p.planned_date <= planned_by and not _on_the_book(ctx, p)]
        if not waiting:
            continue
        last_visit = ctx.snapshot.last_completed_visit(pid)
        if last_visit is None or not seen_since <= last_visit <= ctx.today or not active(ctx, pid):
            continue
        waiting.sort(key=lambda p: (p.planned_date, p.code, p.source_id))
        total = sum((p.fee for p in waiting if p.fee is not None), Decimal(0))
        listed = ", ".join(procedure_label(p) for p in waiting)
        oldest = waiting[0].planned_date
        yield Finding(
            subject_type="patient",
            subject_id=pid,
            patient_id=pid,
            appointment_id=None,
            title=f"{len(waiting)} planned procedure{'s' if len(waiting) > 1 else ''} not scheduled "
            f"({_money(total)})",
            detail=f"Planned since {oldest.isoformat()}, on no scheduled appointment: {listed}; "
            f"last visit {last_visit.isoformat()}.",
            due=ctx.today,
            data={"procedures": [{"procedure_id": p.source_id, "code": p.code, "tooth": p.tooth,
                                  "planned_date": p.planned_date.isoformat(),
                                  "fee": str(p.fee) if p.fee is not None else None} for p in waiting],
                  "fee_total": str(total), "last_visit": last_visit.isoformat()},
        )
