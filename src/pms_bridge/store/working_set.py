"""The rules' working set: the stored records the rules can read at one as-of time, by indexed queries.

The rules look at scheduled appointments in a window ahead of today, at referrals and first contacts
of a lookback, and at those patients' whole history. This module finds those patients and loads
everything the snapshot holds about them (plus the small practice-wide tables), instead of every row
the practice ever stored. Rows become the same model objects :meth:`Store.records` makes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from pms_bridge.model import ENTITIES, Record
from pms_bridge.model.enums import (
    AppointmentStatus,
    ClaimStatus,
    ClaimType,
    ProcedureStatus,
    ReferralDirection,
)
from pms_bridge.store import schema
from pms_bridge.store.store import Store, record_maker

# Small tables every rule may read whole (providers, codes, providers' own code times).
PRACTICE_WIDE = ("provider", "procedure_code", "provider_code_time")
# Entities the snapshot keeps per patient (besides appointments, procedures and claims, loaded on their own).
PER_PATIENT = ("referral", "document", "form")


@dataclass(frozen=True)
class Reach:
    """How far the rules look at one as-of time: the window ahead, and the lookbacks (days back)."""

    as_of: datetime  # aware
    window_days: int
    first_contact_days: int
    referral_days: int
    referral_out_days: int = 0  # referrals out followed up: their patients' rows, without their history
    broken_days: int = 0  # appointments broken or missed this many days back
    completed_procedure_days: int = 0  # completed procedures this many days back that may lack a claim
    recent_visit_days: int = 0  # planned treatment of patients with a completed visit this many days back
    outstanding_claim_days: int = 0  # above 0: claims still in the sent state, sent more than this many days ago

    def window(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the appointment window, computed as the rules compute it (local wall clock)."""
        start = self.as_of.astimezone(tz)
        return start, start + timedelta(days=self.window_days)

    def today(self, tz: tzinfo) -> date:
        return self.as_of.astimezone(tz).date()

    def days_back(self, tz: tzinfo, days: int) -> datetime:
        """Local midnight ``days`` days before today."""
        return datetime.combine(self.today(tz) - timedelta(days=days), time(), tz)


@dataclass
class WorkingSet:
    """The patients whose records the rules read, and the scheduled appointments in the window."""

    patient_ids: set[str]
    window_appointment_ids: set[str]
    # Patients reached only by a referral out: their patient row and referrals, nothing more.
    referred_out: set[str] = field(default_factory=set)


def find_working_set(store: Store, reach: Reach) -> WorkingSet:
    """Patients with a scheduled appointment in the window, a referral or a first contact in the lookback,
    and those the appointment, treatment and claim rules may find something about (see ``_claims_reach``).

    Deleted patients are kept (unlike the API fan-out's list): a rule decides what their status means.
    """
    tz = store.practice.tz
    apts = schema.SNAPSHOT_TABLES["appointment"]
    pats = schema.SNAPSHOT_TABLES["patient"]
    refs = schema.SNAPSHOT_TABLES["referral"]
    p = store.practice.key
    today = reach.today(tz)
    patients: set[str] = set()
    window: set[str] = set()
    with store.engine.connect() as conn:
        if reach.window_days > 0:
            lo, hi = reach.window(tz)
            query = select(apts.c.source_id, apts.c.patient_id).where(
                apts.c.practice == p, apts.c.status == AppointmentStatus.SCHEDULED.value,
                apts.c.start >= lo, apts.c.start < hi,
            )
            for aid, pid in conn.execute(query):
                window.add(aid)
                patients.add(pid)
        patients.update(conn.scalars(select(pats.c.source_id).where(
            pats.c.practice == p,
            pats.c.first_contact_date >= today - timedelta(days=reach.first_contact_days),
            pats.c.first_contact_date <= today,
        )))
        patients.update(conn.scalars(select(refs.c.patient_id).where(
            refs.c.practice == p,
            refs.c.referral_date >= today - timedelta(days=reach.referral_days),
            refs.c.referral_date <= today,
        )))
        referred_out = set(conn.scalars(select(refs.c.patient_id).where(
            refs.c.practice == p, refs.c.direction == ReferralDirection.OUT.value,
            refs.c.referral_date >= today - timedelta(days=reach.referral_out_days),
            refs.c.referral_date <= today,
        ))) if reach.referral_out_days > 0 else set()
        for query in _rule_reach(store, reach):
            patients.update(conn.scalars(query))
    return WorkingSet(patients, window, referred_out - patients)


