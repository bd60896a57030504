"""Planned and unscheduled-list appointments without a date (Open Dental: 0001-01-01) are
treatment waiting to be booked: every rule accepts them, none counts them as a booked visit."""

from __future__ import annotations

from builders import AS_OF, World, at, day

from pms_bridge.model import Appointment, Patient
from pms_bridge.rules.engine import evaluate


def _undated(w: World, patient: Patient, status: str) -> Appointment:
    return w.add(Appointment(source_id=w._id(), patient_id=patient.source_id, minutes=60, status=status))


def test_a_planned_appointment_is_not_a_booked_first_visit() -> None:
    w = World()
    pat = w.patient(new=True, first_contact=day(-5))
    ref = w.referral(pat, day(-5))
    planned = _undated(w, pat, "planned")
    w.procedure(pat, "D0150", appointment=planned)
    _undated(w, pat, "unscheduled")
    (finding,) = w.run("REF001")
    assert finding.subject_id == ref.source_id and finding.title == "Referred 5 days ago and no visit booked"
    w.appointment(pat, at(3))  # now it is on the book
    assert w.run("REF001") == []


def test_every_rule_runs_over_undated_appointments() -> None:
    w = World()
    for new in (True, False):
        pat = w.patient(new=new, first_contact=day(-20) if new else None)
        w.referral(pat, day(-20))
        w.coverage(pat)
        for status in ("planned", "unscheduled"):
            apt = _undated(w, pat, status)
            w.procedure(pat, "D2740", appointment=apt)
        w.appointment(pat, at(1))
    findings = evaluate(w.snapshot(), AS_OF)
    assert findings  # the dated appointments still make their findings
    assert all(f.appointment_id is None or w.snapshot().appointments[f.appointment_id].start is not None
               for f in findings)
