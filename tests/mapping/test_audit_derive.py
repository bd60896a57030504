"""Named derivations, value by value: appointment and procedure times from patterns, and provider kinds."""

from __future__ import annotations

import pytest

from pms_bridge.mapping.derive import Unmapped, form_kind, pattern_minutes, provider_kind, time_pattern
from pms_bridge.mapping.spec import Settings
from pms_bridge.model.enums import ProviderKind

SETTINGS = Settings()


def test_an_appointment_pattern_is_five_minute_characters_around_blanks() -> None:
    assert pattern_minutes({"pattern": " //XXXX// \t"}, SETTINGS) == 40  # stray spaces are no time
    assert pattern_minutes({"pattern": None}, SETTINGS) is None


@pytest.mark.parametrize(("increment", "five"), [("5", "X//X"), ("10", "XX////XX"), (" 15 ", "XXX//////XXX")])
def test_a_procedure_time_is_rewritten_in_five_minute_characters(increment: str, five: str) -> None:
    inputs = {"pattern": "x//x", "increment": increment}  # lower case as some exports have it
    assert time_pattern(inputs, SETTINGS) == five
    assert pattern_minutes(inputs, SETTINGS) == 5 * len(five)


def test_an_increment_open_dental_does_not_offer_is_reported() -> None:
    inputs = {"pattern": "XX", "increment": "20"}
    assert time_pattern(inputs, SETTINGS) == Unmapped("XX", "mapping.settings.time_increment",
                                                      "AppointmentTimeIncrement 20")


@pytest.mark.parametrize(
    ("hygienist", "specialty", "kind"),
    [
        ("1", "", ProviderKind.HYGIENIST),
        ("0", "", ProviderKind.DENTIST),
        ("0", "  ", ProviderKind.DENTIST),
    ],
)
def test_provider_kinds(hygienist: str, specialty: str, kind: ProviderKind) -> None:
    assert provider_kind({"hygienist": hygienist, "specialty": specialty}, SETTINGS) == kind


def test_a_specialty_named_as_hygiene_makes_a_hygienist_whatever_its_case() -> None:
    settings = Settings(hygienist_specialties=["Hygienist"], specialist_specialties=["Endodontics"])
    assert provider_kind({"hygienist": "0", "specialty": " hygienist "}, settings) == ProviderKind.HYGIENIST
    assert provider_kind({"hygienist": "0", "specialty": "ENDODONTICS"}, settings) == ProviderKind.SPECIALIST
    assert provider_kind({"hygienist": "0", "specialty": "Sleep"}, settings) == Unmapped(
        ProviderKind.DENTIST, "mapping.settings.specialist_specialties", "Sleep")


def test_a_form_title_is_looked_up_whatever_its_case_and_surrounding_blanks() -> None:
    settings = Settings(form_titles={"Medical History": "health_history"})
    assert form_kind({"kind": "consent", "title": " MEDICAL history "}, settings) == "health_history"
    assert form_kind({"kind": "consent", "title": "Medical History Update"}, settings) == "consent"
