"""The KPI definitions against hand-computed values on small fixtures (rows built here, no store).

The as-of time is Monday Mar 2, 2026, 08:00 in Chicago; with three report weeks those are the weeks of
Feb 9, Feb 16 and Feb 23 (index 0, 1, 2). Every expected number is counted by hand in the comment
beside it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.sinks.report.kpis import (
    Kpi,
    KpiTargets,
    compute_kpis,
    kpis_json,
    meets,
    report_weeks,
)
from pms_bridge.store.report_reads import (
    CompletedForm,
    CoverageSpan,
    EligibilityCheck,
    Film,
    FirstContact,
    PlannedWork,
    ReportData,
    TaskLife,
    Visit,
)

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
W0, W1, W2 = date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def visit(vid: str, patient: str, start: datetime | None, status: str = "complete", new: bool = False,
          booked: datetime | None = None) -> Visit:
    return Visit(vid, patient, start, booked, status, new, 60)


def kpis(data: ReportData, targets: KpiTargets | None = None) -> dict[str, Kpi]:
    return {k.key: k for k in compute_kpis(data, AS_OF, TZ, 3, targets or KpiTargets())}


def values(kpi: Kpi, line: int = 0) -> list[float | None]:
    return [p.value for p in kpi.lines[line].points]


def empty() -> ReportData:
    return ReportData(W0, W2 + timedelta(days=6))


def test_weeks_are_the_complete_weeks_before_the_as_of_week() -> None:
    assert report_weeks(AS_OF, TZ, 3) == [W0, W1, W2]
    sunday_night = datetime(2026, 3, 1, 23, 30, tzinfo=TZ)  # still the week of Feb 23: it is not complete
    assert report_weeks(sunday_night, TZ, 2) == [date(2026, 2, 9), W1]
    assert report_weeks(sunday_night.astimezone(ZoneInfo("UTC")), TZ, 1) == [W1]  # practice time, not UTC


def test_an_empty_practice_has_gaps_everywhere_never_zeros() -> None:
    for kpi in kpis(empty()).values():
        assert all(v is None for line in kpi.lines for v in (p.value for p in line.points)), kpi.key


def test_new_patient_appointments_booked_and_seen() -> None:
    data = empty()
    data.visits = [
        # week 0: two new-patient bookings and one established (booked 2, week has data)
        visit("1", "p1", at(W2), "scheduled", new=True, booked=at(W0)),
        visit("2", "p2", at(W2 + timedelta(days=1)), "complete", new=True, booked=at(W0 + timedelta(days=2))),
        visit("3", "p3", at(W1), "complete", booked=at(W0)),
        # week 1: nothing booked; one established visit completed (seen 0, a real zero)
        # week 2: one established booking (booked 0), new patient p2 seen, p1 still scheduled (seen 1)
        visit("4", "p4", at(W2 + timedelta(days=9)), "scheduled", booked=at(W2)),
        visit("5", "p5", at(W1), "note", new=True, booked=at(W1)),  # a note on the schedule is no appointment
    ]
    kpi = kpis(data)["new_patient_appointments"]
    assert [line.key for line in kpi.lines] == ["booked", "seen"]
    assert values(kpi, 0) == [2, None, 0]
    assert values(kpi, 1) == [None, 0, 1]
    assert kpi.target is None and "trend" in kpi.target_note
    with_goal = kpis(data, KpiTargets(new_patients_per_week=3))["new_patient_appointments"]
    assert with_goal.target is not None and with_goal.target.value == 3 and meets(with_goal, 2) is False


def test_new_patients_without_booking_dates_show_only_the_seen_line() -> None:
    data = empty()
    data.visits = [visit("1", "p1", at(W1), "complete", new=True)]
    kpi = kpis(data)["new_patient_appointments"]
    assert [line.key for line in kpi.lines] == ["seen"]
    assert values(kpi) == [None, 1, None]
    assert kpi.note and "booking dates" in kpi.note


def test_first_visit_with_referrals_and_first_contacts() -> None:
    data = empty()
    data.first_contacts = [
        FirstContact("a", W0, W0 + timedelta(days=4)),  # 4 days: within 10
        FirstContact("b", W0 + timedelta(days=1), W0 + timedelta(days=13)),  # 12 days: late
        FirstContact("c", W0 + timedelta(days=2), None),  # never seen: late, not in the median
        FirstContact("d", W0 + timedelta(days=3), W0 - timedelta(days=30)),  # seen before: not a new patient
        FirstContact("e", W2, W2 + timedelta(days=2)),  # week 2: seen in 2 days, but the week is too young
    ]
    k = kpis(data)
    assert values(k["first_visit_median_days"]) == [8.0, None, 2.0]  # median of 4 and 12; only e in week 2
    # week 0 settled (Feb 15 + 10 days < Mar 2): 1 of 3 within; week 1 had nobody; week 2 not settled
    assert values(k["first_visit_within"]) == [33.3, None, None]
    assert k["first_visit_within"].lines[0].points[0].numerator == 1
    assert k["first_visit_within"].lines[0].points[0].denominator == 3


def test_a_practice_with_no_referrals_is_measured_from_first_contacts() -> None:
    data = empty()
    data.first_contacts = [FirstContact("a", W0, W0 + timedelta(days=10))]  # exactly 10 days: within
    k = kpis(data)
    assert values(k["first_visit_within"]) == [100.0, None, None]
    assert k["first_visit_within"].unavailable is None


def test_first_visit_is_unavailable_without_first_contacts_or_referrals() -> None:
    k = kpis(empty())
    assert k["first_visit_median_days"].unavailable and k["first_visit_within"].unavailable


def test_a_custom_first_visit_deadline_changes_the_share() -> None:
    data = empty()
    data.first_contacts = [FirstContact("a", W0, W0 + timedelta(days=6))]
    assert values(kpis(data, KpiTargets(first_visit_days=5))["first_visit_within"]) == [0.0, None, None]


def test_no_show_rate() -> None:
    data = empty()
    data.visits = [
        visit("1", "p1", at(W1), "complete"),
        visit("2", "p2", at(W1), "complete"),
        visit("3", "p3", at(W1), "broken"),
        visit("4", "p4", at(W1 + timedelta(days=1)), "scheduled"),  # never arrived: missed
        visit("5", "p5", at(W1), "cancelled"),  # left out
        visit("6", "p6", at(W2), "complete"),
    ]
    kpi = kpis(data)["no_show_rate"]
    assert values(kpi) == [None, 50.0, 0.0]  # week 1: 2 missed of 4; week 2: 0 of 1
    assert meets(kpi, 4.9) is True and meets(kpi, 5.0) is False  # "below 5%"


def test_insurance_verified_before_the_visit() -> None:
    data = empty()
    day = W1 + timedelta(days=2)
    data.visits = [
        visit("1", "p1", at(day)),  # checked 10 days before: verified
        visit("2", "p2", at(day)),  # checked 40 days before: not
        visit("3", "p3", at(day)),  # coverage ended before the visit: not insured, left out
        visit("4", "p4", at(day)),  # no coverage: left out
        visit("5", "p5", at(day)),  # two active coverages, only one checked: not
        visit("6", "p6", at(W2), "scheduled"),  # not completed
    ]
    data.coverages = [
        CoverageSpan("c1", "p1", None, None),
        CoverageSpan("c2", "p2", date(2020, 1, 1), None),
        CoverageSpan("c3", "p3", None, day - timedelta(days=1)),
        CoverageSpan("c5a", "p5", None, None),
        CoverageSpan("c5b", "p5", None, None),
        CoverageSpan("c6", "p6", None, None),
    ]
    data.checks = [
        EligibilityCheck("c1", day - timedelta(days=10), "verified"),
        EligibilityCheck("c2", day - timedelta(days=40), "verified"),
        EligibilityCheck("c5a", day, "pending"),  # a check in progress counts, as INS002 counts it
    ]
    kpi = kpis(data)["insurance_verified"]
    assert values(kpi) == [None, 33.3, None]  # 1 of 3 insured visits
    assert kpi.lines[0].points[1].denominator == 3


def test_a_practice_with_no_insurance() -> None:
    data = empty()
    data.visits = [visit("1", "p1", at(W1))]
    kpi = kpis(data)["insurance_verified"]
    assert kpi.unavailable and values(kpi) == [None, None, None]


def test_forms_and_radiographs_on_file_before_new_patient_visits() -> None:
    data = empty()
    start = at(W1 + timedelta(days=1), 10)
    data.visits = [
        visit("1", "p1", start, new=True),  # both forms before; film 30 days before
        visit("2", "p2", start, new=True),  # health history after the start; film the same day
        visit("3", "p3", start, new=True),  # no forms; film 400 days before
        visit("4", "p4", start),  # not a new patient: left out
    ]
    data.forms = [
        CompletedForm("p1", "registration", start - timedelta(days=2)),
        CompletedForm("p1", "health_history", start - timedelta(minutes=5)),
        CompletedForm("p2", "registration", start - timedelta(days=1)),
        CompletedForm("p2", "health_history", start + timedelta(minutes=5)),
    ]
    data.films = [
        Film("p1", start.date() - timedelta(days=30)),
        Film("p2", start.date()),
        Film("p3", start.date() - timedelta(days=400)),
        Film("p4", start.date() - timedelta(days=1)),
    ]
    k = kpis(data)
    assert values(k["forms_on_file"]) == [None, 33.3, None]
    assert values(k["radiographs_on_file"]) == [None, 33.3, None]
    assert values(kpis(data, KpiTargets(radiograph_max_age_days=500))["radiographs_on_file"]) == [None, 66.7, None]


def test_treatment_acceptance() -> None:
    data = empty()
    data.planned = [
        PlannedWork(W0, "planned", False, "scheduled"),  # on a scheduled appointment: accepted
        PlannedWork(W0, "planned", False, None),  # on no appointment: not yet
        PlannedWork(W0, "complete", False, "complete"),  # done later: accepted
        PlannedWork(W0, "complete", True, "complete", count=3),  # done the day they were planned: left out
        PlannedWork(W0, "planned_inactive", False, None),  # shelved: not accepted
        PlannedWork(W0, "planned", False, "broken"),  # its appointment was broken: not accepted
        PlannedWork(W2, "planned", False, "complete", count=2),
    ]
    kpi = kpis(data)["treatment_acceptance"]
    assert values(kpi) == [40.0, None, 100.0]  # 2 of 5; week 2: 2 of 2
    assert kpi.target is not None and kpi.target.value == 70


def test_treatment_acceptance_is_unavailable_without_planned_treatment() -> None:
    data = empty()
    data.planned = [PlannedWork(W0, "complete", True, "complete")]  # same-day work only
    assert kpis(data)["treatment_acceptance"].unavailable


def task(key: str, created: datetime, status: str = "open", resolved: datetime | None = None,
         due: date | None = None) -> TaskLife:
    return TaskLife(key, "INS002", "financial", status, "p1", None, due or created.date(), created, resolved)


def test_task_numbers_are_gaps_before_the_ledger_began() -> None:
    data = empty()
    data.ledger_since = at(W1 + timedelta(days=2))
    data.tasks = [
        task("a", at(W1 + timedelta(days=2)), "resolved", at(W2), due=W2 + timedelta(days=1)),  # on time
        task("b", at(W1 + timedelta(days=3)), "expired", at(W2 + timedelta(days=1))),  # expired: late
        task("c", at(W1 + timedelta(days=3)), "dismissed", at(W2 + timedelta(days=2)), due=W1),  # after due: late
        task("d", at(W2 + timedelta(days=4))),  # still open
    ]
    k = kpis(data)
    flow = k["tasks_opened_resolved"]
    assert values(flow, 0) == [None, 3, 1]  # opened
    assert values(flow, 1) == [None, 0, 2]  # resolved or dismissed (expired is not work done)
    assert values(k["tasks_on_time"]) == [None, None, 33.3]  # 1 of 3 closed in week 2
    # end of week 1 (Feb 23 00:00): a (Feb 18 09:00), b and c (Feb 19 09:00) open, aged 4.625, 3.625 and
    # 3.625 days -> median 3.6; end of week 2 (Mar 2 00:00): only d open, created Feb 27 09:00 -> 2.625 -> 2.6
    assert values(k["open_task_age"]) == [None, 3.6, 2.6]


def test_task_charts_say_why_when_the_ledger_is_younger_than_a_week() -> None:
    data = empty()
    data.ledger_since = AS_OF - timedelta(hours=1)
    for key in ("tasks_opened_resolved", "tasks_on_time", "open_task_age"):
        assert "began on Mon Mar 2, 2026" in (kpis(data)[key].unavailable or "")


def test_json_carries_the_same_series() -> None:
    data = empty()
    data.visits = [visit("1", "p1", at(W1)), visit("2", "p2", at(W1), "broken")]
    document = {k["key"]: k for k in kpis_json(list(kpis(data).values()))}
    no_show = document["no_show_rate"]
    assert no_show["weeks"] == ["2026-02-09", "2026-02-16", "2026-02-23"]
    assert no_show["series"]["rate"]["values"] == [None, 50.0, None]
    assert no_show["series"]["rate"]["numerators"][1] == 1 and no_show["series"]["rate"]["denominators"][1] == 2
    assert no_show["target"] == {"value": 5.0, "direction": "below"}


@pytest.mark.parametrize("field", ["no_show_below_percent", "acceptance_percent", "on_time_percent"])
def test_targets_are_configurable(field: str) -> None:
    targets = KpiTargets(**{field: 42})
    drawn = {k.target.value for k in compute_kpis(empty(), AS_OF, TZ, 2, targets) if k.target}
    assert 42 in drawn
