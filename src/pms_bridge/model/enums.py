"""Normalized code values. Mappings translate each PMS's codes into these."""

from enum import StrEnum


class ProviderKind(StrEnum):
    DENTIST = "dentist"
    HYGIENIST = "hygienist"
    SPECIALIST = "specialist"
    OTHER = "other"


class PatientStatus(StrEnum):
    PATIENT = "patient"
    NON_PATIENT = "non_patient"
    INACTIVE = "inactive"
    ARCHIVED = "archived"
    DELETED = "deleted"
    DECEASED = "deceased"
    PROSPECTIVE = "prospective"


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETE = "complete"
    UNSCHEDULED = "unscheduled"  # on the unscheduled list
    BROKEN = "broken"  # no-show or cancelled late
    PLANNED = "planned"  # treatment-plan placeholder, not on the book
    NOTE = "note"  # a note on the schedule, not a visit
    CANCELLED = "cancelled"
    DELETED = "deleted"
    OTHER = "other"


class ProcedureStatus(StrEnum):
    PLANNED = "planned"  # treatment planned
    PLANNED_INACTIVE = "planned_inactive"
    COMPLETE = "complete"
    EXISTING_CURRENT = "existing_current"  # done before, this office
    EXISTING_OTHER = "existing_other"  # done before, another office
    REFERRED = "referred"
    DELETED = "deleted"
    CONDITION = "condition"


class CoverageRelationship(StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"


class VerificationKind(StrEnum):
    ELIGIBILITY = "eligibility"  # is the patient enrolled / plan active
    BENEFITS = "benefits"  # plan benefits checked


class VerificationResult(StrEnum):
    VERIFIED = "verified"  # checked and active
    INACTIVE = "inactive"
    PENDING = "pending"
    UNKNOWN = "unknown"


class ReferralDirection(StrEnum):
    IN = "in"  # referred to this practice
    OUT = "out"  # this practice referred the patient elsewhere


class ReferralStatus(StrEnum):
    NONE = "none"
    DECLINED = "declined"
    SCHEDULED = "scheduled"
    CONSULTED = "consulted"
    IN_TREATMENT = "in_treatment"
    COMPLETE = "complete"


class RadiographKind(StrEnum):
    BITEWING = "bitewing"
    PERIAPICAL = "periapical"
    FMX = "fmx"
    PANO = "pano"
    CEPH = "ceph"
    CBCT = "cbct"
    OTHER = "other"


class FormKind(StrEnum):
    REGISTRATION = "registration"
    HEALTH_HISTORY = "health_history"
    CONSENT = "consent"
    OTHER = "other"


class ClaimStatus(StrEnum):
    UNSENT = "unsent"
    HOLD = "hold"  # waiting for the primary, or held in process
    WAITING = "waiting"  # in the send queue
    SENT = "sent"
    RECEIVED = "received"
    OTHER = "other"


class ClaimType(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    PREAUTH = "preauth"
    OTHER = "other"


class ClaimProcedureStatus(StrEnum):
    """What one procedure's line with one insurance plan is (Open Dental: claimproc.Status)."""

    ESTIMATE = "estimate"  # an estimate only: on no claim yet
    NOT_RECEIVED = "not_received"  # on a claim, not paid yet
    RECEIVED = "received"  # on a claim, paid
    PREAUTH = "preauth"  # on a pre-authorization
    ADJUSTMENT = "adjustment"  # an insurance adjustment, not a procedure's line
    SUPPLEMENTAL = "supplemental"  # a supplemental payment on a claim
    CAP_CLAIM = "cap_claim"  # on a capitation claim
    CAP_ESTIMATE = "cap_estimate"  # capitation, not complete yet
    CAP_COMPLETE = "cap_complete"  # capitation, complete: no claim is sent
    HISTORY = "history"  # insurance history (frequency limits), no claim
    OTHER = "other"
