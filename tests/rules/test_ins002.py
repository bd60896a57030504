"""INS002 insurance-not-verified."""

from __future__ import annotations

from builders import World, at, day

from pms_bridge.model import Verification


def _covered(w: World, verified_days_ago: int | None, apt_day: int = 2):  # type: ignore[no-untyped-def]
    pat = w.patient()
    cov = w.coverage(pat)
    if verified_days_ago is not None:
        w.verification(cov, day(-verified_days_ago))
    apt = w.appointment(pat, at(apt_day))
    return pat, cov, apt


def test_fires_for_a_stale_verification() -> None:
    w = World()
    pat, cov, apt = _covered(w, 31)
    (finding,) = w.run("INS002")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("coverage", cov.source_id, apt.source_id)
    assert finding.patient_id == pat.source_id and finding.due == day(1) and finding.severity == "medium"
    assert finding.title == "Eligibility not verified in 30 days"
    assert f"last verified {day(-31).isoformat()}" in finding.detail
    assert "SUB123" not in finding.title + finding.detail and "Testpatient" not in finding.title + finding.detail


def test_a_verification_exactly_30_days_old_counts() -> None:
    w = World()
    _covered(w, 30)
    assert w.run("INS002") == []


def test_never_verified_and_undated_verifications() -> None:
    w = World()
    _, cov, _ = _covered(w, None)
    w.verification(cov, None)  # no date: does not count
    (finding,) = w.run("INS002")
    assert "never verified" in finding.detail and finding.data["last_verified"] is None


def test_plan_benefit_checks_do_not_verify_the_patient() -> None:
    w = World()
    _, cov, _ = _covered(w, 60)
    w.verification(cov, day(-1), kind="benefits")
    # even when the source ties the benefit check to the coverage itself
    w.add(Verification(source_id="B1", kind="benefits", coverage_id=cov.source_id, verified_on=day(-1)))
    assert len(w.run("INS002")) == 1


def test_days_ahead_edge() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat)
    w.appointment(pat, at(3, 8))  # as-of + 3 days exactly: outside
    assert w.run("INS002") == []
    inside = w.appointment(pat, at(3, 7, 59))
    assert [f.appointment_id for f in w.run("INS002")] == [inside.source_id]


def test_settings_override() -> None:
    w = World()
    _covered(w, 45, apt_day=5)
    assert w.run("INS002") == []
    assert len(w.run("INS002", days_ahead=6)) == 1
    assert w.run("INS002", days_ahead=6, max_age_days=45) == []


def test_each_coverage_on_its_own_and_pending_ignored() -> None:
    w = World()
    pat, _, apt = _covered(w, 2)
    secondary = w.coverage(pat, ordinal=2)
    w.verification(secondary, day(-90))
    w.coverage(pat, ordinal=3, is_pending=True)  # never verified, but pending
    w.appointment(pat, at(2, 15))  # a second visit: the finding is about the first
    (finding,) = w.run("INS002")
    assert finding.subject_id == secondary.source_id and finding.appointment_id == apt.source_id


def test_no_coverage_no_appointment_and_not_scheduled_appointments() -> None:
    w = World()
    w.appointment(w.patient(), at(1))  # no coverage
    w.coverage(w.patient())  # coverage, no appointment
    pat = w.patient()
    w.coverage(pat)
    for status in ("broken", "cancelled", "complete", "planned"):
        w.appointment(pat, at(1), status=status)
    assert w.run("INS002") == []


def test_a_status_nobody_mapped_never_counts_as_verified() -> None:
    w = World()
    _, cov, _ = _covered(w, 45)
    w.verification(cov, day(-1), result="unknown", status_label="Blue folder")
    (finding,) = w.run("INS002")
    assert finding.data["last_verified"] == day(-45).isoformat()
    assert finding.data["last_attempt"] == day(-1).isoformat()
    assert "status 'Blue folder', which no setting maps (mapping.maps.verify_result)" in finding.detail


def test_a_work_queue_status_keeps_the_last_verification_date() -> None:
    """Open Dental's Attempted / See Notes / ServiceError mark a re-check in progress; the date is the last
    verification's."""
    w = World()
    _, cov, _ = _covered(w, None)
    w.verification(cov, day(-10), result="pending", status_label="Attempted")
    assert w.run("INS002") == []
    w2 = World()
    _, cov2, _ = _covered(w2, None)
    w2.verification(cov2, day(-40), result="pending", status_label="Attempted")
    (finding,) = w2.run("INS002")
    assert finding.data["last_verified"] == day(-40).isoformat() and "no setting maps" not in finding.detail


def test_an_inactive_answer_is_an_answer() -> None:
    w = World()
    _, cov, _ = _covered(w, None)
    w.verification(cov, day(-1), result="inactive")
    assert w.run("INS002") == []  # verified recently; INS001 reports the inactive coverage
    assert len(w.run("INS001")) == 1
