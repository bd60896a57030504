"""REF002 first-visit-beyond-deadline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from builders import TZ, World, at, day


def _case(w: World, start: date, visit: datetime, referred: bool = True, **patient: Any):  # type: ignore[no-untyped-def]
    pat = w.patient(new=True, first_contact=start, **patient)
    ref = w.referral(pat, start) if referred else None
    return pat, ref, w.appointment(pat, visit)


def test_fires_for_a_first_visit_booked_past_the_deadline() -> None:
    w = World()
    pat, ref, apt = _case(w, day(-2), at(9))
    (finding,) = w.run("REF002")
    assert (finding.subject_type, finding.subject_id) == ("referral", ref.source_id)
    assert (finding.patient_id, finding.appointment_id) == (pat.source_id, apt.source_id)
    assert finding.title == "First visit booked 11 days after the referral (deadline 10)"
    assert finding.due == day(0) and finding.severity == "medium"
    assert "Testpatient" not in finding.title + finding.detail


@pytest.mark.parametrize(("visit_day", "fires"), [(8, False), (9, True)])
def test_booked_on_the_deadline_or_a_day_later(visit_day: int, fires: bool) -> None:
    w = World()
    _case(w, day(-2), at(visit_day, 23, 30))
    assert len(w.run("REF002")) == int(fires)


def test_first_contact() -> None:
    w = World()
    pat, _, _ = _case(w, day(-3), at(10), referred=False)
    (finding,) = w.run("REF002")
    assert (finding.subject_type, finding.subject_id) == ("patient", pat.source_id)
    assert finding.title == "First visit booked 13 days after first contact (deadline 10)"


@pytest.mark.parametrize(("visit", "fires"), [((11, 9), False), ((12, 0, 30), True)])
def test_daylight_saving_change(visit: tuple[int, ...], fires: bool) -> None:
    # DST starts 2026-03-08 in Chicago: from 2026-03-01 the deadline is 2026-03-11, whatever the clock does.
    w = World()
    _case(w, date(2026, 3, 1), datetime(2026, 3, *visit, tzinfo=TZ))
    assert len(w.run("REF002")) == int(fires)


def test_the_first_booked_visit_decides() -> None:
    w = World()
    pat, _, _ = _case(w, day(-2), at(20))
    w.appointment(pat, at(5))  # in time
    assert w.run("REF002") == []
    w2 = World()
    pat, _, late = _case(w2, day(-2), at(12))
    w2.appointment(pat, at(20))
    w2.appointment(pat, at(3), status="broken")  # not a booking
    assert [f.appointment_id for f in w2.run("REF002")] == [late.source_id]


def test_arrived_patients_are_quiet() -> None:
    w = World()
    pat, _, _ = _case(w, day(-5), at(20))
    w.appointment(pat, at(-1), status="complete")
    assert w.run("REF002") == []


def test_not_booked_or_gone_is_quiet() -> None:
    w = World()
    w.patient(new=True, first_contact=day(-3))  # nothing booked: REF001, not REF002
    _case(w, day(-3), at(20), status="archived")
    _case(w, day(-100), at(20))  # outside the lookback
    assert w.run("REF002") == []


def test_settings_override() -> None:
    w = World()
    _case(w, day(-2), at(12))
    assert w.run("REF002", deadline_days=14) == []
    (finding,) = w.run("REF002", deadline_days=5)
    assert finding.title == "First visit booked 14 days after the referral (deadline 5)"
