"""The normalized model: one shape for every PMS.

Each record keeps the PMS's own id (``source_id``) and the PMS's own
last-change time (``source_updated_at``) so that loads can be merged and the
task list can link back to the PMS. References to other records
(``patient_id``, ``provider_id`` ...) are the PMS's ids as strings.

Datetimes are timezone-aware; mappings localize the PMS's wall-clock times
with the practice's timezone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from pms_bridge.model.enums import (
    AppointmentStatus,
    ClaimProcedureStatus,
    ClaimStatus,
    ClaimType,
    CoverageRelationship,
    FormKind,
    PatientStatus,
    ProcedureStatus,
    ProviderKind,
    RadiographKind,
    ReferralDirection,
    ReferralStatus,
    VerificationKind,
    VerificationResult,
)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("datetime must carry a timezone (localize it with the practice's timezone)")
    return value


_E = TypeVar("_E")
# Code values may be given as their text ("scheduled"); everything else is strict.
Code = Annotated[_E, Strict(False)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
TimePattern = Annotated[str, Field(pattern=r"^[X/]{1,288}$")]  # one character per 5 minutes


class Record(BaseModel):
    """Fields every normalized record has."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)

    # Name of the entity (singular) and of its snapshot table (plural).
    entity: ClassVar[str]
    table: ClassVar[str]
    # Fields that hold protected health information (kept out of logs/errors).
    phi_fields: ClassVar[frozenset[str]] = frozenset()

    source_id: Id
    source_updated_at: AwareDatetime | None = None


class Provider(Record):
    entity: ClassVar[str] = "provider"
    table: ClassVar[str] = "providers"

    abbr: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    kind: Code[ProviderKind] = ProviderKind.OTHER
    specialty: str | None = None
    is_hidden: bool = False


class Patient(Record):
    """A patient. Minimum necessary: the name is for the task list a coordinator reads; the
    birth date is kept for age-dependent rules (fluoride, sealants); phone numbers, e-mail and
    addresses are not kept at all (the coordinator calls from the PMS)."""

    entity: ClassVar[str] = "patient"
    table: ClassVar[str] = "patients"
    phi_fields: ClassVar[frozenset[str]] = frozenset(
        {"first_name", "last_name", "preferred_name", "birth_date"}
    )

    first_name: str | None = None
    last_name: str | None = None
    preferred_name: str | None = None
    birth_date: date | None = None
    status: Code[PatientStatus] = PatientStatus.PATIENT
    primary_provider_id: Id | None = None
    # The day the patient entered the PMS (a first contact for a new patient).
    first_contact_date: date | None = None
    # The day of the first completed visit, where the PMS records it.
    first_visit_date: date | None = None
    # The patient's clinic in a multi-clinic office (none in a single-clinic one).
    clinic_id: Id | None = None
    clinic: str | None = None  # the clinic's name (abbreviation)


# Open Dental keeps planned appointments and many on the unscheduled list with no date
# (0001-01-01): they are treatment waiting to be booked, not visits.
UNDATED_APPOINTMENT_STATUSES = frozenset({AppointmentStatus.PLANNED, AppointmentStatus.UNSCHEDULED})


class Appointment(Record):
    entity: ClassVar[str] = "appointment"
    table: ClassVar[str] = "appointments"

    patient_id: Id
    start: AwareDatetime | None = None  # required, except for planned and unscheduled-list appointments
    minutes: Minutes
    status: Code[AppointmentStatus]
    provider_id: Id | None = None
    hygienist_id: Id | None = None
    is_hygiene: bool = False
    is_new_patient: bool = False
    confirmed: bool | None = None
    confirmation: str | None = None  # the PMS's confirmation label
    appointment_type: str | None = None
    operatory_id: Id | None = None
    booked_at: AwareDatetime | None = None
    clinic_id: Id | None = None  # where the visit is, in a multi-clinic office
    clinic: str | None = None  # the clinic's name (abbreviation)

    @model_validator(mode="after")
    def _dated_unless_waiting(self) -> Appointment:
        if self.start is None and self.status not in UNDATED_APPOINTMENT_STATUSES:
            raise ValueError(f"start: required for a {self.status.value} appointment (only planned and "
                             "unscheduled-list appointments may have no date)")
        return self


class Procedure(Record):
    entity: ClassVar[str] = "procedure"
    table: ClassVar[str] = "procedures"

    patient_id: Id
    code: str = Field(min_length=1, max_length=15)  # CDT code, e.g. D2740
    status: Code[ProcedureStatus]
    appointment_id: Id | None = None
    planned_appointment_id: Id | None = None
    provider_id: Id | None = None
    tooth: str | None = None
    surface: str | None = None
    procedure_date: date | None = None
    planned_date: date | None = None
    fee: Money | None = None


