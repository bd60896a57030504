"""Normalized model validation: strict, and errors name the field."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from pms_bridge.model import ENTITIES, Appointment, Coverage, Patient, Practice
from pms_bridge.model.enums import AppointmentStatus

TZ = ZoneInfo("America/Chicago")


def _apt(**kw: object) -> Appointment:
    base = {"source_id": "1", "patient_id": "2", "start": datetime(2026, 3, 2, 9, tzinfo=TZ), "minutes": 60,
            "status": "scheduled"}
    return Appointment(**(base | kw))


def test_valid_record_and_code_text() -> None:
    apt = _apt()
    assert apt.status is AppointmentStatus.SCHEDULED and apt.provider_id is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": datetime(2026, 3, 2, 9)}, "start"),  # naive: timezone unknown
        ({"minutes": -5}, "minutes"),
        ({"minutes": "60"}, "minutes"),  # strict: no silent coercion
        ({"status": "done"}, "status"),
        ({"source_id": ""}, "source_id"),
        ({"nickname": "x"}, "nickname"),  # unknown fields are refused
    ],
)
def test_invalid_values_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _apt(**change)
    assert [e["loc"][0] for e in exc.value.errors()] == [field]


def test_records_are_immutable() -> None:
    with pytest.raises(ValidationError):
        _apt().minutes = 30  # type: ignore[misc]


def test_every_entity_keeps_source_id_and_update_time() -> None:
    assert set(ENTITIES) == {"provider", "procedure_code", "provider_code_time", "patient", "appointment", "procedure",
                             "coverage",
                             "verification", "referral", "document", "form", "claim", "claim_procedure"}
    for model in ENTITIES.values():
        assert {"source_id", "source_updated_at"} <= set(model.model_fields)


def test_phi_fields_are_declared() -> None:
    assert {"first_name", "last_name", "birth_date"} <= Patient.phi_fields
    assert "phone" not in Patient.model_fields and "email" not in Patient.model_fields  # minimum necessary
    assert Coverage.phi_fields == {"subscriber_id"}
    assert Patient(source_id="1", birth_date=date(1990, 1, 1)).birth_date == date(1990, 1, 1)


def test_practice_key_and_timezone() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        Practice(key="a", name="A", timezone="Nowhere/Land")
    with pytest.raises(ValidationError, match="lowercase"):
        Practice(key="Main Street", name="A", timezone="UTC")
