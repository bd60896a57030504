"""Normalized model shared by every connector, mapping, rule and sink."""

from pms_bridge.model.entities import (
    ENTITIES,
    ENTITY_TYPES,
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
from pms_bridge.model.practice import Practice

__all__ = [
    "ENTITIES",
    "ENTITY_TYPES",
    "Appointment",
    "Claim",
    "ClaimProcedure",
    "Coverage",
    "Document",
    "Form",
    "Patient",
    "Practice",
    "Procedure",
    "ProcedureCode",
    "Provider",
    "ProviderCodeTime",
    "Record",
    "Referral",
    "Verification",
]
