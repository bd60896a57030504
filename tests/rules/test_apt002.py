"""APT002 broken-not-rescheduled."""

from __future__ import annotations

from builders import AS_OF, World, at, day


def _broke(w: World, days: int, status: str = "broken", **patient):  # type: ignore[no-untyped-def]
    pat = w.patient(**patient)
    w.appointment(pat, at(-400), status="complete")  # an established patient
    apt = w.appointment(pat, at(days, 10), status=status)
    return pat, apt


def test_fires_for_a_broken_appointment_not_rebooked() -> None:
    w = World()
    pat, apt = _broke(w, -5)
    (finding,) = w.run("APT002")
    assert (finding.subject_type, finding.subject_id, finding.patient_id) == ("patient", pat.source_id, pat.source_id)
    assert finding.appointment_id is None and finding.due == day(0)
    assert finding.data["appointment_id"] == apt.source_id and finding.data["status"] == "broken"
    assert "broken" in finding.title and "no appointment is booked" in finding.detail


def test_thirty_days_back_is_in_and_thirty_one_is_not() -> None:
    w = World()
    inside, _ = _broke(w, -30)
    _broke(w, -31)
    assert [f.patient_id for f in w.run("APT002")] == [inside.source_id]
    assert len(w.run("APT002", lookback_days=31)) == 2


def test_a_cancellation_of_an_appointment_still_ahead_counts() -> None:
    w = World()
    pat, _ = _broke(w, 6, status="cancelled")
    assert [f.patient_id for f in w.run("APT002")] == [pat.source_id]


def test_a_scheduled_appointment_of_a_day_that_is_over_was_missed() -> None:
    w = World()
    missed, _ = _broke(w, -1, status="scheduled")
    pat = w.patient()
    w.appointment(pat, at(-400), status="complete")
    w.appointment(pat, at(0, 7), status="scheduled")  # earlier today: may still be in the chair
    (finding,) = w.run("APT002")
    assert finding.patient_id == missed.source_id and "missed (still scheduled)" in finding.title


def test_an_appointment_booked_after_the_as_of_time_clears_it() -> None:
    w = World()
    pat, _ = _broke(w, -3)
    w.appointment(pat, AS_OF)  # starting exactly now is not after now
    assert len(w.run("APT002")) == 1
    w.appointment(pat, at(20))
    assert w.run("APT002") == []


def test_completed_and_unscheduled_list_appointments_do_not_count() -> None:
    w = World()
    _broke(w, -3, status="complete")
    _broke(w, -3, status="unscheduled")
    assert w.run("APT002") == []


def test_new_patients_are_left_to_the_referral_rules_unless_asked() -> None:
    w = World()
    pat = w.patient(new=True)
    w.appointment(pat, at(-4), status="broken")
    assert w.run("APT002") == []
    assert [f.patient_id for f in w.run("APT002", include_new_patients=True)] == [pat.source_id]


def test_patients_gone_are_skipped_and_one_task_per_patient() -> None:
    w = World()
    gone = w.patient(status="inactive")
    w.appointment(gone, at(-400), status="complete")
    w.appointment(gone, at(-3), status="broken")
    pat, _ = _broke(w, -10)
    w.appointment(pat, at(-2), status="broken")
    (finding,) = w.run("APT002")
    assert finding.patient_id == pat.source_id and len(finding.data["broken"]) == 2


def test_a_visit_completed_since_the_broken_one_means_it_was_rebooked() -> None:
    w = World()
    pat, _ = _broke(w, -20)
    w.appointment(pat, at(-10), status="complete")
    assert w.run("APT002") == []
    w.appointment(pat, at(-5), status="broken")  # broken again after that visit
    assert len(w.run("APT002")) == 1