class ProcedureCode(Record):
    entity: ClassVar[str] = "procedure_code"
    table: ClassVar[str] = "procedure_codes"

    code: str = Field(min_length=1, max_length=15)
    description: str | None = None
    is_hygiene: bool = False
    is_radiology: bool = False
    # The practice's own time for the code, where the PMS keeps one.
    default_minutes: Minutes | None = None
    # Its time pattern in 5-minute characters (X provider, / assistant), where the PMS keeps one:
    # Open Dental combines a visit's codes by these (shared assistant time at the start and end).
    time_pattern: TimePattern | None = None


class ProviderCodeTime(Record):
    """A provider's own time for a procedure code (Open Dental: proccodenote)."""

    entity: ClassVar[str] = "provider_code_time"
    table: ClassVar[str] = "provider_code_times"

    code: str = Field(min_length=1, max_length=15)
    provider_id: Id
    time_pattern: TimePattern


class Coverage(Record):
    """A patient's enrollment in an insurance plan (primary, secondary ...)."""

    entity: ClassVar[str] = "coverage"
    table: ClassVar[str] = "coverages"
    phi_fields: ClassVar[frozenset[str]] = frozenset({"subscriber_id"})

    patient_id: Id
    ordinal: int = Field(default=1, ge=1, le=9)  # 1 = primary
    plan_id: Id | None = None
    plan_name: str | None = None
    group_number: str | None = None
    carrier_id: Id | None = None
    carrier_name: str | None = None
    subscriber_id: str | None = None
    subscriber_patient_id: Id | None = None
    relationship: Code[CoverageRelationship] | None = None
    effective_date: date | None = None
    term_date: date | None = None
    plan_hidden: bool = False
    is_pending: bool = False


class Verification(Record):
    """An insurance verification: eligibility for a coverage, or a plan's benefits."""

    entity: ClassVar[str] = "verification"
    table: ClassVar[str] = "verifications"

    kind: Code[VerificationKind]
    coverage_id: Id | None = None  # eligibility checks are per coverage
    plan_id: Id | None = None  # benefit checks are per plan
    verified_on: date | None = None
    result: Code[VerificationResult] = VerificationResult.UNKNOWN
    status_label: str | None = None


class Referral(Record):
    entity: ClassVar[str] = "referral"
    table: ClassVar[str] = "referrals"

    patient_id: Id
    direction: Code[ReferralDirection]
    referral_date: date | None = None
    referral_source_id: Id | None = None  # the referring / referred-to party
    status: Code[ReferralStatus] = ReferralStatus.NONE
    completed_date: date | None = None
    procedure_id: Id | None = None
    provider_id: Id | None = None


class Document(Record):
    entity: ClassVar[str] = "document"
    table: ClassVar[str] = "documents"

    patient_id: Id
    category: str | None = None
    is_radiograph: bool = False
    radiograph_kind: Code[RadiographKind] | None = None
    taken_date: date | None = None
    tooth_numbers: str | None = None
    is_deleted: bool = False


class Form(Record):
    entity: ClassVar[str] = "form"
    table: ClassVar[str] = "forms"

    patient_id: Id
    kind: Code[FormKind]
    title: str | None = None
    completed_at: AwareDatetime | None = None
    is_deleted: bool = False


class Claim(Record):
    entity: ClassVar[str] = "claim"
    table: ClassVar[str] = "claims"

    patient_id: Id
    status: Code[ClaimStatus]
    claim_type: Code[ClaimType] = ClaimType.PRIMARY
    service_date: date | None = None
    sent_date: date | None = None
    received_date: date | None = None
    fee: Money | None = None
    insurance_estimate: Money | None = None
    insurance_paid: Money | None = None
    plan_id: Id | None = None
    carrier_id: Id | None = None
    carrier_name: str | None = None
    provider_id: Id | None = None


class ClaimProcedure(Record):
    """A procedure's line with one insurance plan: an estimate, a claim's line or a pre-authorization's.

    Open Dental: claimproc. Without a claim (``claim_id``) the line is an estimate.
    """

    entity: ClassVar[str] = "claim_procedure"
    table: ClassVar[str] = "claim_procedures"

    patient_id: Id
    procedure_id: Id | None = None  # none on a claim's adjustment lines
    claim_id: Id | None = None  # none while the line is an estimate
    status: Code[ClaimProcedureStatus]
    procedure_date: date | None = None
    fee_billed: Money | None = None
    insurance_estimate: Money | None = None
    plan_id: Id | None = None


ENTITY_TYPES: tuple[type[Record], ...] = (
    Provider,
    ProcedureCode,
    ProviderCodeTime,
    Patient,
    Appointment,
    Procedure,
    Coverage,
    Verification,
    Referral,
    Document,
    Form,
    Claim,
    ClaimProcedure,
)
ENTITIES: dict[str, type[Record]] = {t.entity: t for t in ENTITY_TYPES}