# Appointment states APT002 counts as broken (besides one still scheduled on a day that is over).
_BROKEN = (AppointmentStatus.BROKEN.value, AppointmentStatus.CANCELLED.value)
# Claim states after which a completed procedure needs no claim task (CLM001: sent, paid, not mapped, held).
_BILLED = (ClaimStatus.SENT.value, ClaimStatus.RECEIVED.value, ClaimStatus.OTHER.value, ClaimStatus.HOLD.value)


def unbilled_work(store: Store, today: date, days: int) -> Select[tuple[str]]:
    """The patients with work completed in the last ``days`` days that is on no claim (not a pre-authorization)
    sent, paid or held, neither by its claim lines nor by a claim of its date; whether they were insured on the
    day is not asked (a route that reads coverage per patient needs these patients' coverage first)."""
    p = store.practice.key
    procs = schema.SNAPSHOT_TABLES["procedure"]
    lines = schema.SNAPSHOT_TABLES["claim_procedure"]
    on_claim = schema.SNAPSHOT_TABLES["claim"].alias("on_claim")
    same_day = schema.SNAPSHOT_TABLES["claim"].alias("same_day")
    return select(procs.c.patient_id).distinct().where(
        procs.c.practice == p, procs.c.status == ProcedureStatus.COMPLETE.value,
        procs.c.procedure_date >= today - timedelta(days=days), procs.c.procedure_date <= today,
        ~exists().where(lines.c.practice == p, lines.c.procedure_id == procs.c.source_id,
                        on_claim.c.practice == p, on_claim.c.source_id == lines.c.claim_id,
                        on_claim.c.status.in_(_BILLED), _not_preauth(on_claim)),
        ~exists().where(same_day.c.practice == p, same_day.c.patient_id == procs.c.patient_id,
                        same_day.c.service_date == procs.c.procedure_date, same_day.c.status.in_(_BILLED),
                        _not_preauth(same_day)))


def _not_preauth(claims: Any) -> ColumnElement[bool]:
    return or_(claims.c.claim_type.is_(None), claims.c.claim_type != ClaimType.PREAUTH.value)


def _rule_reach(store: Store, reach: Reach) -> Iterator[Any]:
    """Queries of patient ids each a superset of the patients APT002, TX001, CLM001 and CLM002 can find
    something about: every condition of the rule the store can test by index is tested here too."""
    tz = store.practice.tz
    p = store.practice.key
    apts = schema.SNAPSHOT_TABLES["appointment"]
    procs = schema.SNAPSHOT_TABLES["procedure"]
    claims = schema.SNAPSHOT_TABLES["claim"]
    covs = schema.SNAPSHOT_TABLES["coverage"]
    today = reach.today(tz)
    midnight = reach.days_back(tz, 0)
    if reach.broken_days > 0:  # broken or cancelled from the lookback on, or scheduled on a day that is over
        yield select(apts.c.patient_id).distinct().where(
            apts.c.practice == p, apts.c.start >= reach.days_back(tz, reach.broken_days),
            or_(apts.c.status.in_(_BROKEN),
                and_(apts.c.status == AppointmentStatus.SCHEDULED.value, apts.c.start < midnight)))
    if reach.recent_visit_days > 0:  # planned work on no scheduled appointment, of patients seen lately
        booked = apts.alias("booked")
        seen = apts.alias("seen")
        yield select(procs.c.patient_id).distinct().where(
            procs.c.practice == p, procs.c.status == ProcedureStatus.PLANNED.value,
            procs.c.planned_date <= today,
            ~exists().where(booked.c.practice == p, booked.c.source_id == procs.c.appointment_id,
                            booked.c.status == AppointmentStatus.SCHEDULED.value),
            # start inside coalesce(): the planner then looks the patient's appointments up by patient, not
            # every appointment since the lookback's start for each planned procedure.
            exists().where(seen.c.practice == p, seen.c.patient_id == procs.c.patient_id,
                           seen.c.status == AppointmentStatus.COMPLETE.value,
                           func.coalesce(seen.c.start, seen.c.start) >= reach.days_back(tz, reach.recent_visit_days)))
    if reach.completed_procedure_days > 0:  # completed work of insured patients on no claim sent or held
        yield unbilled_work(store, today, reach.completed_procedure_days).where(
            exists().where(covs.c.practice == p, covs.c.patient_id == procs.c.patient_id))
    if reach.outstanding_claim_days > 0:  # claims out longer than that
        yield select(claims.c.patient_id).distinct().where(
            claims.c.practice == p, claims.c.status == ClaimStatus.SENT.value,
            claims.c.sent_date < today - timedelta(days=reach.outstanding_claim_days), _not_preauth(claims))


