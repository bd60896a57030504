"""Which patients the rules still work for."""

from __future__ import annotations

from pms_bridge.model.enums import PatientStatus
from pms_bridge.rules.context import RuleContext

# Patients nobody calls any more: deleted, deceased, archived, inactive, or not patients.
GONE = frozenset({PatientStatus.DELETED, PatientStatus.DECEASED, PatientStatus.ARCHIVED, PatientStatus.INACTIVE,
                  PatientStatus.NON_PATIENT})


def active(ctx: RuleContext, patient_id: str) -> bool:
    """A known patient who may still come (not deleted, deceased, archived, inactive or a non-patient)."""
    patient = ctx.snapshot.patients.get(patient_id)
    return patient is not None and patient.status not in GONE
