"""The KPI definitions of the huddle report: each one a pure function of the stored rows and the as-of time.

Every measure is weekly (weeks start on Monday, in the practice's time zone) over the complete weeks
before the as-of week. A week with nothing to measure is a gap (``None``), never a zero: a zero means
the week had data and the count or share really was zero. The one-sentence definitions shown beside
the charts live here, next to the code that computes them, so the two cannot drift apart.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pms_bridge.model.enums import (
    AppointmentStatus,
    FormKind,
    ProcedureStatus,
    VerificationResult,
)
from pms_bridge.store.report_reads import ReportData, Visit

Unit = Literal["count", "percent", "days"]
Direction = Literal["at_least", "at_most", "below"]

# An eligibility check with one of these results was done (a pending answer is a check in progress),
# as the insurance rules count it.
CHECKED_RESULTS = frozenset({VerificationResult.VERIFIED, VerificationResult.INACTIVE, VerificationResult.PENDING})
NOT_VISITS = frozenset({AppointmentStatus.NOTE, AppointmentStatus.DELETED})
CLOSED_BY_WORK = frozenset({"resolved", "dismissed"})


class KpiTargets(BaseModel):
    """The report's targets and the thresholds its measures use (``[sinks.targets]`` of a report sink)."""

    model_config = ConfigDict(extra="forbid")

    new_patients_per_week: int | None = Field(
        default=None, ge=0, description="New-patient appointments booked per week to aim for (default: none; "
        "the chart then draws the trend).")
    first_visit_days: int = Field(default=10, ge=1, le=90,
                                  description="Days from referral or first contact to the first visit.")
    first_visit_within_percent: float = Field(default=90, ge=0, le=100,
                                              description="Share of new patients seen within first_visit_days.")
    no_show_below_percent: float = Field(default=5, ge=0, le=100, description="No-show / broken rate to stay under.")
    insurance_verified_percent: float = Field(default=95, ge=0, le=100,
                                              description="Insured visits with eligibility checked beforehand.")
    verification_max_age_days: int = Field(default=30, ge=1, le=365,
                                           description="How recent a check must be to count (as INS002).")
    forms_percent: float = Field(default=95, ge=0, le=100,
                                 description="New-patient visits with their forms on file beforehand.")
    radiographs_percent: float = Field(default=95, ge=0, le=100,
                                       description="New-patient visits with radiographs on file beforehand.")
    radiograph_max_age_days: int = Field(default=365, ge=1, le=3650,
                                         description="How old a film may be and still count (as XR001).")
    acceptance_percent: float = Field(default=70, ge=0, le=100,
                                      description="Planned treatment later scheduled or completed.")
    on_time_percent: float = Field(default=95, ge=0, le=100, description="Tasks closed by their due date.")
    open_task_age_days: float = Field(default=7, ge=0, le=365,
                                      description="Median age of the open tasks to stay at or under.")


@dataclass(frozen=True)
class Target:
    value: float
    direction: Direction

    def describe(self, unit: Unit) -> str:
        words = {"at_least": "at least", "at_most": "at most", "below": "below"}[self.direction]
        return f"{words} {_amount(self.value, unit)}"


@dataclass(frozen=True)
class Point:
    value: float | None  # None: no data that week (a gap)
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    points: list[Point]


@dataclass(frozen=True)
class Kpi:
    key: str
    title: str
    definition: str  # one sentence, shown beside the chart
    unit: Unit
    weeks: list[date]  # Mondays
    lines: list[Line]
    target: Target | None
    target_note: str = ""  # how to read the target, or why there is none
    unavailable: str | None = None  # the practice's data does not allow this measure: why
    note: str | None = None  # what part of it the data does not allow
    trend: bool = False  # without a target, draw the first line's trend (the goal is a rising line)

    @property
    def has_points(self) -> bool:
        return any(p.value is not None for line in self.lines for p in line.points)


