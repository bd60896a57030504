"""APT: the next days' appointments confirmed; broken and missed appointments booked again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, time, timedelta
from typing import ClassVar

from pydantic import Field

from pms_bridge.model import Appointment
from pms_bridge.model.enums import AppointmentStatus
from pms_bridge.rules.common import visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import business_days_after
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.patients import active
from pms_bridge.rules.registry import Horizon, RuleSettings, rule


class APT001Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"window_days": ("window",)}

    business_days: int = Field(default=2, ge=0, le=10,
                               description="Look at appointments from now to the end of this many business days "
                               "after today (Saturdays and Sundays are not business days; 0: today only).")

    @property
    def window_days(self) -> int:
        """Calendar days that hold the business days from any weekday on (the working set's window)."""
        return self.business_days + 2 * ((self.business_days + 4) // 5) + 2


@rule(
    "APT001",
    "appointment-unconfirmed",
    role="scheduling",
    severity="medium",
    summary="A scheduled appointment between now and the end of the second business day after today has a "
    "confirmation status that does not mean confirmed (the mapping says which statuses do); one task per "
    "appointment.",
    why="Unconfirmed appointments are the ones that no-show; a call the day before fills the chair from the "
    "short-call list instead of leaving it empty.",
    fix="Call, text or e-mail the patient to confirm, and set the appointment's confirmation status.",
    settings=APT001Settings,
)
def appointment_unconfirmed(ctx: RuleContext, settings: APT001Settings) -> Iterator[Finding]:
    last = business_days_after(ctx.today, settings.business_days)
    end = datetime.combine(last + timedelta(days=1), time(), ctx.tz)
    for apt in ctx.window(settings.window_days):
        if apt.start >= end or apt.confirmed:
            continue
        label = apt.confirmation or "no confirmation status"
        yield visit_finding(ctx, apt, "Appointment not confirmed",
                            f"confirmation status is '{label}'.",
                            data={"confirmation": apt.confirmation, "confirm_by": last.isoformat()})


class APT002Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"lookback_days": ("broken",)}

    lookback_days: int = Field(default=30, ge=1, le=365,
                               description="Look at appointments broken or missed this many days back (and at "
                               "cancellations of appointments still ahead).")
    include_new_patients: bool = Field(
        default=False,
        description="Also list new patients (no completed visit yet); by default their missed first visit is "
        "the patient coordinator's (REF003 referral-window-missed).")


# A broken appointment is a no-show or a late cancellation; a cancelled one (other PMSs) was called off.
BROKEN = frozenset({AppointmentStatus.BROKEN, AppointmentStatus.CANCELLED})


def _broken_or_missed(ctx: RuleContext, apt: Appointment, earliest: datetime) -> bool:
    """Broken or cancelled from ``earliest`` on (ahead too), or still scheduled on a day that is over."""
    if apt.start is None or apt.start < earliest:
        return False
    if apt.status in BROKEN:
        return True
    # The day's own appointments may still be in the chair: a scheduled one is missed once its day is over.
    return apt.status == AppointmentStatus.SCHEDULED and ctx.local_date(apt.start) < ctx.today


@rule(
    "APT002",
    "broken-not-rescheduled",
    role="scheduling",
    severity="medium",
    summary="A patient's appointment of the last 30 days (or one still ahead) was broken, cancelled or missed "
    "(still scheduled, its day over, never set complete), and the patient has no appointment booked from now "
    "on and no visit completed since; one task per patient.",
    why="A patient who broke an appointment and was not rebooked drops out of care and off the schedule: "
    "the treatment is never done and the recall is lost.",
    fix="Call the patient and book the visit again (or set the missed appointment broken or complete, as it was).",
    settings=APT002Settings,
)
def broken_not_rescheduled(ctx: RuleContext, settings: APT002Settings) -> Iterator[Finding]:
    earliest = datetime.combine(ctx.today - timedelta(days=settings.lookback_days), time(), ctx.tz)
    for pid, apts in ctx.snapshot.appointments_by_patient.items():
        missed = [a for a in apts if _broken_or_missed(ctx, a, earliest)]
        if not missed or not active(ctx, pid):
            continue
        last = missed[-1]
        if any(a.start is not None and ((a.status == AppointmentStatus.SCHEDULED and a.start > ctx.as_of)
                                        or (a.status == AppointmentStatus.COMPLETE and a.start > last.start))
               for a in apts):
            continue  # booked from now on, or seen since
        if not settings.include_new_patients and ctx.snapshot.is_new_patient(pid, ctx.today):
            continue
        what = "missed (still scheduled)" if last.status == AppointmentStatus.SCHEDULED else last.status.value
        when = last.start.astimezone(ctx.tz)
        yield Finding(
            subject_type="patient",
            subject_id=pid,
            patient_id=pid,
            appointment_id=None,  # the task is the rebooking, not the past appointment
            title=f"Appointment of {when:%b %-d} {what}, nothing booked",
            detail=f"The appointment of {when:%a %b %-d %H:%M} was {what}; no appointment is booked from now on"
            + (f" ({len(missed)} broken or missed since {earliest.date().isoformat()})." if len(missed) > 1 else "."),
            due=ctx.today,
            data={"appointment_id": last.source_id, "appointment_date": when.date().isoformat(),
                  "status": last.status.value, "broken": [a.source_id for a in missed]},
        )
