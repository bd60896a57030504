"""What the huddle and KPI report reads from the store: narrow rows over a date range, by indexed queries.

The report looks at a few months of one practice: the appointments that start or were booked in the
range, and, for the patients those reach, only the columns its measures need (coverages and their
eligibility checks, completed forms, films on file, first visits). Rows are small frozen dataclasses,
not model records, so 26 weeks of a large practice stay a few megabytes. SQLAlchemy Core only: the
same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from pms_bridge.model.enums import (
    AppointmentStatus,
    FormKind,
    ProcedureStatus,
    ReferralDirection,
    VerificationKind,
)
from pms_bridge.store import schema
from pms_bridge.store.store import Store

# Procedures that are a film on file (D0200-D0399, as the radiograph rules read them).
FILM_CODE_LOW, FILM_CODE_HIGH = "D0200", "D0399"
CHECKS_REACH = timedelta(days=365)
PLANNED_STATUSES = (ProcedureStatus.PLANNED.value, ProcedureStatus.PLANNED_INACTIVE.value)


@dataclass(frozen=True)
class Visit:
    """An appointment, as the report reads it."""

    id: str
    patient_id: str
    start: datetime | None
    booked_at: datetime | None
    status: str
    is_new_patient: bool
    minutes: int
    provider_id: str | None = None
    hygienist_id: str | None = None
    operatory_id: str | None = None
    appointment_type: str | None = None
    confirmed: bool | None = None


@dataclass(frozen=True)
class CoverageSpan:
    id: str
    patient_id: str
    effective_date: date | None
    term_date: date | None
    is_pending: bool = False


@dataclass(frozen=True)
class EligibilityCheck:
    coverage_id: str
    verified_on: date
    result: str


@dataclass(frozen=True)
class CompletedForm:
    patient_id: str
    kind: str
    completed_at: datetime


@dataclass(frozen=True)
class Film:
    """A radiograph on file: an image the PMS marks as one, or a completed D02xx/D03xx procedure."""

    patient_id: str
    taken: date


@dataclass(frozen=True)
class PlannedWork:
    """Procedures treatment-planned on ``planned_date`` with the same outcome, counted together."""

    planned_date: date
    status: str
    same_day: bool  # completed the day it was planned (or with no completion date): no plan presented
    appointment_status: str | None  # of the appointment they are on (None: on none)
    count: int = 1


@dataclass(frozen=True)
class FirstContact:
    """A patient's entry (first contact or referral in) and their first completed visit, if any."""

    patient_id: str
    started: date
    first_visit: date | None


@dataclass(frozen=True)
class TaskLife:
    key: str
    rule: str
    role: str
    status: str
    patient_id: str
    appointment_id: str | None
    due: date
    created_at: datetime
    resolved_at: datetime | None


@dataclass
class ReportData:
    """Everything the report computes from, for the days ``first_day`` .. ``last_day`` (practice dates)."""

    first_day: date
    last_day: date
    visits: list[Visit] = field(default_factory=list)
    coverages: list[CoverageSpan] = field(default_factory=list)
    checks: list[EligibilityCheck] = field(default_factory=list)
    forms: list[CompletedForm] = field(default_factory=list)
    films: list[Film] = field(default_factory=list)
    planned: list[PlannedWork] = field(default_factory=list)
    first_contacts: list[FirstContact] = field(default_factory=list)
    tasks: list[TaskLife] = field(default_factory=list)
    ledger_since: datetime | None = None  # when the practice's first task was opened (None: no task yet)
    providers: dict[str, str] = field(default_factory=dict)  # id -> abbreviation or name
    patient_names: dict[str, str] = field(default_factory=dict)  # the huddle's patients only


def load_report_data(store: Store, first_day: date, last_day: date, huddle_days: Sequence[date]) -> ReportData:
    """The rows the report needs for ``first_day`` .. ``last_day`` and the huddle's days (all inclusive)."""
    data = ReportData(first_day, last_day)
    with store.engine.connect() as conn:
        reader = _Reader(store, conn)
        data.visits = reader.visits(first_day, last_day, huddle_days)
        lo, hi = reader.local_range(first_day, last_day)
        seen = [v for v in data.visits if v.status == AppointmentStatus.COMPLETE.value and v.start and lo <= v.start < hi]
        new_patients = sorted({v.patient_id for v in seen if v.is_new_patient})
        data.coverages = reader.coverages(sorted({v.patient_id for v in seen}))
        # A check counts for a visit up to a year after it (the longest verification_max_age_days).
        data.checks = reader.eligibility_checks([c.id for c in data.coverages], first_day - CHECKS_REACH, last_day)
        data.forms = reader.forms(new_patients)
        data.films = reader.films(new_patients)
        data.planned = reader.planned_work(first_day, last_day)
        data.first_contacts = reader.first_contacts(first_day, last_day)
        data.tasks = reader.tasks(lo)
        data.ledger_since = reader.ledger_since()
        data.providers = reader.providers()
    return data


