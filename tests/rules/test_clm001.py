"""CLM001 claim-not-sent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from builders import World, day


def _done(w: World, days_ago: int, code: str = "D2391", pat=None, **cover):  # type: ignore[no-untyped-def]
    if pat is None:
        pat = w.patient()
        w.coverage(pat, **cover)
    proc = w.procedure(pat, code, status="complete", when=day(-days_ago), fee=Decimal("180.00"))
    return pat, proc


def test_fires_for_completed_work_on_no_claim() -> None:
    w = World()
    pat, proc = _done(w, 10)
    w.claim_line(proc)  # Open Dental's estimate: on no claim yet
    (finding,) = w.run("CLM001")
    assert (finding.subject_type, finding.subject_id) == ("patient", f"{pat.source_id}:{day(-10).isoformat()}")
    assert finding.patient_id == pat.source_id and finding.appointment_id is None and finding.severity == "high"
    assert finding.title.endswith("not billed ($180.00)") and "on no claim" in finding.detail
    assert "Example Dental Plan" in finding.detail and finding.data["procedures"] == [proc.source_id]


def test_three_to_180_days_back() -> None:
    w = World()
    for days_ago in (2, 3, 180, 181):
        _done(w, days_ago)
    assert sorted(f.data["procedure_date"] for f in w.run("CLM001")) == [day(-180).isoformat(), day(-3).isoformat()]
    assert len(w.run("CLM001", min_age_days=2, max_age_days=181)) == 4


def test_claim_states() -> None:
    w = World()
    answers = {}
    for status in ("unsent", "waiting", "hold", "sent", "received", "other"):
        pat, proc = _done(w, 10)
        w.claim_line(proc, w.claim(pat, status=status, service_date=day(-10)))
        answers[pat.source_id] = status
    found = {answers[f.patient_id] for f in w.run("CLM001")}
    assert found == {"unsent", "waiting"}  # on hold: excepted; sent, received, not mapped: billed


def test_a_claim_of_the_same_date_without_claim_lines_bills_the_visit() -> None:
    w = World()
    pat, _ = _done(w, 12)
    w.claim(pat, status="sent", service_date=day(-12))
    other, _ = _done(w, 12)
    w.claim(other, status="sent", service_date=day(-13))
    assert [f.patient_id for f in w.run("CLM001")] == [other.source_id]


def test_a_preauthorization_is_not_a_claim() -> None:
    w = World()
    pat, proc = _done(w, 8)
    w.claim_line(proc, w.claim(pat, status="received", claim_type="preauth", service_date=day(-8)))
    assert len(w.run("CLM001")) == 1


def test_a_claim_sent_and_a_secondary_unsent_is_billed() -> None:
    w = World()
    pat, proc = _done(w, 8)
    w.claim_line(proc, w.claim(pat, status="sent"))
    w.claim_line(proc, w.claim(pat, status="unsent", claim_type="secondary"))
    assert w.run("CLM001") == []


def test_coverage_must_be_in_force_on_the_procedure_date() -> None:
    w = World()
    _done(w, 20, term_date=day(-21))
    _done(w, 20, effective_date=day(-19))
    _done(w, 20, is_pending=True)
    w.procedure(w.patient(), "D2391", status="complete", when=day(-20))  # uninsured
    assert w.run("CLM001") == []
    _done(w, 20, term_date=day(-20))
    assert len(w.run("CLM001")) == 1


def test_capitation_and_history_lines_need_no_claim() -> None:
    w = World()
    _, proc = _done(w, 10)
    w.claim_line(proc, status="cap_complete")
    _, proc = _done(w, 10)
    w.claim_line(proc, status="history")
    assert w.run("CLM001") == []


def test_one_task_per_patient_and_date() -> None:
    w = World()
    pat, _ = _done(w, 10)
    _done(w, 10, code="D1110", pat=pat)
    _done(w, 40, pat=pat)
    w.procedure(pat, "D0120", status="planned", when=day(-10))
    found = w.run("CLM001")
    assert sorted(f.data["procedure_date"] for f in found) == [day(-40).isoformat(), day(-10).isoformat()]
    ten = next(f for f in found if f.data["procedure_date"] == day(-10).isoformat())
    assert ten.data["codes"] == ["D1110", "D2391"] and ten.data["fee_total"] == "360.00"
    assert date.fromisoformat(ten.subject_id.split(":")[1]) == day(-10)