@dataclass
class _Weeks:
    mondays: list[date]
    tz: tzinfo
    index: dict[date, int] = field(init=False)
    seen: dict[datetime, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {monday: i for i, monday in enumerate(self.mondays)}

    def of_day(self, day: date | None) -> int | None:
        return None if day is None else self.index.get(day - timedelta(days=day.weekday()))

    def of(self, moment: datetime | None) -> int | None:
        if moment is None:
            return None
        if moment not in self.seen:  # every KPI asks about the same appointments: convert each once
            self.seen[moment] = self.of_day(moment.astimezone(self.tz).date())
        return self.seen[moment]

    def end(self, i: int) -> datetime:
        """The Monday 00:00 after week ``i`` (practice time)."""
        d = self.mondays[i] + timedelta(days=7)
        return datetime(d.year, d.month, d.day, tzinfo=self.tz)

    def buckets(self) -> list[list[object]]:
        return [[] for _ in self.mondays]


def report_weeks(as_of: datetime, tz: tzinfo, weeks: int) -> list[date]:
    """The Mondays of the ``weeks`` complete weeks before the as-of week, oldest first."""
    today = as_of.astimezone(tz).date()
    last = today - timedelta(days=today.weekday() + 7)
    return [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def compute_kpis(data: ReportData, as_of: datetime, tz: tzinfo, weeks: int, targets: KpiTargets) -> list[Kpi]:
    """Every KPI of the report, in the order the page shows them."""
    span = _Weeks(report_weeks(as_of, tz, weeks), tz)
    today = as_of.astimezone(tz).date()
    return [
        new_patient_appointments(data, span, targets),
        first_visit_median_days(data, span, targets),
        first_visit_within(data, span, targets, today),
        no_show_rate(data, span, targets, as_of),
        insurance_verified(data, span, targets),
        forms_on_file(data, span, targets),
        radiographs_on_file(data, span, targets),
        treatment_acceptance(data, span, targets),
        tasks_opened_resolved(data, span),
        tasks_on_time(data, span, targets),
        open_task_age(data, span, targets, as_of),
    ]


# -- new patients ---------------------------------------------------------------------


def new_patient_appointments(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    visits = [v for v in data.visits if v.status not in NOT_VISITS]
    booked = _counts(span, visits, lambda v: span.of(v.booked_at), lambda v: v.is_new_patient)
    completed = [v for v in visits if v.status == AppointmentStatus.COMPLETE]
    seen = _counts(span, completed, lambda v: span.of(v.start), lambda v: v.is_new_patient)
    lines = [Line("seen", "Seen (completed)", seen)]
    note = None
    if any(v.booked_at for v in visits) or not visits:
        lines.insert(0, Line("booked", "Booked (by booking date)", booked))
    else:
        note = "The PMS data has no booking dates, so only new-patient visits seen are shown."
    target = Target(targets.new_patients_per_week, "at_least") if targets.new_patients_per_week is not None else None
    return Kpi(
        "new_patient_appointments", "New-patient appointments per week",
        "New-patient appointments booked in the week (by the day they were booked) and new-patient visits "
        "completed in the week; a week with no appointment booked or completed at all is a gap.",
        "count", span.mondays, lines, target,
        target_note="" if target else "No weekly target set: the dashed grey line is the trend, which should "
        "rise (set targets.new_patients_per_week).",
        note=note,
        trend=target is None,
    )


def _counts(span: _Weeks, items: Iterable[Visit], week: Callable[[Visit], int | None],
            counted: Callable[[Visit], bool]) -> list[Point]:
    """Per week: how many of the week's items are ``counted`` (None when the week has no item at all)."""
    totals: list[int | None] = [None] * len(span.mondays)
    for item in items:
        i = week(item)
        if i is not None:
            totals[i] = (totals[i] or 0) + (1 if counted(item) else 0)
    return [Point(None if n is None else float(n), n) for n in totals]


def _new_patient_starts(data: ReportData) -> list[tuple[date, date | None]]:
    """(entered, first visit) of the patients who were new when they entered: not seen before that day."""
    return [(c.started, c.first_visit) for c in data.first_contacts
            if c.first_visit is None or c.first_visit >= c.started]


def first_visit_median_days(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    days: list[list[int]] = [[] for _ in span.mondays]
    for started, first_visit in _new_patient_starts(data):
        i = span.of_day(started)
        if i is not None and first_visit is not None:
            days[i].append((first_visit - started).days)
    points = [Point(float(statistics.median(d)), len(d)) if d else Point(None) for d in days]
    return Kpi(
        "first_visit_median_days", "Referral or first contact to first visit (median days)",
        "For new patients referred in or first entered in the week, the median number of days until their "
        "first completed visit, among those seen so far.",
        "days", span.mondays, [Line("median_days", "Median days", points)],
        Target(targets.first_visit_days, "at_most"),
        unavailable=_no_first_contacts(data),
    )


def first_visit_within(data: ReportData, span: _Weeks, targets: KpiTargets, today: date) -> Kpi:
    limit = targets.first_visit_days
    cohorts: list[list[bool]] = [[] for _ in span.mondays]
    for started, first_visit in _new_patient_starts(data):
        i = span.of_day(started)
        if i is not None:
            cohorts[i].append(first_visit is not None and (first_visit - started).days <= limit)
    points = []
    for i, cohort in enumerate(cohorts):
        settled = span.mondays[i] + timedelta(days=6 + limit) < today  # every patient of the week had the days
        points.append(_share(sum(cohort), len(cohort)) if settled else Point(None))
    return Kpi(
        "first_visit_within", f"New patients seen within {limit} days",
        f"Of the new patients referred in or first entered in the week, the share whose first completed visit "
        f"came within {limit} days (never seen counts as late); weeks less than {limit} days old are not shown.",
        "percent", span.mondays, [Line("within", f"Within {limit} days", points)],
        Target(targets.first_visit_within_percent, "at_least"),
        unavailable=_no_first_contacts(data),
    )


def _no_first_contacts(data: ReportData) -> str | None:
    if data.first_contacts:
        return None
    return ("No first contacts or referrals in dated in these weeks: the PMS data gives no first-contact "
            "dates and no referrals in.")


# -- the schedule ---------------------------------------------------------------------


def no_show_rate(data: ReportData, span: _Weeks, targets: KpiTargets, as_of: datetime) -> Kpi:
    missed = [0] * len(span.mondays)
    total = [0] * len(span.mondays)
    for v in data.visits:
        i = span.of(v.start)
        if i is None or v.start is None or v.start >= as_of:
            continue
        was_missed = v.status == AppointmentStatus.BROKEN or v.status == AppointmentStatus.SCHEDULED
        if was_missed or v.status == AppointmentStatus.COMPLETE:
            total[i] += 1
            missed[i] += was_missed
    return Kpi(
        "no_show_rate", "No-show and broken appointment rate",
        "Of the appointments that started in the week, the share broken or missed (never marked arrived or "
        "completed); cancelled appointments are left out.",
        "percent", span.mondays, [Line("rate", "Broken or missed", [_share(m, t) for m, t in zip(missed, total)])],
        Target(targets.no_show_below_percent, "below"),
    )


def _completed_in(data: ReportData, span: _Weeks, new_patients_only: bool = False) -> list[tuple[int, Visit]]:
    return [
        (i, v) for v in data.visits
        if v.status == AppointmentStatus.COMPLETE and (v.is_new_patient or not new_patients_only)
        and (i := span.of(v.start)) is not None
    ]


def insurance_verified(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    coverages: dict[str, list] = {}
    for c in data.coverages:
        if not c.is_pending:
            coverages.setdefault(c.patient_id, []).append(c)
    checks: dict[str, list[date]] = {}
    for check in data.checks:
        if check.result in CHECKED_RESULTS:
            checks.setdefault(check.coverage_id, []).append(check.verified_on)
    for dates in checks.values():
        dates.sort()
    oldest = timedelta(days=targets.verification_max_age_days)

    def checked(coverage_id: str, day: date) -> bool:
        dates = checks.get(coverage_id, [])
        latest = bisect.bisect_right(dates, day)  # the newest check on or before the visit day
        return latest > 0 and dates[latest - 1] >= day - oldest

    done = [0] * len(span.mondays)
    insured = [0] * len(span.mondays)
    for i, visit in _completed_in(data, span):
        day = visit.start.astimezone(span.tz).date()  # type: ignore[union-attr]
        active = [c for c in coverages.get(visit.patient_id, [])
                  if (c.effective_date is None or c.effective_date <= day) and (c.term_date is None or c.term_date >= day)]
        if not active:
            continue
        insured[i] += 1
        done[i] += all(checked(c.id, day) for c in active)
    return Kpi(
        "insurance_verified", "Insurance verified before the visit",
        f"Of the completed visits in the week by patients with active insurance, the share whose every active "
        f"coverage had an eligibility check in the {targets.verification_max_age_days} days up to the visit.",
        "percent", span.mondays, [Line("verified", "Verified", [_share(d, n) for d, n in zip(done, insured)])],
        Target(targets.insurance_verified_percent, "at_least"),
        unavailable=None if data.coverages else "No patient seen in these weeks has insurance on file.",
    )


def forms_on_file(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    completed: dict[tuple[str, str], list[datetime]] = {}
    for form in data.forms:
        completed.setdefault((form.patient_id, form.kind), []).append(form.completed_at)
    kinds = (FormKind.REGISTRATION, FormKind.HEALTH_HISTORY)
    ready = [0] * len(span.mondays)
    visits = [0] * len(span.mondays)
    for i, visit in _completed_in(data, span, new_patients_only=True):
        visits[i] += 1
        ready[i] += all(any(at <= visit.start for at in completed.get((visit.patient_id, k), [])) for k in kinds)  # type: ignore[operator]
    return Kpi(
        "forms_on_file", "New-patient forms on file before the visit",
        "Of the new-patient visits completed in the week, the share with a registration form and a health "
        "history completed before the appointment started.",
        "percent", span.mondays, [Line("forms", "Forms on file", [_share(r, n) for r, n in zip(ready, visits)])],
        Target(targets.forms_percent, "at_least"),
    )


def radiographs_on_file(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    films: dict[str, list[date]] = {}
    for film in data.films:
        films.setdefault(film.patient_id, []).append(film.taken)
    oldest = timedelta(days=targets.radiograph_max_age_days)
    ready = [0] * len(span.mondays)
    visits = [0] * len(span.mondays)
    for i, visit in _completed_in(data, span, new_patients_only=True):
        day = visit.start.astimezone(span.tz).date()  # type: ignore[union-attr]
        visits[i] += 1
        ready[i] += any(day - oldest <= taken < day for taken in films.get(visit.patient_id, []))
    return Kpi(
        "radiographs_on_file", "New-patient radiographs on file before the visit",
        f"Of the new-patient visits completed in the week, the share with a radiograph (image or D02xx/D03xx "
        f"procedure) from the {targets.radiograph_max_age_days} days before the visit day on file.",
        "percent", span.mondays, [Line("radiographs", "Radiographs on file",
                                       [_share(r, n) for r, n in zip(ready, visits)])],
        Target(targets.radiographs_percent, "at_least"),
    )


# -- treatment ------------------------------------------------------------------------


def treatment_acceptance(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    accepted = [0] * len(span.mondays)
    planned = [0] * len(span.mondays)
    booked = {AppointmentStatus.SCHEDULED.value, AppointmentStatus.COMPLETE.value}
    for work in data.planned:
        done = work.status == ProcedureStatus.COMPLETE
        if done and work.same_day:
            continue  # done the day it was planned: same-day work, never a plan to accept
        i = span.of_day(work.planned_date)
        if i is None:
            continue
        planned[i] += work.count
        if done or (work.status == ProcedureStatus.PLANNED and work.appointment_status in booked):
            accepted[i] += work.count
    unavailable = None if any(planned) else (
        "No treatment was planned ahead in these weeks (the PMS data gives no treatment-plan dates, or all "
        "work was done the day it was planned), so acceptance cannot be measured.")
    return Kpi(
        "treatment_acceptance", "Treatment acceptance",
        "Of the procedures treatment-planned in the week (not done the same day), the share since scheduled on "
        "an appointment or completed; recent weeks rise as patients book.",
        "percent", span.mondays, [Line("accepted", "Scheduled or completed",
                                       [_share(a, n) for a, n in zip(accepted, planned)])],
        Target(targets.acceptance_percent, "at_least"),
        unavailable=unavailable,
    )


# -- the task ledger ------------------------------------------------------------------


def _ledger_weeks(data: ReportData, span: _Weeks) -> list[bool]:
    """Per week: did the ledger exist by the week's end (before it, task numbers are gaps, not zeros)."""
    since = data.ledger_since
    return [since is not None and since < span.end(i) for i in range(len(span.mondays))]


def _ledger_too_young(data: ReportData, span: _Weeks) -> str | None:
    """Why no week has task numbers yet (None: some week has)."""
    if any(_ledger_weeks(data, span)):
        return None
    if data.ledger_since is None:
        return "The task ledger has no task yet: run `pms-bridge run` first."
    began = data.ledger_since.astimezone(span.tz).date()
    return (f"The task ledger began on {began:%a %b} {began.day}, {began.year}; these numbers start with the "
            "first week it was kept (they fill in as nightly runs go on).")


def tasks_opened_resolved(data: ReportData, span: _Weeks) -> Kpi:
    live = _ledger_weeks(data, span)
    opened = [0] * len(span.mondays)
    closed = [0] * len(span.mondays)
    for task in data.tasks:
        if (i := span.of(task.created_at)) is not None:
            opened[i] += 1
        if task.status in CLOSED_BY_WORK and (i := span.of(task.resolved_at)) is not None:
            closed[i] += 1
    return Kpi(
        "tasks_opened_resolved", "Tasks opened and resolved",
        "Tasks the rules opened in the week, and tasks resolved (the problem went away) or dismissed by a "
        "person in the week; resolved keeping pace with opened keeps the list short.",
        "count", span.mondays,
        [Line("opened", "Opened", _counted_while(live, opened)), Line("resolved", "Resolved", _counted_while(live, closed))],
        None, target_note="Target: resolved at or above opened, week after week.",
        unavailable=_ledger_too_young(data, span),
    )


def _counted_while(live: list[bool], counts: list[int]) -> list[Point]:
    return [Point(float(n), n) if alive else Point(None) for alive, n in zip(live, counts)]


def tasks_on_time(data: ReportData, span: _Weeks, targets: KpiTargets) -> Kpi:
    on_time = [0] * len(span.mondays)
    closed = [0] * len(span.mondays)
    for task in data.tasks:
        if task.status == "open" or (i := span.of(task.resolved_at)) is None:
            continue
        closed[i] += 1
        on_time[i] += task.status in CLOSED_BY_WORK and task.resolved_at.astimezone(span.tz).date() <= task.due  # type: ignore[union-attr]
    return Kpi(
        "tasks_on_time", "Tasks completed on time",
        "Of the tasks closed in the week, the share resolved or dismissed by their due date (a task that "
        "expired with its appointment counts as late).",
        "percent", span.mondays, [Line("on_time", "On time", [_share(o, c) for o, c in zip(on_time, closed)])],
        Target(targets.on_time_percent, "at_least"),
        unavailable=_ledger_too_young(data, span),
    )


def open_task_age(data: ReportData, span: _Weeks, targets: KpiTargets, as_of: datetime) -> Kpi:
    live = _ledger_weeks(data, span)
    points = []
    for i in range(len(span.mondays)):
        end = span.end(i)
        ages = [
            (end - t.created_at).total_seconds() / 86400 for t in data.tasks
            if t.created_at < end and (t.resolved_at is None or t.resolved_at >= end)
        ] if live[i] else []
        points.append(Point(round(statistics.median(ages), 1), len(ages)) if ages else Point(None))
    return Kpi(
        "open_task_age", "Median age of open tasks",
        "At the end of the week, the median number of days the tasks then open had been open.",
        "days", span.mondays, [Line("median_age", "Median age (days)", points)],
        Target(targets.open_task_age_days, "at_most"),
        unavailable=_ledger_too_young(data, span),
    )


# -- helpers --------------------------------------------------------------------------


def _share(part: int, whole: int) -> Point:
    return Point(round(100 * part / whole, 1), part, whole) if whole else Point(None, part, whole)


def fmt_value(value: float, unit: Unit) -> str:
    """12.5% / 3 days / 7."""
    shown = f"{value:g}"
    return {"percent": f"{shown}%", "days": f"{shown} day{'' if value == 1 else 's'}"}.get(unit, shown)


def _amount(value: float, unit: Unit) -> str:
    return f"{fmt_value(value, unit)} a week" if unit == "count" else fmt_value(value, unit)


def meets(kpi: Kpi, value: float | None) -> bool | None:
    """Whether a value meets the KPI's target (None: no value or no target)."""
    if value is None or kpi.target is None:
        return None
    goal = kpi.target.value
    return {"at_least": value >= goal, "at_most": value <= goal, "below": value < goal}[kpi.target.direction]


def kpis_json(kpis: list[Kpi]) -> list[dict[str, object]]:
    """The KPI series as plain JSON (`pms-bridge report --format json`)."""
    return [
        {
            "key": k.key,
            "title": k.title,
            "definition": k.definition,
            "unit": k.unit,
            "target": None if k.target is None else {"value": k.target.value, "direction": k.target.direction},
            "target_note": k.target_note or None,
            "unavailable": k.unavailable,
            "note": k.note,
            "weeks": [w.isoformat() for w in k.weeks],
            "series": {
                line.key: {
                    "label": line.label,
                    "values": [p.value for p in line.points],
                    "numerators": [p.numerator for p in line.points],
                    "denominators": [p.denominator for p in line.points],
                }
                for line in k.lines
            },
        }
        for k in kpis
    ]