@dataclass(frozen=True)
class History:
    """What of the reached patients' history the rules read, when they read less than all of it.

    ``procedure_codes``: of their procedures (besides those on window appointments), only these codes;
    ``radiograph_documents``: of their documents, only radiographs. None / False: everything.

    ``summaries``: of a long history only what the rules build from it, so that memory follows the patients
    in reach, not the years they have been coming: appointments since ``appointments_since`` plus each
    patient's first and latest completed visit; the newest completed form of each kind; the newest film on
    file of each radiograph kind (documents) and of each code (procedures, with ``film_statuses``); every
    planned procedure (``planned_procedures``) with the appointment it is on; completed procedures from
    ``completed_since``; claims of services from ``claims_since`` or still sent, and every claim a loaded
    procedure's claim line names.
    """

    procedure_codes: frozenset[str] | None = None
    radiograph_documents: bool = False
    summaries: bool = False
    appointments_since: datetime | None = None
    film_statuses: frozenset[str] = frozenset()
    planned_procedures: bool = False
    completed_since: date | None = None
    claims_since: date | None = None


def procedure_codes_stored(store: Store) -> set[str]:
    """The distinct codes of the practice's stored procedures."""
    t = schema.SNAPSHOT_TABLES["procedure"]
    with store.engine.connect() as conn:
        return set(conn.scalars(select(t.c.code).distinct().where(t.c.practice == store.practice.key)))


def working_set_records(
    store: Store, found: WorkingSet, entities: Collection[str] | None = None, history: History | None = None
) -> Iterator[Record]:
    """Every stored record the rules can read about the working set's patients, and the practice-wide tables.

    ``entities``: only these (the entities the evaluated rules read); default: all. Procedures come by
    patient and also by window appointment (a procedure charted to another patient's appointment is still
    that appointment's); verifications by the patients' coverages and by their plans. Each record is
    yielded once. ``history``: what of the patients' history the rules read (default: all of it).
    """
    wanted = set(ENTITIES) if entities is None else set(entities)
    history = history or History()
    for entity in PRACTICE_WIDE:
        if entity in wanted:
            yield from store.records(entity)
    pids = found.patient_ids
    yield from records_where(store, "patient", "source_id", pids | found.referred_out)
    procedures: dict[str, Record] = {}
    if "procedure" in wanted:
        procedures = {r.source_id: r for r in _procedures(store, pids, history)}
        for r in records_where(store, "procedure", "appointment_id", found.window_appointment_ids):
            procedures.setdefault(r.source_id, r)
    on = {r.appointment_id for r in procedures.values() if r.appointment_id}  # type: ignore[attr-defined]
    yield from _appointments(store, pids, history, on)
    yield from procedures.values()
    lines: list[Record] = []
    if "claim_procedure" in wanted or "claim" in wanted:
        lines = list(records_where(store, "claim_procedure", "procedure_id", set(procedures)))
    del procedures
    if "claim_procedure" in wanted:
        yield from lines
    if "claim" in wanted:
        yield from _claims(store, pids, history, {r.claim_id for r in lines if r.claim_id})  # type: ignore[attr-defined]
    if "coverage" in wanted or "verification" in wanted:
        coverages = list(records_where(store, "coverage", "patient_id", pids))
        if "coverage" in wanted:
            yield from coverages
        if "verification" in wanted:
            by_coverage = records_where(store, "verification", "coverage_id", {c.source_id for c in coverages})
            verifications = {r.source_id: r for r in by_coverage}
            plans = {c.plan_id for c in coverages if c.plan_id}  # type: ignore[attr-defined]
            for r in records_where(store, "verification", "plan_id", plans):
                verifications.setdefault(r.source_id, r)
            yield from verifications.values()
    for entity in PER_PATIENT:
        if entity in wanted:
            reached = pids | found.referred_out if entity == "referral" else pids
            yield from _per_patient(store, entity, reached, history)


