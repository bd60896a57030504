"""XR001 radiographs-missing."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from builders import TZ, World, at, day


def test_fires_for_a_new_patient_with_no_radiographs() -> None:
    w = World()
    pat = w.patient(new=True)
    apt = w.appointment(pat, at(3))
    (finding,) = w.run("XR001")
    assert finding.subject_type == "patient"
    assert (finding.subject_id, finding.appointment_id) == (pat.source_id, apt.source_id)
    assert finding.title == "No x-rays on file for a new patient"
    assert finding.due == day(2) and finding.severity == "high"
    assert finding.data["newest_radiograph"] is None and finding.data["referred"] is False
    assert "Testpatient" not in finding.title + finding.detail


def test_fires_for_a_referred_established_patient_with_old_radiographs() -> None:
    w = World()
    pat = w.patient()
    w.referral(pat, day(-10))
    w.radiograph(pat, date(2024, 6, 1), "fmx")
    w.appointment(pat, at(3))
    (finding,) = w.run("XR001")
    assert finding.title == "No x-rays on file for a referred patient"
    assert finding.data["newest_radiograph"] == "2024-06-01"
    assert "2024-06-01" in finding.detail


def test_established_patient_not_referred_is_not_checked() -> None:
    w = World()
    w.appointment(w.patient(), at(3))
    pat = w.patient()
    w.referral(pat, day(-10), direction="out")
    w.appointment(pat, at(3))
    assert w.run("XR001") == []


def test_a_completed_visit_makes_the_patient_established() -> None:
    w = World()
    pat = w.patient(new=True)
    w.appointment(pat, at(-1), status="complete")
    w.appointment(pat, at(3))
    assert w.run("XR001") == []


@pytest.mark.parametrize(("taken", "fires"), [(date(2025, 3, 7), False), (date(2025, 3, 6), True)])
def test_twelve_month_edge_is_counted_from_the_appointment_date(taken: date, fires: bool) -> None:
    w = World()
    pat = w.patient(new=True)
    w.radiograph(pat, taken)
    w.appointment(pat, at(5))  # 2026-03-07
    assert len(w.run("XR001")) == fires


@pytest.mark.parametrize(("days_ago", "fires"), [(90, True), (91, False), (0, True), (-1, False)])
def test_referral_lookback_edge(days_ago: int, fires: bool) -> None:
    w = World()
    pat = w.patient()
    w.referral(pat, day(-days_ago))
    w.appointment(pat, at(3))
    assert len(w.run("XR001")) == fires


def test_settings_override() -> None:
    w = World()
    pat = w.patient(new=True)
    w.radiograph(pat, date(2024, 9, 1))
    w.appointment(pat, at(3))
    referred = w.patient()
    w.referral(referred, day(-60))
    w.appointment(referred, at(4))
    assert len(w.run("XR001")) == 2
    assert [f.patient_id for f in w.run("XR001", months=24)] == [referred.source_id]
    assert [f.patient_id for f in w.run("XR001", lookback_days=30)] == [pat.source_id]
    assert w.run("XR001", window_days=3) == []


def test_what_counts_as_a_radiograph_on_file() -> None:
    w = World()
    kindless, procedure, deleted, undated, planned, none = (w.patient(new=True) for _ in range(6))
    w.radiograph(kindless, day(-30), kind=None)  # no kind: counts as "other"
    w.procedure(procedure, "D0330", status="complete", when=day(-30))
    w.radiograph(deleted, day(-30), is_deleted=True)
    w.radiograph(undated, None)
    w.procedure(planned, "D0210", status="planned", when=day(-30))
    for pat in (kindless, procedure, deleted, undated, planned, none):
        w.appointment(pat, at(3))
    found = {f.patient_id for f in w.run("XR001")}
    assert found == {deleted.source_id, undated.source_id, planned.source_id, none.source_id}


def test_only_scheduled_appointments_in_the_window() -> None:
    w = World()
    pat = w.patient(new=True)
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        w.appointment(pat, at(2), status=status)
    w.appointment(pat, at(14, 8))  # as-of + 14 days exactly: out
    w.appointment(pat, at(-1, 9), status="broken")
    assert w.run("XR001") == []
    w.appointment(pat, at(13, 23, 59))
    assert len(w.run("XR001")) == 1


def test_two_appointments_give_one_finding_on_the_first() -> None:
    w = World()
    pat = w.patient(new=True)
    w.appointment(pat, at(9))
    first = w.appointment(pat, at(2))
    (finding,) = w.run("XR001")
    assert finding.appointment_id == first.source_id and finding.due == day(1)


def test_recency_is_judged_at_the_first_appointment() -> None:
    w = World()
    pat = w.patient(new=True)
    w.radiograph(pat, date(2025, 3, 4))  # 12 months before day 2 (2026-03-04), 12 months + 7 days before day 9
    w.appointment(pat, at(2))
    w.appointment(pat, at(9))
    assert w.run("XR001") == []


@pytest.mark.parametrize("hour", [1, 9])  # before and after the 2 a.m. switch to daylight time
@pytest.mark.parametrize(("taken", "fires"), [(date(2025, 3, 8), False), (date(2025, 3, 7), True)])
def test_appointment_on_the_daylight_saving_day(hour: int, taken: date, fires: bool) -> None:
    w = World()
    pat = w.patient(new=True)
    w.radiograph(pat, taken)
    w.appointment(pat, datetime(2026, 3, 8, hour, 30, tzinfo=TZ))
    found = w.run("XR001")
    assert len(found) == fires
    assert all(f.due == date(2026, 3, 7) for f in found)


def test_outside_films_charted_as_existing_count_by_their_procedure_date() -> None:
    """EO (another office) and EC (this office, earlier) radiograph procedures are films on file."""
    w = World()
    other_office, earlier_here, old, undated, not_a_film = (w.patient(new=True) for _ in range(5))
    w.procedure(other_office, "D0210", status="existing_other", when=day(-90))
    w.procedure(earlier_here, "D0274", status="existing_current", when=day(-200))
    w.procedure(old, "D0330", status="existing_other", when=day(-400))  # older than 12 months
    w.procedure(undated, "D0210", status="existing_other", when=None)  # no date: cannot count
    w.procedure(not_a_film, "D2740", status="existing_other", when=day(-30))  # a crown, not a radiograph
    for pat in (other_office, earlier_here, old, undated, not_a_film):
        w.appointment(pat, at(3))
    found = {f.patient_id: f for f in w.run("XR001")}
    assert set(found) == {old.source_id, undated.source_id, not_a_film.source_id}
    assert found[old.source_id].data["newest_radiograph"] == day(-400).isoformat()
    films = w.snapshot().radiographs_of(other_office.source_id)
    assert [(f.taken, f.kind) for f in films] == [(day(-90), "fmx")]
