"""FRM001 new-patient-forms-missing."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from builders import TZ, World, at, day

from pms_bridge.model import Form
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def test_fires_for_a_new_patient_without_registration() -> None:
    w = World()
    pat = w.patient(new=True)
    w.form(pat, "health_history", day(-2))
    apt = w.appointment(pat, at(3))
    (finding,) = w.run("FRM001")
    assert finding.subject_type == "patient"
    assert (finding.subject_id, finding.appointment_id) == (pat.source_id, apt.source_id)
    assert finding.title == "New patient has no registration form"
    assert finding.due == day(2) and finding.severity == "high"
    assert "Testpatient" not in finding.title + finding.detail


def test_any_completed_registration_counts() -> None:
    w = World()
    pat = w.patient(new=True)
    w.form(pat, "registration", date(2019, 1, 1))
    w.appointment(pat, at(3))
    assert w.run("FRM001") == []


def test_established_patients_are_not_checked() -> None:
    w = World()
    w.appointment(w.patient(), at(3))
    pat = w.patient(new=True)
    w.appointment(pat, at(-1), status="complete")  # first visit done yesterday
    w.appointment(pat, at(3))
    assert w.run("FRM001") == []


def test_first_visit_today_is_established_tomorrow_is_new() -> None:
    w = World()
    today, tomorrow = w.patient(new=True), w.patient(new=True)
    w.appointment(today, at(0, 7), status="complete")
    w.appointment(tomorrow, at(1, 7), status="complete")
    for pat in (today, tomorrow):
        w.appointment(pat, at(3))
    assert [f.patient_id for f in w.run("FRM001")] == [tomorrow.source_id]


def test_forms_that_do_not_count() -> None:
    w = World()
    deleted, unfinished, other_kinds, nothing = (w.patient(new=True) for _ in range(4))
    w.form(deleted, "registration", day(-3), is_deleted=True)
    w.add(Form(source_id="open-1", patient_id=unfinished.source_id, kind="registration"))  # started, not completed
    for kind in ("health_history", "consent", "other"):
        w.form(other_kinds, kind, day(-3))
    for pat in (deleted, unfinished, other_kinds, nothing):
        w.appointment(pat, at(3))
    assert len(w.run("FRM001")) == 4


def test_settings_override() -> None:
    w = World()
    w.appointment(w.patient(new=True), at(5))
    assert len(w.run("FRM001")) == 1
    assert w.run("FRM001", window_days=5) == []
    with pytest.raises(RuleConfigError, match=r"^rules\.FRM001\.window_days:"):
        rule_settings({"FRM001": {"window_days": 0}})
    with pytest.raises(RuleConfigError, match=r"^rules\.FRM001\.months:"):
        rule_settings({"new-patient-forms-missing": {"months": 12}})


def test_only_scheduled_appointments_in_the_window() -> None:
    w = World()
    pat = w.patient(new=True)
    for status in ("broken", "cancelled", "unscheduled", "planned"):
        w.appointment(pat, at(2), status=status)
    w.appointment(pat, at(14, 8))  # as-of + 14 days exactly: out
    assert w.run("FRM001") == []
    w.appointment(pat, at(13, 23, 59))
    assert len(w.run("FRM001")) == 1


def test_two_appointments_give_one_finding_on_the_first() -> None:
    w = World()
    pat = w.patient(new=True)
    w.appointment(pat, at(9))
    first = w.appointment(pat, at(2))
    (finding,) = w.run("FRM001")
    assert finding.appointment_id == first.source_id and finding.due == day(1)


@pytest.mark.parametrize("hour", [1, 9])  # before and after the 2 a.m. switch to daylight time
def test_appointment_on_the_daylight_saving_day(hour: int) -> None:
    w = World()
    w.appointment(w.patient(new=True), datetime(2026, 3, 8, hour, 30, tzinfo=TZ))
    (finding,) = w.run("FRM001")
    assert finding.due == date(2026, 3, 7)
    assert finding.data["appointment_date"] == "2026-03-08"