def _appointments(store: Store, pids: set[str], history: History, on: set[str]) -> Iterator[Record]:
    """The patients' appointments; with summaries, those since ``appointments_since``, each patient's first and
    latest completed visit (the rules look no further back) and the appointments loaded procedures are ``on``."""
    if not history.summaries or history.appointments_since is None:
        yield from records_where(store, "appointment", "patient_id", pids)
        return
    t = schema.SNAPSHOT_TABLES["appointment"]
    recent = {r.source_id: r for r in records_where(store, "appointment", "patient_id", pids,
                                                    t.c.start >= history.appointments_since)}
    completed = (t.c.status == AppointmentStatus.COMPLETE.value) & t.c.start.is_not(None)
    for order in ((t.c.start, t.c.source_id), (t.c.start.desc(), t.c.source_id.desc())):
        for r in records_where(store, "appointment", "patient_id", pids, completed, _Newest((t.c.patient_id,), order)):
            recent.setdefault(r.source_id, r)
    for r in records_where(store, "appointment", "source_id", on - recent.keys()):
        recent.setdefault(r.source_id, r)
    yield from recent.values()


def _procedures(store: Store, pids: set[str], history: History) -> Iterator[Record]:
    t = schema.SNAPSHOT_TABLES["procedure"]
    if history.procedure_codes is None:
        yield from records_where(store, "procedure", "patient_id", pids)
        return
    by_code = t.c.code.in_(sorted(history.procedure_codes))
    if history.planned_procedures:
        yield from records_where(store, "procedure", "patient_id", pids, t.c.status == ProcedureStatus.PLANNED.value)
    if history.completed_since is not None:
        yield from records_where(store, "procedure", "patient_id", pids, (
            t.c.status == ProcedureStatus.COMPLETE.value) & (t.c.procedure_date >= history.completed_since))
    if not history.summaries:
        yield from records_where(store, "procedure", "patient_id", pids, by_code)
        return
    on_file = by_code & t.c.status.in_(sorted(history.film_statuses)) & t.c.procedure_date.is_not(None)
    newest = _Newest((t.c.patient_id, t.c.code), (t.c.procedure_date.desc(), t.c.source_id.desc()))
    yield from records_where(store, "procedure", "patient_id", pids, on_file, newest)


def _claims(store: Store, pids: set[str], history: History, named: set[str]) -> Iterator[Record]:
    """The patients' claims (with summaries: of services from ``claims_since``, or still sent) and the claims
    the loaded claim lines name."""
    t = schema.SNAPSHOT_TABLES["claim"]
    only: ColumnElement[bool] | None = None
    if history.summaries:
        only = t.c.status == ClaimStatus.SENT.value
        if history.claims_since is not None:
            only = only | (t.c.service_date >= history.claims_since)
    claims = {r.source_id: r for r in records_where(store, "claim", "patient_id", pids, only)}
    for r in records_where(store, "claim", "source_id", named - claims.keys()):
        claims.setdefault(r.source_id, r)
    yield from claims.values()