class _Reader:
    def __init__(self, store: Store, conn: Any) -> None:
        self.store = store
        self.conn = conn
        self.practice = store.practice.key

    def table(self, entity: str) -> Any:
        return schema.SNAPSHOT_TABLES[entity]

    def local_range(self, first: date, last: date) -> tuple[datetime, datetime]:
        tz = self.store.practice.tz
        lo = datetime(first.year, first.month, first.day, tzinfo=tz)
        hi = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
        return lo, hi

    def visits(self, first: date, last: date, huddle_days: Sequence[date]) -> list[Visit]:
        """Appointments that start or were booked in the range (the columns the KPIs read), and those of the
        huddle's days (every column the huddle shows)."""
        t = self.table("appointment")
        lo, hi = self.local_range(first, last)
        narrow = (t.c.source_id, t.c.patient_id, t.c.start, t.c.booked_at, t.c.status, t.c.is_new_patient,
                  t.c.minutes)
        found: dict[str, Visit] = {}
        for when in (and_(t.c.start >= lo, t.c.start < hi), and_(t.c.booked_at >= lo, t.c.booked_at < hi)):
            for r in self.conn.execute(select(*narrow).where(t.c.practice == self.practice, when)).all():
                found[r.source_id] = Visit(r.source_id, r.patient_id, r.start, r.booked_at, r.status,
                                           bool(r.is_new_patient), r.minutes)
        wide = (*narrow, t.c.provider_id, t.c.hygienist_id, t.c.operatory_id, t.c.appointment_type, t.c.confirmed)
        for day in huddle_days:
            day_lo, day_hi = self.local_range(day, day)
            query = select(*wide).where(t.c.practice == self.practice, t.c.start >= day_lo, t.c.start < day_hi)
            for r in self.conn.execute(query).all():
                found[r.source_id] = Visit(r.source_id, r.patient_id, r.start, r.booked_at, r.status,
                                           bool(r.is_new_patient), r.minutes, r.provider_id, r.hygienist_id,
                                           r.operatory_id, r.appointment_type, r.confirmed)
        return [found[k] for k in sorted(found)]

    def _by_patients(self, entity: str, columns: Sequence[Any], patient_ids: Sequence[str],
                     *where: Any) -> Iterator[Any]:
        t = self.table(entity)
        for batch in schema.in_batches(patient_ids):
            yield from self.conn.execute(  # all(): one fetch per batch, far faster than a row at a time
                select(*columns).where(t.c.practice == self.practice, t.c.patient_id.in_(batch), *where)
            ).all()

    def coverages(self, patient_ids: Sequence[str]) -> list[CoverageSpan]:
        t = self.table("coverage")
        rows = self._by_patients("coverage", (t.c.source_id, t.c.patient_id, t.c.effective_date, t.c.term_date,
                                              t.c.is_pending), patient_ids)
        return sorted((CoverageSpan(r.source_id, r.patient_id, r.effective_date, r.term_date, bool(r.is_pending))
                       for r in rows), key=lambda c: c.id)

    def eligibility_checks(self, coverage_ids: Sequence[str], since: date, until: date) -> list[EligibilityCheck]:
        t = self.table("verification")
        found: list[EligibilityCheck] = []
        for batch in schema.in_batches(sorted(coverage_ids)):
            query = select(t.c.coverage_id, t.c.verified_on, t.c.result).where(
                t.c.practice == self.practice, t.c.coverage_id.in_(batch),
                t.c.kind == VerificationKind.ELIGIBILITY.value, t.c.verified_on >= since, t.c.verified_on <= until,
            )
            found += [EligibilityCheck(r.coverage_id, r.verified_on, r.result) for r in self.conn.execute(query).all()]
        return found

    def forms(self, patient_ids: Sequence[str]) -> list[CompletedForm]:
        t = self.table("form")
        kinds = (FormKind.REGISTRATION.value, FormKind.HEALTH_HISTORY.value)
        rows = self._by_patients("form", (t.c.patient_id, t.c.kind, t.c.completed_at), patient_ids,
                                 t.c.kind.in_(kinds), t.c.completed_at.is_not(None), t.c.is_deleted.is_(False))
        return [CompletedForm(r.patient_id, r.kind, r.completed_at) for r in rows]

    def films(self, patient_ids: Sequence[str]) -> list[Film]:
        docs = self.table("document")
        procs = self.table("procedure")
        images = self._by_patients("document", (docs.c.patient_id, docs.c.taken_date), patient_ids,
                                   docs.c.is_radiograph.is_(True), docs.c.is_deleted.is_(False),
                                   docs.c.taken_date.is_not(None))
        found = [Film(r.patient_id, r.taken_date) for r in images]
        done = self._by_patients("procedure", (procs.c.patient_id, procs.c.procedure_date), patient_ids,
                                 procs.c.status == ProcedureStatus.COMPLETE.value, procs.c.code >= FILM_CODE_LOW,
                                 procs.c.code <= FILM_CODE_HIGH, procs.c.procedure_date.is_not(None))
        return found + [Film(r.patient_id, r.procedure_date) for r in done]

    def planned_work(self, first: date, last: date) -> list[PlannedWork]:
        """Counted in the database by plan date and outcome: a large practice plans thousands of procedures."""
        p = self.table("procedure")
        a = self.table("appointment")
        joined = p.outerjoin(a, and_(a.c.practice == p.c.practice, a.c.source_id == p.c.appointment_id))
        statuses = (*PLANNED_STATUSES, ProcedureStatus.COMPLETE.value)
        same_day = case((and_(p.c.status == ProcedureStatus.COMPLETE.value,
                              or_(p.c.procedure_date.is_(None), p.c.procedure_date <= p.c.planned_date)), 1),
                        else_=0).label("same_day")
        query = (
            select(p.c.planned_date, p.c.status, same_day, a.c.status.label("apt_status"), func.count().label("n"))
            .select_from(joined)
            .where(p.c.practice == self.practice, p.c.planned_date >= first, p.c.planned_date <= last,
                   p.c.status.in_(statuses))
            .group_by(p.c.planned_date, p.c.status, same_day, a.c.status)
        )
        rows = [PlannedWork(_as_date(r.planned_date), r.status, bool(r.same_day), r.apt_status, int(r.n))
                for r in self.conn.execute(query)]
        return sorted(rows, key=lambda w: (w.planned_date, w.status, w.same_day, w.appointment_status or ""))

    def first_contacts(self, first: date, last: date) -> list[FirstContact]:
        """Patients who entered the PMS or were referred in from ``first`` to ``last``: the earlier of the two
        dates, and their first completed visit (the PMS's own date, else their first completed appointment)."""
        pats = self.table("patient")
        refs = self.table("referral")
        apts = self.table("appointment")
        started: dict[str, date] = {}
        contacts = select(pats.c.source_id, pats.c.first_contact_date).where(
            pats.c.practice == self.practice, pats.c.first_contact_date >= first, pats.c.first_contact_date <= last,
            pats.c.status != "deleted",
        )
        referred = select(refs.c.patient_id, func.min(refs.c.referral_date)).where(
            refs.c.practice == self.practice, refs.c.direction == ReferralDirection.IN.value,
            refs.c.referral_date >= first, refs.c.referral_date <= last,
        ).group_by(refs.c.patient_id)
        for pid, day in [*self.conn.execute(contacts), *self.conn.execute(referred)]:
            if pid is not None and day is not None:
                day = _as_date(day)
                started[pid] = min(day, started.get(pid, day))
        ids = sorted(started)
        recorded: dict[str, date | None] = {}
        earliest: dict[str, datetime] = {}
        for batch in schema.in_batches(ids):
            recorded.update(self.conn.execute(select(pats.c.source_id, pats.c.first_visit_date).where(
                pats.c.practice == self.practice, pats.c.source_id.in_(batch))).all())
            earliest.update(self.conn.execute(
                select(apts.c.patient_id, func.min(apts.c.start)).where(
                    apts.c.practice == self.practice, apts.c.patient_id.in_(batch),
                    apts.c.status == AppointmentStatus.COMPLETE.value,
                ).group_by(apts.c.patient_id)).all())
        tz = self.store.practice.tz
        return [
            FirstContact(pid, started[pid], recorded.get(pid) or _local_date(_utc(earliest.get(pid)), tz))
            for pid in ids
        ]

    def tasks(self, since: datetime) -> list[TaskLife]:
        """Tasks open now, or opened or closed since ``since``."""
        t = schema.tasks
        query = select(t.c.key, t.c.rule, t.c.role, t.c.status, t.c.patient_id, t.c.appointment_id, t.c.due,
                       t.c.created_at, t.c.resolved_at).where(
            t.c.practice == self.practice,
            or_(t.c.status == "open", t.c.created_at >= since, t.c.resolved_at >= since),
        ).order_by(t.c.key)
        return [TaskLife(r.key, r.rule, r.role, r.status, r.patient_id, r.appointment_id, r.due, r.created_at,
                         r.resolved_at) for r in self.conn.execute(query)]

    def ledger_since(self) -> datetime | None:
        t = schema.tasks
        value = self.conn.execute(select(func.min(t.c.created_at)).where(t.c.practice == self.practice)).scalar()
        return _utc(value)

    def providers(self) -> dict[str, str]:
        t = self.table("provider")
        query = select(t.c.source_id, t.c.abbr, t.c.first_name, t.c.last_name).where(t.c.practice == self.practice)
        return {r.source_id: _provider_label(r) for r in self.conn.execute(query)}


def _provider_label(row: Any) -> str:
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return row.abbr or name or f"Provider {row.source_id}"


def _utc(value: datetime | None) -> datetime | None:
    """An aggregate of a UTC column comes back without the column's type on SQLite: naive, meaning UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _as_date(value: date | str) -> date:
    """A date column through an aggregate or GROUP BY comes back as text on SQLite."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _local_date(value: datetime | None, tz: Any) -> date | None:
    return None if value is None else value.astimezone(tz).date()

