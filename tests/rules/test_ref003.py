"""REF003 referral-window-missed (and that REF001-REF003 never overlap)."""

from __future__ import annotations

import pytest
from builders import World, at, day

from pms_bridge.model import Patient, Referral


def _referred(w: World, days_ago: int) -> tuple[Patient, Referral]:
    pat = w.patient(new=True, first_contact=day(-days_ago))
    return pat, w.referral(pat, day(-days_ago))


def test_fires_when_never_booked() -> None:
    w = World()
    pat, ref = _referred(w, 15)
    (finding,) = w.run("REF003")
    assert (finding.subject_type, finding.subject_id, finding.patient_id) == ("referral", ref.source_id, pat.source_id)
    assert finding.appointment_id is None and finding.due == day(0) and finding.severity == "high"
    assert finding.title == "Referred 15 days ago and not yet seen" and "never booked" in finding.detail
    assert "Testpatient" not in finding.title + finding.detail


@pytest.mark.parametrize(("days_ago", "fires"), [(10, False), (11, True)])
def test_one_day_after_the_deadline(days_ago: int, fires: bool) -> None:
    w = World()
    _referred(w, days_ago)
    assert len(w.run("REF003")) == int(fires)


@pytest.mark.parametrize("status", ["broken", "cancelled", "scheduled"])  # scheduled in the past: never completed
def test_missed_appointment_is_the_tasks_appointment(status: str) -> None:
    w = World()
    pat, _ = _referred(w, 20)
    w.appointment(pat, at(-12), status="broken")
    missed = w.appointment(pat, at(-5), status=status)
    w.appointment(pat, at(-4), status="note")
    (finding,) = w.run("REF003")
    assert finding.appointment_id == missed.source_id and f"was {status}" in finding.detail


def test_first_contact_with_a_broken_visit() -> None:
    w = World()
    pat = w.patient(new=True, first_contact=day(-25))
    apt = w.appointment(pat, at(-18), status="broken")
    (finding,) = w.run("REF003")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("patient", pat.source_id, apt.source_id)
    assert finding.title == "First contact 25 days ago and not yet seen"


def test_arrived_late_or_booked_is_quiet() -> None:
    w = World()
    late, _ = _referred(w, 30)
    w.appointment(late, at(-3), status="complete")  # seen after the deadline: arrived
    rebooked, _ = _referred(w, 30)
    w.appointment(rebooked, at(-20), status="broken")
    w.appointment(rebooked, at(4))  # booked again: REF002's business
    assert w.run("REF003") == []


@pytest.mark.parametrize(("days_ago", "fires"), [(90, True), (91, False)])
def test_lookback_edge(days_ago: int, fires: bool) -> None:
    w = World()
    _referred(w, days_ago)
    assert len(w.run("REF003")) == int(fires)


def test_settings_override() -> None:
    w = World()
    _referred(w, 15)
    assert w.run("REF003", deadline_days=15) == []
    assert w.run("REF003", lookback_days=14) == []
    assert len(w.run("REF003", deadline_days=14)) == 1


def test_deceased_patient_is_skipped() -> None:
    w = World()
    pat = w.patient(new=True, first_contact=day(-20), status="deceased")
    w.referral(pat, day(-20))
    assert w.run("REF003") == []


@pytest.mark.parametrize("days_ago", range(16))
@pytest.mark.parametrize("visit", [None, ("broken", -1), ("scheduled", 3), ("scheduled", 30), ("complete", -1)])
def test_at_most_one_ref_task_per_case(days_ago: int, visit: tuple[str, int] | None) -> None:
    w = World()
    pat, _ = _referred(w, days_ago)
    if visit and (days_ago > 1 or visit[1] > 0):
        w.appointment(pat, at(visit[1]), status=visit[0])
    fired = [code for code in ("REF001", "REF002", "REF003") if w.run(code)]
    not_booked = ["REF001"] if days_ago <= 10 else ["REF003"]  # deadline: 10 days after the referral
    expected = {
        None: not_booked,
        ("broken", -1): not_booked,  # a broken visit is no visit
        ("scheduled", 3): ["REF002"] if 3 > 10 - days_ago else [],  # booked past the deadline
        ("scheduled", 30): ["REF002"],
        ("complete", -1): [] if days_ago > 1 else not_booked,  # arrived (the visit exists from 2 days ago on)
    }[visit]
    assert fired == expected