def _per_patient(store: Store, entity: str, reached: set[str], history: History) -> Iterator[Record]:
    t = schema.SNAPSHOT_TABLES[entity]
    only: ColumnElement[bool] | None = None
    newest: _Newest | None = None
    if entity == "document" and history.radiograph_documents:
        only = t.c.is_radiograph.is_(True)
        if history.summaries:
            only = only & t.c.is_deleted.is_(False) & t.c.taken_date.is_not(None)
            newest = _Newest((t.c.patient_id, t.c.radiograph_kind), (t.c.taken_date.desc(), t.c.source_id.desc()))
    elif entity == "form" and history.summaries:
        only = t.c.is_deleted.is_(False) & t.c.completed_at.is_not(None)
        newest = _Newest((t.c.patient_id, t.c.kind), (t.c.completed_at.desc(), t.c.source_id.desc()))
    yield from records_where(store, entity, "patient_id", reached, only, newest)


@dataclass(frozen=True)
class _Newest:
    """Keep one row of each group: the first by ``order`` among rows with the same ``group`` values."""

    group: tuple[ColumnElement[Any], ...]
    order: tuple[ColumnElement[Any], ...]


def records_where(
    store: Store, entity: str, column: str, values: Collection[str], only: ColumnElement[bool] | None = None,
    newest: _Newest | None = None,
) -> Iterator[Record]:
    """The entity's stored records whose ``column`` is one of ``values`` (batched IN queries), and that
    meet ``only`` when given; with ``newest``, only the first of each of its groups."""
    table = schema.SNAPSHOT_TABLES[entity]
    wanted = sorted(values)
    names = list(ENTITIES[entity].model_fields)
    make = record_maker(entity)
    with store.engine.connect() as conn:
        for batch in schema.in_batches(wanted):
            where: ColumnElement[bool] = table.c[column].in_(batch)
            if only is not None:
                where = where & only
            where = (table.c.practice == store.practice.key) & where
            if newest is None:
                query = select(*(table.c[n] for n in names)).where(where).order_by(table.c.source_id)
            else:  # every group's first row, picked by the database (a window function)
                rank = func.row_number().over(partition_by=newest.group, order_by=newest.order).label("pmsb_rank")
                ranked = select(*(table.c[n] for n in names), rank).where(where).subquery()
                query = select(*(ranked.c[n] for n in names)).where(ranked.c.pmsb_rank == 1)
                query = query.order_by(ranked.c.source_id)
            for row in conn.execute(query):
                yield make(zip(names, row, strict=True))


def clinic_names(store: Store) -> dict[str, set[str]]:
    """Clinic id -> the clinic names the stored patients and appointments carry (distinct pairs only)."""
    known: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for entity in ("patient", "appointment"):
            t = schema.SNAPSHOT_TABLES[entity]
            query = select(t.c.clinic_id, t.c.clinic).distinct().where(
                t.c.practice == store.practice.key, t.c.clinic_id.is_not(None))
            for cid, name in conn.execute(query):
                if not cid:
                    continue
                names = known.setdefault(cid, set())
                if name:
                    names.add(name)
    return known


def appointment_starts(store: Store, ids: Iterable[str]) -> dict[str, datetime | None]:
    """Stored appointment id -> its start (None: undated); ids not stored are left out."""
    t = schema.SNAPSHOT_TABLES["appointment"]
    wanted = sorted(set(ids))
    starts: dict[str, datetime | None] = {}
    with store.engine.connect() as conn:
        for batch in schema.in_batches(wanted):
            query = select(t.c.source_id, t.c.start).where(t.c.practice == store.practice.key, t.c.source_id.in_(batch))
            starts.update((aid, at) for aid, at in conn.execute(query))
    return starts


def patients_by_id(store: Store, ids: Iterable[str]) -> Iterator[Record]:
    """The stored patients among ``ids``."""
    return records_where(store, "patient", "source_id", set(ids))
