"""APT001 appointment-unconfirmed."""

from __future__ import annotations

from datetime import datetime

import pytest
from builders import AS_OF, TZ, World, at, day


def _booked(w: World, start: datetime, confirmed: bool | None = False, label: str | None = "Left Msg", **kw):  # type: ignore[no-untyped-def]
    return w.appointment(w.patient(), start, confirmed=confirmed, confirmation=label, **kw)


def test_fires_for_an_unconfirmed_appointment_tomorrow() -> None:
    w = World()
    apt = _booked(w, at(1, 10))
    (finding,) = w.run("APT001")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("appointment", apt.source_id,
                                                                                   apt.source_id)
    assert finding.title == "Appointment not confirmed" and "'Left Msg'" in finding.detail
    assert finding.due == day(0) and finding.severity == "medium"
    assert finding.data["confirm_by"] == day(2).isoformat()


def test_confirmed_appointments_and_other_statuses_do_not_fire() -> None:
    w = World()
    _booked(w, at(1, 10), confirmed=True, label="Appointment Confirmed")
    _booked(w, at(1, 11), status="broken")
    _booked(w, at(1, 12), status="complete")
    assert w.run("APT001") == []


def test_no_confirmation_status_is_not_confirmed() -> None:
    w = World()
    _booked(w, at(1, 10), confirmed=None, label=None)
    (finding,) = w.run("APT001")
    assert "no confirmation status" in finding.detail and finding.data["confirmation"] is None


def test_from_the_as_of_time_to_the_end_of_the_second_business_day() -> None:
    """Monday 08:00: Monday from 08:00 through Wednesday 23:59 are in, Thursday is not."""
    w = World()
    before = _booked(w, at(0, 7, 59))
    now = _booked(w, at(0, 8, 0))
    last = _booked(w, at(2, 23, 59))
    after = _booked(w, at(3, 0, 0))
    assert {f.appointment_id for f in w.run("APT001")} == {now.source_id, last.source_id}
    assert before.source_id not in {f.appointment_id for f in w.run("APT001")}
    assert after.source_id not in {f.appointment_id for f in w.run("APT001")}


@pytest.mark.parametrize(("as_of_day", "last_in", "first_out"), [
    (4, 8, 9),   # Friday: Monday and Tuesday are the two business days; the weekend between counts too
    (5, 8, 9),   # Saturday: Monday and Tuesday
    (6, 8, 9),   # Sunday: Monday and Tuesday
    (3, 7, 8),   # Thursday: Friday and Monday
])
def test_weekends_are_not_business_days(as_of_day: int, last_in: int, first_out: int) -> None:
    w = World()
    inside = _booked(w, at(last_in, 16))
    weekend = _booked(w, at(as_of_day + 1, 9)) if as_of_day in (3, 4) else None
    outside = _booked(w, at(first_out, 9))
    found = {f.appointment_id for f in w.run("APT001", as_of=datetime.combine(day(as_of_day), AS_OF.timetz()))}
    assert inside.source_id in found and outside.source_id not in found
    if weekend is not None:
        assert weekend.source_id in found


def test_business_days_setting() -> None:
    w = World()
    today = _booked(w, at(0, 15))
    tomorrow = _booked(w, at(1, 9))
    assert [f.appointment_id for f in w.run("APT001", business_days=0)] == [today.source_id]
    assert {f.appointment_id for f in w.run("APT001", business_days=1)} == {today.source_id, tomorrow.source_id}


def test_the_working_set_window_holds_every_business_day_span() -> None:
    from pms_bridge.rules.catalog.appointments import APT001Settings
    from pms_bridge.rules.dates import business_days_after

    for business in range(11):
        settings = APT001Settings(business_days=business)
        for weekday in range(7):
            start = day(weekday)
            assert (business_days_after(start, business) - start).days + 1 <= settings.window_days, (business, weekday)


def test_titles_carry_no_names() -> None:
    w = World()
    _booked(w, datetime(2026, 3, 3, 9, tzinfo=TZ))
    (finding,) = w.run("APT001")
    assert "Testpatient" not in finding.title + finding.detail
