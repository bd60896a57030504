"""REF: referred-in patients and first contacts seen in time; referrals out answered.

Only actionable work becomes a task: REF001-REF003 look at the *cases* of the
recent past (``lookback_days``). A case starts on a referral in's date, or on
the first-contact date of a new patient with no referral in during the
lookback. Its deadline is ``deadline_days`` later. The three rules split the
cases that have not arrived (no completed visit since the start) without
overlap: nothing booked and the deadline not passed is REF001, nothing booked
after the deadline is REF003, a first visit booked past the deadline is REF002.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from pydantic import Field

from pms_bridge.model import Appointment
from pms_bridge.model.enums import AppointmentStatus, ReferralDirection, ReferralStatus
from pms_bridge.rules.common import recent_referral_in
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import not_before
from pms_bridge.rules.finding import Finding, SubjectType
from pms_bridge.rules.patients import active
from pms_bridge.rules.registry import Horizon, RuleSettings, rule

# Appointments since the start that were meant to be the visit but are not on the book any more.
MISSED = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.BROKEN, AppointmentStatus.CANCELLED,
                    AppointmentStatus.UNSCHEDULED})


class ReferralSettings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"lookback_days": ("first_contact", "referral")}

    lookback_days: int = Field(default=90, ge=1, le=3650,
                               description="Look at referrals in and first contacts of this many past days.")
    deadline_days: int = Field(default=10, ge=0, le=365,
                               description="The first visit should take place within this many days of the "
                               "referral / first contact.")


class REF001Settings(ReferralSettings):
    due_days: int = Field(default=2, ge=0, le=365,
                          description="Book the first visit within this many days of the referral / first contact.")


class REF004Settings(RuleSettings):
    # Referrals out and their patients' rows only: the rule reads nothing else of them.
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"max_age_days": ("referral_out",)}

    after_days: int = Field(default=30, ge=1, le=365,
                            description="Expect word from the specialist this many days after the referral out.")
    max_age_days: int = Field(default=365, ge=1, le=3650,
                              description="Ignore referrals out older than this many days.")


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Case:
    """A referral in or a first contact: the start of a new patient's way to the first visit."""

    subject_type: SubjectType
    subject_id: str
    patient_id: str
    start: date
    deadline: date
    arrived: bool
    booked: Appointment | None  # the first scheduled appointment from the start and from now on
    missed: Appointment | None  # the last appointment since the start that did not happen

    @property
    def origin(self) -> str:
        return "the referral" if self.subject_type == "referral" else "first contact"

    @property
    def started(self) -> str:
        return "Referred" if self.subject_type == "referral" else "First contact"

    def since(self, ctx: RuleContext) -> str:
        return f"{self.started} {_days((ctx.today - self.start).days)} ago"

    def finding(self, ctx: RuleContext, apt: Appointment | None, title: str, detail: str,
                due: date, severity: str | None = None, **data: Any) -> Finding:
        return Finding(
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            patient_id=self.patient_id,
            appointment_id=apt.source_id if apt else None,
            title=title,
            detail=f"{self.started} {self.start.isoformat()}, first visit due by {self.deadline.isoformat()}: {detail}",
            due=due,
            data={"start": self.start.isoformat(), "deadline": self.deadline.isoformat(),
                  "days_since_start": (ctx.today - self.start).days, **data},
            severity=severity,
        )


def _case(ctx: RuleContext, settings: ReferralSettings, subject_type: SubjectType, subject_id: str,
          patient_id: str, start: date) -> Case:
    # Undated appointments (planned, on the unscheduled list) are treatment waiting to be booked: not a visit.
    since = [a for a in ctx.snapshot.appointments_by_patient.get(patient_id, [])
             if a.start is not None and ctx.local_date(a.start) >= start]
    booked = [a for a in since if a.status == AppointmentStatus.SCHEDULED and a.start >= ctx.as_of]
    missed = [a for a in since if a.status in MISSED and a.start < ctx.as_of]
    return Case(
        subject_type, subject_id, patient_id, start, start + timedelta(days=settings.deadline_days),
        arrived=any(a.status == AppointmentStatus.COMPLETE for a in since),
        booked=booked[0] if booked else None,
        missed=missed[-1] if missed else None,
    )


def cases(ctx: RuleContext, settings: ReferralSettings) -> Iterator[Case]:
    """Referrals in and first contacts that started within the lookback, of patients still active."""
    earliest = ctx.today - timedelta(days=settings.lookback_days)

    def recent(day: date | None) -> bool:
        return day is not None and earliest <= day <= ctx.today

    referred: set[str] = set()
    for ref in ctx.snapshot.referrals:
        if recent_referral_in(ref, earliest, ctx.today) and active(ctx, ref.patient_id):
            referred.add(ref.patient_id)
            yield _case(ctx, settings, "referral", ref.source_id, ref.patient_id, ref.referral_date)
    for pid, patient in ctx.snapshot.patients.items():
        if (pid not in referred and recent(patient.first_contact_date) and active(ctx, pid)
                and ctx.snapshot.is_new_patient(pid, ctx.today)):
            yield _case(ctx, settings, "patient", pid, pid, patient.first_contact_date)


