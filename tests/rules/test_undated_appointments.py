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
    expected: set[tuple[str, str, str]] = set()
    for new in (True, False):
        pat = w.patient(new=new, first_contact=day(-20) if new else None)
        w.referral(pat, day(-20))
        w.coverage(pat)
        for status in ("planned", "unscheduled"):
            apt = _undated(w, pat, status)
            w.procedure(pat, "D2740", appointment=apt)
        dated = w.appointment(pat, at(1)).source_id
        # The dated visit makes its findings; the crowns on undated appointments make none (no XR002, no PA001),
        # and the undated appointments are no first visit (REF002: booked 21 days after the referral).
        rules = ["APT001", "FRM002", "INS002", "REF002", "SCH003", "XR001"] + (["FRM001"] if new else [])
        expected |= {(rule, pat.source_id, dated) for rule in rules}
    findings = evaluate(w.snapshot(), AS_OF)
    assert {(f.rule, f.patient_id, f.appointment_id) for f in findings} == expected
