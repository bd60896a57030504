"""REF004 referral-out-not-completed."""

from __future__ import annotations

import pytest
from builders import World, at, day


def test_fires_for_an_unanswered_referral_out() -> None:
    w = World()
    pat = w.patient()
    ref = w.referral(pat, day(-40), direction="out")
    w.appointment(pat, at(3))
    (finding,) = w.run("REF004")
    assert (finding.subject_type, finding.subject_id, finding.patient_id) == ("referral", ref.source_id, pat.source_id)
    assert finding.appointment_id is None and finding.due == day(0) and finding.severity == "medium"
    assert finding.title == "Referred out 40 days ago and no answer recorded"
    assert "Testpatient" not in finding.title + finding.detail


@pytest.mark.parametrize(("days_ago", "fires"), [(29, False), (30, True), (365, True), (366, False)])
def test_age_edges(days_ago: int, fires: bool) -> None:
    w = World()
    w.referral(w.patient(), day(-days_ago), direction="out")
    assert len(w.run("REF004")) == int(fires)


@pytest.mark.parametrize("status", ["scheduled", "consulted", "in_treatment", "complete", "declined"])
def test_any_answer_clears_it(status: str) -> None:
    w = World()
    w.referral(w.patient(), day(-40), direction="out", status=status)
    assert w.run("REF004") == []


def test_data_quality() -> None:
    w = World()
    w.referral(w.patient(), None, direction="out")  # type: ignore[arg-type]
    w.referral(w.patient(new=True), day(-40))  # a referral in
    w.referral(w.patient(status="deceased"), day(-40), direction="out")
    w.referral(w.patient(), day(5), direction="out")  # dated in the future
    assert w.run("REF004") == []


def test_settings_override() -> None:
    w = World()
    w.referral(w.patient(), day(-40), direction="out")
    assert w.run("REF004", after_days=41) == []
    assert w.run("REF004", max_age_days=39) == []
    assert len(w.run("REF004", after_days=40, max_age_days=40)) == 1
