"""An indexed, read-only view of one practice's snapshot, built once per run.

Rules look things up here by patient, appointment or coverage instead of
scanning tables, so evaluating every rule is linear in the snapshot's size.
A run builds it from the rules' working set (pipeline.snapshot): the patients
in reach of the rules' horizons, each with all its records of the entities
the rules declare they read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.model import (
    Appointment,
    Claim,
    ClaimProcedure,
    Coverage,
    Document,
    Form,
    Patient,
    Procedure,
    ProcedureCode,
    Provider,
    ProviderCodeTime,
    Record,
    Referral,
    Verification,
)
from pms_bridge.model.enums import AppointmentStatus, ProcedureStatus, RadiographKind
from pms_bridge.rules.clinics import ClinicScope, resolve_clinics
from pms_bridge.rules.codes import radiograph_kind_of_procedure
from pms_bridge.rules.finding import Finding

# Radiograph procedures that put a film on file: done here, or charted as done before, here (EC)
# or by another office (EO, e.g. films the referring office sent).
FILM_ON_FILE = frozenset({ProcedureStatus.COMPLETE, ProcedureStatus.EXISTING_CURRENT, ProcedureStatus.EXISTING_OTHER})


_UNDATED_LAST = datetime.max.replace(tzinfo=ZoneInfo("UTC"))


def _in_time_order(apt: Appointment) -> tuple[datetime, str]:
    """Dated appointments by start; undated ones (planned, unscheduled list) after them."""
    return (apt.start or _UNDATED_LAST, apt.source_id)


@dataclass(frozen=True)
class RadiographOnFile:
    taken: date
    kind: RadiographKind
    source: str  # "document DocNum" or "procedure ProcNum" (ids only)


@dataclass
class Snapshot:
    tz: ZoneInfo
    providers: dict[str, Provider] = field(default_factory=dict)
    codes: dict[str, ProcedureCode] = field(default_factory=dict)  # by CDT code
    code_times: dict[tuple[str, str], ProviderCodeTime] = field(default_factory=dict)  # (provider, code)
    patients: dict[str, Patient] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    appointments_by_patient: dict[str, list[Appointment]] = field(default_factory=lambda: defaultdict(list))
    procedures_by_appointment: dict[str, list[Procedure]] = field(default_factory=lambda: defaultdict(list))
    procedures_by_patient: dict[str, list[Procedure]] = field(default_factory=lambda: defaultdict(list))
    coverages_by_patient: dict[str, list[Coverage]] = field(default_factory=lambda: defaultdict(list))
    verifications_by_coverage: dict[str, list[Verification]] = field(default_factory=lambda: defaultdict(list))
    verifications_by_plan: dict[str, list[Verification]] = field(default_factory=lambda: defaultdict(list))
    referrals: list[Referral] = field(default_factory=list)
    referrals_by_patient: dict[str, list[Referral]] = field(default_factory=lambda: defaultdict(list))
    documents_by_patient: dict[str, list[Document]] = field(default_factory=lambda: defaultdict(list))
    forms_by_patient: dict[str, list[Form]] = field(default_factory=lambda: defaultdict(list))
    claims: dict[str, Claim] = field(default_factory=dict)
    claims_by_patient: dict[str, list[Claim]] = field(default_factory=lambda: defaultdict(list))
    claim_procedures_by_procedure: dict[str, list[ClaimProcedure]] = field(default_factory=lambda: defaultdict(list))
    radiographs_by_patient: dict[str, list[RadiographOnFile]] = field(default_factory=lambda: defaultdict(list))
    _completed_visit: dict[str, date] = field(default_factory=dict)  # patient -> first completed visit
    _last_visit: dict[str, date] = field(default_factory=dict)  # patient -> latest completed visit
    clinic_scope: ClinicScope | None = None  # None: every clinic makes findings

    @classmethod
    def build(
        cls,
        records: Iterable[Record],
        tz: ZoneInfo,
        clinics: Iterable[str | int] | None = None,
        clinic_rows: Mapping[str, Mapping[str, str]] | None = None,
        clinic_names: Mapping[str, set[str]] | None = None,
    ) -> Snapshot:
        """``clinics``: the selected clinics (see rules.clinics); ``clinic_rows``: the PMS's clinic table by id.

        ``clinic_names``: clinic id -> the names the practice's records give it, when ``records`` are not all
        of them (a working set); by default they are read from ``records``.
        """
        snap = cls(tz=tz)
        for record in records:
            snap._add(record)
        snap._finish()
        if clinics is not None:
            known = snap._known_clinics() if clinic_names is None else {k: set(v) for k, v in clinic_names.items()}
            for cid, row in (clinic_rows or {}).items():
                known.setdefault(cid, set()).update(v.strip() for v in row.values() if v and v.strip())
            snap.clinic_scope = resolve_clinics(clinics, known)
        return snap

    def _add(self, record: Record) -> None:  # noqa: C901 - one branch per entity
        match record:
            case Provider():
                self.providers[record.source_id] = record
            case ProcedureCode():
                known = self.codes.get(record.code)
                if known is None or (known.default_minutes is None and record.default_minutes is not None) or (
                        known.time_pattern is None and record.time_pattern is not None):
                    self.codes[record.code] = record
            case ProviderCodeTime():
                self.code_times[(record.provider_id, record.code)] = record
            case Patient():
                self.patients[record.source_id] = record
            case Appointment():
                self.appointments[record.source_id] = record
                self.appointments_by_patient[record.patient_id].append(record)
            case Procedure():
                if record.status == ProcedureStatus.DELETED:
                    return
                self.procedures_by_patient[record.patient_id].append(record)
                if record.appointment_id:
                    self.procedures_by_appointment[record.appointment_id].append(record)
            case Coverage():
                self.coverages_by_patient[record.patient_id].append(record)
            case Verification():
                if record.coverage_id:
                    self.verifications_by_coverage[record.coverage_id].append(record)
                if record.plan_id:
                    self.verifications_by_plan[record.plan_id].append(record)
            case Referral():
                self.referrals.append(record)
                self.referrals_by_patient[record.patient_id].append(record)
            case Document():
                if not record.is_deleted:
                    self.documents_by_patient[record.patient_id].append(record)
            case Form():
                if not record.is_deleted:
                    self.forms_by_patient[record.patient_id].append(record)
            case Claim():
                self.claims[record.source_id] = record
                self.claims_by_patient[record.patient_id].append(record)
            case ClaimProcedure():
                if record.procedure_id:
                    self.claim_procedures_by_procedure[record.procedure_id].append(record)

    def _finish(self) -> None:
        for apts in self.appointments_by_patient.values():
            apts.sort(key=_in_time_order)
            done = [a.start for a in apts if a.status == AppointmentStatus.COMPLETE and a.start is not None]
            if done:
                self._completed_visit[apts[0].patient_id] = done[0].astimezone(self.tz).date()
                self._last_visit[apts[0].patient_id] = done[-1].astimezone(self.tz).date()
        for lines in self.claim_procedures_by_procedure.values():
            lines.sort(key=lambda c: c.source_id)
        for claims in self.claims_by_patient.values():
            claims.sort(key=lambda c: (c.service_date or date.min, c.source_id))
        for procs in self.procedures_by_appointment.values():
            procs.sort(key=lambda p: (p.code, p.source_id))
        for covs in self.coverages_by_patient.values():
            covs.sort(key=lambda c: (c.ordinal, c.source_id))
        for pid, docs in self.documents_by_patient.items():
            for doc in docs:
                if doc.is_radiograph and doc.taken_date is not None:
                    kind = doc.radiograph_kind or RadiographKind.OTHER
                    film = RadiographOnFile(doc.taken_date, kind, f"document {doc.source_id}")
                    self.radiographs_by_patient[pid].append(film)
        for pid, procs in self.procedures_by_patient.items():
            for proc in procs:
                kind = radiograph_kind_of_procedure(proc.code)
                if kind is not None and proc.status in FILM_ON_FILE and proc.procedure_date is not None:
                    self.radiographs_by_patient[pid].append(
                        RadiographOnFile(proc.procedure_date, kind, f"procedure {proc.source_id}")
                    )
        for films in self.radiographs_by_patient.values():
            films.sort(key=lambda r: (r.taken, r.source), reverse=True)

    # ------------------------------------------------------------------ queries

    def upcoming(self, start: datetime, days: int) -> list[Appointment]:
        """Scheduled appointments from ``start`` (inclusive) to ``days`` later (exclusive)."""
        end = start + timedelta(days=days)
        found = [
            a for a in self.appointments.values()
            if a.status == AppointmentStatus.SCHEDULED and a.start is not None and start <= a.start < end
        ]
        return sorted(found, key=_in_time_order)

    def first_completed_visit(self, patient_id: str) -> date | None:
        return self._completed_visit.get(patient_id)

    def last_completed_visit(self, patient_id: str) -> date | None:
        return self._last_visit.get(patient_id)

    def claim_lines_of(self, procedure_id: str) -> list[ClaimProcedure]:
        """The procedure's lines with insurance plans: estimates, claims, pre-authorizations."""
        return self.claim_procedures_by_procedure.get(procedure_id, [])

    def is_new_patient(self, patient_id: str, today: date) -> bool:
        """No completed visit yet: neither a completed appointment nor a first-visit date on or before today."""
        visit = self.first_completed_visit(patient_id)
        if visit is not None and visit <= today:
            return False
        patient = self.patients.get(patient_id)
        return not (patient and patient.first_visit_date and patient.first_visit_date <= today)

    def procedures_of(self, appointment_id: str) -> list[Procedure]:
        return self.procedures_by_appointment.get(appointment_id, [])

    def radiographs_of(self, patient_id: str) -> list[RadiographOnFile]:
        """Newest first."""
        return self.radiographs_by_patient.get(patient_id, [])

    # ------------------------------------------------------------------ clinics

    def _known_clinics(self) -> dict[str, set[str]]:
        """Clinic id -> its names, from the patients and appointments."""
        known: dict[str, set[str]] = {}
        for record in (*self.patients.values(), *self.appointments.values()):
            if isinstance(record, Patient | Appointment) and record.clinic_id:
                names = known.setdefault(record.clinic_id, set())
                if record.clinic:
                    names.add(record.clinic)
        return known

    def clinic_id_of(self, patient_id: str, appointment_id: str | None) -> str | None:
        """The appointment's clinic, else the patient's."""
        apt = self.appointments.get(appointment_id) if appointment_id else None
        if apt is not None and apt.clinic_id:
            return apt.clinic_id
        patient = self.patients.get(patient_id)
        return patient.clinic_id if patient else None

    def clinic_name_of(self, patient_id: str, appointment_id: str | None) -> str | None:
        """The clinic's name for a task list (its number when the name is unknown); None without a clinic."""
        cid = self.clinic_id_of(patient_id, appointment_id)
        if cid is None:
            return None
        apt = self.appointments.get(appointment_id) if appointment_id else None
        patient = self.patients.get(patient_id)
        for record in (apt, patient):
            if record is not None and record.clinic_id == cid and record.clinic:
                return record.clinic
        return f"Clinic {cid}"

    def selects(self, finding: Finding) -> bool:
        """Whether the finding is about a selected clinic (always, when no clinics are selected)."""
        if self.clinic_scope is None:
            return True
        return self.clinic_scope.selects(self.clinic_id_of(finding.patient_id, finding.appointment_id))
