"""Today's huddle: the day's and the next business day's schedule, each visit flagged with its open tasks,
and the open tasks per coordinator role with how many are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from pms_bridge.model.enums import AppointmentStatus
from pms_bridge.model.vocabulary import ROLES
from pms_bridge.rules.dates import business_days_after
from pms_bridge.sinks.html import _clock
from pms_bridge.store.report_reads import ReportData, TaskLife, Visit

SHOWN_STATUSES = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETE, AppointmentStatus.BROKEN})

# What a task's rule means at the huddle: (flag, its longer label). Rules not listed show their code.
FLAG_BY_PREFIX: tuple[tuple[str, tuple[str, str]], ...] = (
    ("INS001", ("insurance", "Insurance inactive")),
    ("INS002", ("insurance", "Insurance not verified")),
    ("INS", ("insurance", "Insurance incomplete")),
    ("FRM", ("forms", "Forms missing")),
    ("XR", ("x-rays", "X-rays missing")),
    ("SCH004", ("length", "Wrong length")),
    ("SCH001", ("provider", "Wrong provider")),
    ("SCH002", ("provider", "Wrong provider")),
    ("APT001", ("unconfirmed", "Not confirmed")),
    ("PA001", ("preauth", "Pre-auth missing")),
    ("TX001", ("treatment", "Treatment unscheduled")),
    ("CLM", ("claims", "Claim to follow up")),
)


@dataclass(frozen=True)
class Flag:
    key: str  # insurance / forms / x-rays / length / provider / new-patient / a rule code
    label: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class HuddleVisit:
    time: str  # "9:30 AM"
    minutes: int
    operatory: str
    patient: str
    patient_id: str
    appointment_type: str | None
    status: str
    hygienist: str | None
    flags: list[Flag]


@dataclass(frozen=True)
class ProviderDay:
    provider: str
    visits: list[HuddleVisit]


@dataclass(frozen=True)
class HuddleDay:
    day: date
    label: str  # "Today, Mon Mar 2"
    providers: list[ProviderDay]

    @property
    def visit_count(self) -> int:
        return sum(len(p.visits) for p in self.providers)


@dataclass(frozen=True)
class RoleLoad:
    role: str
    open: int
    overdue: int
    due_today: int


@dataclass(frozen=True)
class Huddle:
    days: list[HuddleDay]
    roles: list[RoleLoad]


def huddle_days(as_of: datetime, tz: tzinfo) -> list[date]:
    """The as-of day and the next business day (Monday to Friday)."""
    today = as_of.astimezone(tz).date()
    return [today, business_days_after(today, 1)]


def build_huddle(data: ReportData, as_of: datetime, tz: tzinfo) -> Huddle:
    today, following = huddle_days(as_of, tz)
    open_tasks = [t for t in data.tasks if t.status == "open"]
    days = [
        _day(data, open_tasks, day, f"{'Today' if day == today else 'Next business day'}, {_fmt_day(day)}", tz)
        for day in (today, following)
    ]
    return Huddle(days, _role_loads(open_tasks, today))


def _day(data: ReportData, tasks: list[TaskLife], day: date, label: str, tz: tzinfo) -> HuddleDay:
    visits = sorted(
        (v for v in data.visits
         if v.start is not None and v.status in SHOWN_STATUSES and v.start.astimezone(tz).date() == day),
        key=lambda v: (v.start, v.operatory_id or "", v.id),
    )
    by_appointment: dict[str, list[TaskLife]] = {}
    by_patient: dict[str, list[TaskLife]] = {}
    for task in tasks:
        if task.appointment_id:
            by_appointment.setdefault(task.appointment_id, []).append(task)
        else:
            by_patient.setdefault(task.patient_id, []).append(task)
    providers: dict[str, list[HuddleVisit]] = {}
    for v in visits:
        own = by_appointment.get(v.id, []) + by_patient.get(v.patient_id, [])
        provider = _provider(data, v.provider_id) if v.provider_id else "No provider"
        providers.setdefault(provider, []).append(_visit(data, v, own, tz))
    return HuddleDay(day, label, [ProviderDay(name, rows) for name, rows in sorted(providers.items())])


def _visit(data: ReportData, v: Visit, tasks: list[TaskLife], tz: tzinfo) -> HuddleVisit:
    return HuddleVisit(
        time=_clock(v.start.astimezone(tz)),  # type: ignore[union-attr]
        minutes=v.minutes,
        operatory=f"Op {v.operatory_id}" if v.operatory_id else "—",
        patient=data.patient_names.get(v.patient_id, f"Patient #{v.patient_id}"),
        patient_id=v.patient_id,
        appointment_type=v.appointment_type,
        status=str(v.status),
        hygienist=_provider(data, v.hygienist_id) if v.hygienist_id else None,
        flags=visit_flags(v, tasks),
    )


def visit_flags(visit: Visit, tasks: list[TaskLife]) -> list[Flag]:
    """The visit's flags: new patient, then one per kind of open task (its rules listed)."""
    flags: dict[str, tuple[str, list[str]]] = {}
    if visit.is_new_patient:
        flags["new-patient"] = ("New patient", [])
    for task in sorted(tasks, key=lambda t: t.rule):
        key, label = _flag_of(task.rule)
        rules = flags.setdefault(key, (label, []))[1]
        if task.rule not in rules:
            rules.append(task.rule)
    return [Flag(key, label, tuple(rules)) for key, (label, rules) in flags.items()]


def _flag_of(rule: str) -> tuple[str, str]:
    for prefix, flag in FLAG_BY_PREFIX:
        if rule.startswith(prefix):
            return flag
    return rule, f"Open task {rule}"


def _role_loads(tasks: list[TaskLife], today: date) -> list[RoleLoad]:
    roles = [r for r in ROLES if any(t.role == r for t in tasks)]
    roles += sorted({t.role for t in tasks} - set(ROLES))
    return [
        RoleLoad(
            role,
            open=sum(1 for t in tasks if t.role == role),
            overdue=sum(1 for t in tasks if t.role == role and t.due < today),
            due_today=sum(1 for t in tasks if t.role == role and t.due == today),
        )
        for role in roles
    ]


def _provider(data: ReportData, provider_id: str | None) -> str:
    return data.providers.get(provider_id or "", f"Provider {provider_id}")


def _fmt_day(day: date) -> str:
    return f"{day:%a} {day:%b} {day.day}, {day.year}"
