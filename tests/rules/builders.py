"""Build small snapshots for rule tests: a practice world with sensible,
rule-clean defaults, so each test adds only what it is about."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
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
    Record,
    Referral,
    Verification,
)
from pms_bridge.rules.engine import evaluate
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.snapshot import Snapshot

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)  # a Monday morning
TODAY = AS_OF.date()


def at(days: float = 1, hour: int = 9, minute: int = 0) -> datetime:
    """A local time ``days`` after AS_OF's date, at hour:minute."""
    day = TODAY + timedelta(days=int(days))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


class World:
    """Records of one practice. ids are unique strings per entity."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._ids = itertools.count(1)

    def _id(self) -> str:
        return str(next(self._ids))

    def add(self, record: Record) -> Any:
        self.records.append(record)
        return record

    def provider(self, kind: str = "dentist", abbr: str | None = None, **kw: Any) -> Provider:
        pid = self._id()
        return self.add(Provider(source_id=pid, abbr=abbr or f"{kind[:3].upper()}{pid}", kind=kind, **kw))

    def code(self, code: str, minutes: int | None = None, is_hygiene: bool = False, **kw: Any) -> ProcedureCode:
        return self.add(ProcedureCode(source_id=self._id(), code=code, default_minutes=minutes, is_hygiene=is_hygiene, **kw))

    def patient(self, new: bool = False, first_contact: date | None = None, **kw: Any) -> Patient:
        """An established patient (first visit years ago) unless ``new``."""
        first_visit = None if new else date(2020, 5, 4)
        return self.add(Patient(source_id=self._id(), first_visit_date=first_visit, first_contact_date=first_contact,
                                last_name="Testpatient", **kw))

    def appointment(self, patient: Patient, start: datetime | None = None, minutes: int = 60,
                    status: str = "scheduled", provider: Provider | None = None,
                    hygienist: Provider | None = None, **kw: Any) -> Appointment:
        return self.add(Appointment(
            source_id=self._id(), patient_id=patient.source_id, start=start or at(1), minutes=minutes, status=status,
            provider_id=provider.source_id if provider else None,
            hygienist_id=hygienist.source_id if hygienist else None, **kw,
        ))

    def procedure(self, patient: Patient, code: str, appointment: Appointment | None = None,
                  provider: Provider | None = None, status: str = "planned", when: date | None = None,
                  **kw: Any) -> Procedure:
        return self.add(Procedure(
            source_id=self._id(), patient_id=patient.source_id, code=code, status=status,
            appointment_id=appointment.source_id if appointment else None,
            provider_id=provider.source_id if provider else None, procedure_date=when, **kw,
        ))

    def coverage(self, patient: Patient, ordinal: int = 1, **kw: Any) -> Coverage:
        values = {"plan_id": "P1", "plan_name": "Acme Corp", "carrier_id": "C1", "carrier_name": "Example Dental Plan",
                  "subscriber_id": "SUB123", "effective_date": date(2025, 1, 1)} | kw
        return self.add(Coverage(source_id=self._id(), patient_id=patient.source_id, ordinal=ordinal, **values))

    def verification(self, coverage: Coverage, on: date | None, result: str = "verified",
                     kind: str = "eligibility", **kw: Any) -> Verification:
        target = {"coverage_id": coverage.source_id} if kind == "eligibility" else {"plan_id": coverage.plan_id}
        return self.add(Verification(source_id=self._id(), kind=kind, verified_on=on, result=result, **target, **kw))

    def referral(self, patient: Patient, on: date, direction: str = "in", status: str = "none", **kw: Any) -> Referral:
        return self.add(Referral(source_id=self._id(), patient_id=patient.source_id, direction=direction,
                                 referral_date=on, status=status, **kw))

    def radiograph(self, patient: Patient, on: date, kind: str = "bitewing", **kw: Any) -> Document:
        return self.add(Document(source_id=self._id(), patient_id=patient.source_id, is_radiograph=True,
                                 radiograph_kind=kind, taken_date=on, category="BWs", **kw))

    def form(self, patient: Patient, kind: str, on: date, **kw: Any) -> Form:
        moment = datetime(on.year, on.month, on.day, 9, 0, tzinfo=TZ)
        return self.add(Form(source_id=self._id(), patient_id=patient.source_id, kind=kind, completed_at=moment, **kw))

    def claim(self, patient: Patient, status: str = "sent", claim_type: str = "primary", **kw: Any) -> Claim:
        values = {"carrier_name": "Example Dental Plan", "fee": Decimal("250.00"),
                  "insurance_estimate": Decimal("200.00")} | kw
        return self.add(Claim(source_id=self._id(), patient_id=patient.source_id, status=status,
                              claim_type=claim_type, **values))

    def claim_line(self, procedure: Procedure, claim: Claim | None = None, status: str | None = None,
                   **kw: Any) -> ClaimProcedure:
        """The procedure's line: on ``claim`` (not received, or preauth on a pre-authorization), else an estimate."""
        if status is None:
            status = "estimate" if claim is None else "preauth" if claim.claim_type == "preauth" else "not_received"
        return self.add(ClaimProcedure(source_id=self._id(), patient_id=procedure.patient_id,
                                       procedure_id=procedure.source_id, claim_id=claim.source_id if claim else None,
                                       status=status, procedure_date=procedure.procedure_date, **kw))

    def snapshot(self) -> Snapshot:
        return Snapshot.build(self.records, TZ)

    def run(self, code: str, as_of: datetime = AS_OF, **settings: Any) -> list[Finding]:
        """Findings of one rule (settings override its defaults)."""
        return evaluate(self.snapshot(), as_of, select=[code], settings={code: settings} if settings else None)