@rule(
    "REF001",
    "new-patient-not-scheduled",
    role="patient",
    severity="high",
    summary="A referred-in patient or first contact of the recent past has no first visit booked yet and the "
    "deadline has not passed (severity medium until the booking is due, high once it is overdue).",
    why="Referred and new patients who are not called back within a day or two book elsewhere; the referring "
    "office notices.",
    fix="Call the patient and book the first visit.",
    settings=REF001Settings,
    also_reads=("referral",),
)
def new_patient_not_scheduled(ctx: RuleContext, settings: REF001Settings) -> Iterator[Finding]:
    for case in cases(ctx, settings):
        if case.arrived or case.booked or ctx.today > case.deadline:
            continue
        due = case.start + timedelta(days=settings.due_days)
        overdue = ctx.today > due
        yield case.finding(
            ctx, None, f"{case.since(ctx)} and no visit booked",
            f"nothing booked; {'overdue since' if overdue else 'book by'} {due.isoformat()}.",
            not_before(due, ctx.today), severity="high" if overdue else "medium",
            booking_due=due.isoformat(), overdue=overdue,
        )


@rule(
    "REF002",
    "first-visit-beyond-deadline",
    role="patient",
    severity="medium",
    summary="The first visit of a referred-in patient or first contact is booked later than the deadline after "
    "the referral / first contact.",
    why="The longer the wait for the first visit, the more referred and new patients go elsewhere or no-show.",
    fix="Offer an earlier slot (short-call list, open hygiene time) and move the first visit before the deadline.",
    settings=ReferralSettings,
    also_reads=("referral",),
)
def first_visit_beyond_deadline(ctx: RuleContext, settings: ReferralSettings) -> Iterator[Finding]:
    for case in cases(ctx, settings):
        if case.arrived or case.booked is None:
            continue
        booked_on = ctx.local_date(case.booked.start)
        if booked_on <= case.deadline:
            continue
        days = (booked_on - case.start).days
        yield case.finding(
            ctx, case.booked,
            f"First visit booked {_days(days)} after {case.origin} (deadline {settings.deadline_days})",
            f"booked {case.booked.start.astimezone(ctx.tz):%a %b %-d %H:%M}, "
            f"{_days((booked_on - case.deadline).days)} late.",
            ctx.today, booked_on=booked_on.isoformat(), days_to_visit=days,
        )


@rule(
    "REF003",
    "referral-window-missed",
    role="patient",
    severity="high",
    summary="The deadline after a referral in or first contact of the recent past has passed without the patient "
    "arriving, and nothing is booked (no-show, broken or never booked).",
    why="A referred or new patient who was never seen is lost revenue and, for referrals, a referring office let down.",
    fix="Call the patient to rebook, or record why they will not come (and tell the referring office).",
    settings=ReferralSettings,
    also_reads=("referral",),
)
def referral_window_missed(ctx: RuleContext, settings: ReferralSettings) -> Iterator[Finding]:
    for case in cases(ctx, settings):
        if case.arrived or case.booked or ctx.today <= case.deadline:
            continue
        missed = case.missed
        what = (f"the appointment of {ctx.local_date(missed.start).isoformat()} was {missed.status.value} "
                "and nothing is booked." if missed else "never booked.")
        yield case.finding(ctx, missed, f"{case.since(ctx)} and not yet seen", what, ctx.today,
                           missed_status=missed.status.value if missed else None)


@rule(
    "REF004",
    "referral-out-not-completed",
    role="clinical",
    severity="medium",
    summary="A patient referred out has no answer from the specialist or the patient (scheduled, consulted, "
    "in treatment, complete or declined) some time after the referral.",
    why="Referred-out patients who never reach the specialist leave diagnosed problems untreated.",
    fix="Ask the specialist's office or the patient, and record the referral's status.",
    settings=REF004Settings,
    reads=("referral",),
)
def referral_out_not_completed(ctx: RuleContext, settings: REF004Settings) -> Iterator[Finding]:
    for ref in ctx.snapshot.referrals:
        if ref.direction != ReferralDirection.OUT or ref.status != ReferralStatus.NONE or ref.referral_date is None:
            continue
        days = (ctx.today - ref.referral_date).days
        if not settings.after_days <= days <= settings.max_age_days or not active(ctx, ref.patient_id):
            continue
        yield Finding(
            subject_type="referral",
            subject_id=ref.source_id,
            patient_id=ref.patient_id,
            appointment_id=None,
            title=f"Referred out {_days(days)} ago and no answer recorded",
            detail=f"Referral out of {ref.referral_date.isoformat()} still has no status "
            "(scheduled, consulted, in treatment, complete or declined).",
            due=ctx.today,
            data={"referral_date": ref.referral_date.isoformat(), "days": days},
        )
