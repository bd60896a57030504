"""FRM002 health-history-outdated."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from builders import TZ, World, at, day

from pms_bridge.model import Form
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def test_fires_for_an_old_health_history() -> None:
    w = World()
    pat = w.patient()
    w.form(pat, "health_history", date(2024, 12, 30))
    apt = w.appointment(pat, at(3))
    (finding,) = w.run("FRM002")
    assert finding.subject_type == "patient"
    assert (finding.subject_id, finding.appointment_id) == (pat.source_id, apt.source_id)
    assert finding.title == "Health history older than 12 months"
    assert finding.due == day(2) and finding.severity == "medium"
    assert finding.data["last_completed"] == "2024-12-30" and finding.data["since"] == "2025-03-05"
    assert "Testpatient" not in finding.title + finding.detail


def test_new_and_established_patients_without_any_forms() -> None:
    w = World()
    for pat in (w.patient(), w.patient(new=True)):
        w.appointment(pat, at(3))
    found = w.run("FRM002")
    assert [f.title for f in found] == ["No health history on file"] * 2
    assert all(f.data["last_completed"] is None for f in found)


@pytest.mark.parametrize(("completed", "fires"), [
    (datetime(2025, 3, 7, 0, 30, tzinfo=TZ), False),  # exactly 12 months before 2026-03-07
    (datetime(2025, 3, 6, 23, 30, tzinfo=TZ), True),  # one day older (local date)
    (datetime(2025, 3, 7, 5, 30, tzinfo=UTC), True),  # 2025-03-06 23:30 in Chicago, stored in UTC
    (datetime(2025, 3, 7, 6, 30, tzinfo=UTC), False),  # 2025-03-07 00:30 in Chicago
])
def test_twelve_month_edge_in_local_dates(completed: datetime, fires: bool) -> None:
    w = World()
    pat = w.patient()
    w.add(Form(source_id="hh", patient_id=pat.source_id, kind="health_history", completed_at=completed))
    w.appointment(pat, at(5))  # 2026-03-07
    assert len(w.run("FRM002")) == fires


def test_settings_override() -> None:
    w = World()
    pat = w.patient()
    w.form(pat, "health_history", date(2024, 9, 1))
    w.appointment(pat, at(5))
    assert len(w.run("FRM002")) == 1
    assert w.run("FRM002", months=24) == []
    assert w.run("FRM002", window_days=5) == []
    with pytest.raises(RuleConfigError, match=r"^rules\.FRM002\.months:"):
        rule_settings({"health-history-outdated": {"months": 0}})


def test_forms_that_do_not_count() -> None:
    w = World()
    pat = w.patient()
    w.form(pat, "health_history", day(-20), is_deleted=True)
    w.add(Form(source_id="open-1", patient_id=pat.source_id, kind="health_history"))  # started, not completed
    for kind in ("registration", "consent", "other"):
        w.form(pat, kind, day(-20))
    w.appointment(pat, at(3))
    (finding,) = w.run("FRM002")
    assert finding.data["last_completed"] is None


def test_only_scheduled_appointments_in_the_window() -> None:
    w = World()
    pat = w.patient()
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        w.appointment(pat, at(2), status=status)
    w.appointment(pat, at(14, 8))  # as-of + 14 days exactly: out
    assert w.run("FRM002") == []
    w.appointment(pat, at(13, 23, 59))
    assert len(w.run("FRM002")) == 1


def test_two_appointments_give_one_finding_judged_at_the_first() -> None:
    w = World()
    pat = w.patient()
    w.appointment(pat, at(9))
    first = w.appointment(pat, at(2))
    (finding,) = w.run("FRM002")
    assert finding.appointment_id == first.source_id and finding.due == day(1)
    w.form(pat, "health_history", date(2025, 3, 4))  # 12 months before day 2, older than 12 months at day 9
    assert w.run("FRM002") == []


@pytest.mark.parametrize("hour", [1, 9])  # before and after the 2 a.m. switch to daylight time
@pytest.mark.parametrize(("completed", "fires"), [(date(2025, 3, 8), False), (date(2025, 3, 7), True)])
def test_appointment_on_the_daylight_saving_day(hour: int, completed: date, fires: bool) -> None:
    w = World()
    pat = w.patient()
    w.form(pat, "health_history", completed)
    w.appointment(pat, datetime(2026, 3, 8, hour, 30, tzinfo=TZ))
    found = w.run("FRM002")
    assert len(found) == fires
    assert all(f.due == date(2026, 3, 7) for f in found)
