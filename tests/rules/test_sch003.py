"""SCH003 appointment-without-procedures."""

from __future__ import annotations

from builders import AS_OF, World, at, day


def test_fires_for_a_booked_appointment_with_no_procedures() -> None:
    w = World()
    pat = w.patient()
    apt = w.appointment(pat, at(3))
    (finding,) = w.run("SCH003")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("appointment", apt.source_id, apt.source_id)
    assert finding.patient_id == pat.source_id and finding.due == day(2)
    assert finding.severity == "medium"


def test_quiet_when_procedures_are_attached() -> None:
    w = World()
    pat = w.patient()
    w.procedure(pat, "D1110", w.appointment(pat, at(3)))
    assert w.run("SCH003") == []


def test_window_edges() -> None:
    w = World()
    pat = w.patient()
    w.appointment(pat, AS_OF)  # starts exactly now: in
    w.appointment(pat, AS_OF.replace(minute=0) + (at(14, 8) - at(0, 8)))  # exactly 14 days later: out
    w.appointment(pat, at(13, 23, 59))  # last minute of day 13: in
    assert len(w.run("SCH003")) == 2
    assert len(w.run("SCH003", window_days=13)) == 1


def test_not_scheduled_appointments_are_ignored() -> None:
    w = World()
    pat = w.patient()
    for status in ("broken", "complete", "unscheduled", "planned", "note", "cancelled"):
        w.appointment(pat, at(2), status=status)
    w.appointment(pat, at(-1))  # yesterday
    assert w.run("SCH003") == []


def test_exempt_types_setting() -> None:
    w = World()
    pat = w.patient()
    w.appointment(pat, at(2), appointment_type="consult")
    w.appointment(pat, at(3), appointment_type="Emergency")
    assert [f.data["appointment_type"] for f in w.run("SCH003")] == ["Emergency"]
    assert w.run("SCH003", exempt_types=["Consult", "Emergency"]) == []


def test_deleted_procedures_do_not_count() -> None:
    w = World()
    pat = w.patient()
    w.procedure(pat, "D1110", w.appointment(pat, at(3)), status="deleted")
    assert len(w.run("SCH003")) == 1
