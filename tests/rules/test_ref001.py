"""REF001 new-patient-not-scheduled (and what the REF rules share: cases, lookback, statuses)."""

from __future__ import annotations

import pytest
from builders import AS_OF, World, at, day

from pms_bridge.model import Patient, Referral
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def _referred(w: World, days_ago: int, **patient: object) -> tuple[Patient, Referral]:
    pat = w.patient(new=True, first_contact=day(-days_ago), **patient)
    return pat, w.referral(pat, day(-days_ago))


def test_fires_for_a_referral_with_nothing_booked() -> None:
    w = World()
    pat, ref = _referred(w, 5)
    (finding,) = w.run("REF001")
    assert (finding.subject_type, finding.subject_id, finding.patient_id) == ("referral", ref.source_id, pat.source_id)
    assert finding.appointment_id is None and finding.due == day(0)
    assert finding.title == "Referred 5 days ago and no visit booked"
    assert f"overdue since {day(-3).isoformat()}" in finding.detail and finding.severity == "high"
    assert "Testpatient" not in finding.title + finding.detail


def test_before_the_booking_is_due() -> None:
    w = World()
    _referred(w, 1)
    (finding,) = w.run("REF001")
    assert finding.due == day(1) and finding.severity == "medium"
    assert f"book by {day(1).isoformat()}" in finding.detail and "overdue" not in finding.detail


@pytest.mark.parametrize(("days_ago", "severity"), [(2, "medium"), (3, "high")])
def test_overdue_one_day_after_the_due_date(days_ago: int, severity: str) -> None:
    w = World()
    _referred(w, days_ago)
    assert [f.severity for f in w.run("REF001")] == [severity]


@pytest.mark.parametrize(("days_ago", "fires"), [(10, True), (11, False)])
def test_until_the_deadline_then_it_is_ref003(days_ago: int, fires: bool) -> None:
    w = World()
    _referred(w, days_ago)
    assert len(w.run("REF001")) == int(fires)


def test_first_contact_without_referral() -> None:
    w = World()
    pat = w.patient(new=True, first_contact=day(-3))
    (finding,) = w.run("REF001")
    assert (finding.subject_type, finding.subject_id) == ("patient", pat.source_id)
    assert finding.title == "First contact 3 days ago and no visit booked"


def test_a_referred_first_contact_is_one_case() -> None:
    w = World()
    _, ref = _referred(w, 3)
    assert [f.subject_id for f in w.run("REF001")] == [ref.source_id]


def test_established_patients_are_not_first_contacts() -> None:
    w = World()
    w.patient(first_contact=day(-3))  # first visit years ago
    pat = w.patient(new=True, first_contact=day(-8))
    w.appointment(pat, at(-4), status="complete")  # came in already
    assert w.run("REF001") == []


def test_booked_or_arrived_is_quiet() -> None:
    w = World()
    booked, _ = _referred(w, 3)
    w.appointment(booked, at(30))  # booked (any future date; REF002 judges the date)
    arrived, _ = _referred(w, 4)
    w.appointment(arrived, at(-2), status="complete")
    assert w.run("REF001") == []


def test_broken_cancelled_and_old_appointments_are_not_bookings() -> None:
    w = World()
    pat, _ = _referred(w, 4)
    w.appointment(pat, at(-2), status="broken")
    w.appointment(pat, at(3), status="cancelled")
    w.appointment(pat, at(3), status="unscheduled")
    w.appointment(pat, at(-6), status="complete")  # before the referral: an earlier visit does not count
    assert len(w.run("REF001")) == 1


def test_a_visit_earlier_today_that_is_not_completed_is_no_booking() -> None:
    w = World()
    pat, _ = _referred(w, 1)
    w.appointment(pat, AS_OF.replace(hour=7))  # still "scheduled" an hour ago
    assert len(w.run("REF001")) == 1


@pytest.mark.parametrize("status", ["deleted", "deceased", "archived", "inactive", "non_patient"])
def test_patients_who_will_not_come_are_skipped(status: str) -> None:
    w = World()
    _referred(w, 3, status=status)
    w.patient(new=True, first_contact=day(-3), status=status)
    assert w.run("REF001") == []


def test_prospective_patients_count() -> None:
    w = World()
    _referred(w, 3, status="prospective")
    assert len(w.run("REF001")) == 1


def test_data_quality() -> None:
    w = World()
    undated = w.patient()  # established, referred in with no date
    w.referral(undated, None)  # type: ignore[arg-type]
    w.patient(new=True)  # new, but no first-contact date and no appointments at all
    w.referral(w.patient(), day(-3), direction="out")
    w.referral(w.patient(new=True, first_contact=day(-400)), day(2))  # a referral dated in the future
    w.referral(w.patient(first_contact=day(-1)), day(-1))  # an established patient referred in: a case
    assert [f.title for f in w.run("REF001")] == ["Referred 1 day ago and no visit booked"]


def test_an_undated_referral_leaves_the_first_contact() -> None:
    w = World()
    pat = w.patient(new=True, first_contact=day(-2))
    w.referral(pat, None)  # type: ignore[arg-type]
    assert [f.subject_type for f in w.run("REF001")] == ["patient"]


def test_settings_override() -> None:
    w = World()
    _referred(w, 5)
    assert [f.due for f in w.run("REF001", due_days=7)] == [day(2)]
    assert [f.severity for f in w.run("REF001", due_days=7)] == ["medium"]
    assert w.run("REF001", lookback_days=4) == []
    assert len(w.run("REF001", lookback_days=5)) == 1
    assert w.run("REF001", deadline_days=4) == []


def test_config_error_names_the_key() -> None:
    with pytest.raises(RuleConfigError, match=r"rules\.REF001\.deadline_days"):
        rule_settings({"REF001": {"deadline_days": -1}})
    with pytest.raises(RuleConfigError, match=r"rules\.REF001\.lookback"):
        rule_settings({"new-patient-not-scheduled": {"lookback": 30}})
