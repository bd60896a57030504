"""INS001 insurance-inactive."""

from __future__ import annotations

from datetime import date

import pytest
from builders import AS_OF, World, at, day


def test_fires_for_a_coverage_that_ended_before_the_appointment() -> None:
    w = World()
    pat = w.patient()
    cov = w.coverage(pat, term_date=day(-2))
    apt = w.appointment(pat, at(5))
    (finding,) = w.run("INS001")
    assert (finding.subject_type, finding.subject_id) == ("coverage", cov.source_id)
    assert (finding.patient_id, finding.appointment_id) == (pat.source_id, apt.source_id)
    assert finding.title == f"Coverage ended {day(-2).isoformat()}"
    assert finding.due == day(4) and finding.severity == "high"
    assert "Example Dental Plan" in finding.detail
    assert "SUB123" not in finding.title + finding.detail and "Testpatient" not in finding.title + finding.detail


@pytest.mark.parametrize(
    ("dates", "title"),
    [
        ({"term_date": day(5)}, None),  # ends on the appointment day: still covers it
        ({"term_date": day(4)}, f"Coverage ended {day(4).isoformat()}"),
        ({"effective_date": day(5)}, None),  # starts on the appointment day
        ({"effective_date": day(6)}, f"Coverage starts {day(6).isoformat()}"),
    ],
)
def test_coverage_dates_one_day_either_side(dates: dict[str, date], title: str | None) -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, **dates)
    w.appointment(pat, at(5, 17))
    assert [f.title for f in w.run("INS001")] == ([title] if title else [])


def test_first_appointment_the_coverage_does_not_cover() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, term_date=day(6))
    w.appointment(pat, at(3))  # still covered
    later = w.appointment(pat, at(8))
    w.appointment(pat, at(10))
    (finding,) = w.run("INS001")
    assert finding.appointment_id == later.source_id and finding.due == day(7)


def test_latest_eligibility_check_says_inactive() -> None:
    w = World()
    pat = w.patient()
    cov = w.coverage(pat)
    w.verification(cov, day(-40), result="verified")
    w.verification(cov, day(-3), result="inactive")
    w.verification(cov, None, result="verified")  # undated: ignored
    first = w.appointment(pat, at(2))
    w.appointment(pat, at(9))
    (finding,) = w.run("INS001")
    assert finding.title == "Latest eligibility check says inactive"
    assert finding.appointment_id == first.source_id and finding.data["verified_on"] == day(-3).isoformat()


def test_an_older_inactive_result_is_superseded() -> None:
    w = World()
    pat = w.patient()
    cov = w.coverage(pat)
    w.verification(cov, day(-10), result="inactive")
    w.verification(cov, day(-2), result="verified")
    w.verification(cov, None, result="inactive")  # undated: ignored
    w.verification(cov, day(-1), result="inactive", kind="benefits")  # a plan's benefits, not the patient
    w.appointment(pat, at(2))
    assert w.run("INS001") == []


def test_each_coverage_on_its_own() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, ordinal=1)
    secondary = w.coverage(pat, ordinal=2, term_date=day(-30), carrier_name="Second Carrier")
    w.appointment(pat, at(4))
    (finding,) = w.run("INS001")
    assert finding.subject_id == secondary.source_id
    assert "Secondary Second Carrier" in finding.detail


def test_pending_coverages_are_ignored() -> None:
    w = World()
    pat = w.patient()
    cov = w.coverage(pat, term_date=day(-30), is_pending=True)
    w.verification(cov, day(-1), result="inactive")
    w.appointment(pat, at(4))
    assert w.run("INS001") == []


def test_no_coverage_or_no_appointment_is_quiet() -> None:
    w = World()
    uninsured = w.patient()
    w.appointment(uninsured, at(2))
    idle = w.patient()
    w.coverage(idle, term_date=day(-30))  # ended, but no appointment at all
    assert w.run("INS001") == []


def test_window_and_appointment_status() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, term_date=day(-30))
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        w.appointment(pat, at(3), status=status)
    w.appointment(pat, at(-1))  # yesterday
    w.appointment(pat, AS_OF + (at(14, 8) - at(0, 8)))  # as-of + 14 days exactly: outside
    assert w.run("INS001") == []
    assert len(w.run("INS001", window_days=15)) == 1


def test_appointment_today_is_due_today() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, term_date=day(-1))
    w.appointment(pat, at(0, 15))
    (finding,) = w.run("INS001")
    assert finding.due == day(0)
