"""TX001 treatment-unscheduled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from builders import TODAY, World, at, day

from pms_bridge.rules.dates import months_before


def _seen(w: World, visit_day: int = -100, **kw):  # type: ignore[no-untyped-def]
    pat = w.patient(**kw)
    w.appointment(pat, at(visit_day), status="complete")
    return pat


def _planned(w: World, pat, days_ago: int, code: str = "D2740", fee: str = "1100.00", **kw):  # type: ignore[no-untyped-def]
    return w.procedure(pat, code, planned_date=day(-days_ago), fee=Decimal(fee), **kw)


def test_fires_for_treatment_planned_more_than_14_days_ago() -> None:
    w = World()
    pat = _seen(w)
    crown = _planned(w, pat, 15, tooth="30")
    build_up = _planned(w, pat, 15, code="D2950", fee="250.00", tooth="30")
    (finding,) = w.run("TX001")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("patient", pat.source_id, None)
    assert finding.title == "2 planned procedures not scheduled ($1,350.00)"
    assert "D2740 #30" in finding.detail and "D2950 #30" in finding.detail
    assert finding.data["fee_total"] == "1350.00" and finding.due == day(0)
    assert {p["procedure_id"] for p in finding.data["procedures"]} == {crown.source_id, build_up.source_id}


def test_fourteen_days_is_not_yet_more_than_fourteen() -> None:
    w = World()
    _planned(w, _seen(w), 14)
    assert w.run("TX001") == []
    assert len(w.run("TX001", after_days=13)) == 1


def test_a_scheduled_appointment_takes_it_off_the_list_a_planned_one_does_not() -> None:
    w = World()
    pat = _seen(w)
    booked = w.appointment(pat, at(20))
    _planned(w, pat, 30, appointment=booked)
    assert w.run("TX001") == []
    placeholder = w.appointment(pat, None, status="planned")
    _planned(w, pat, 30, code="D2950", planned_appointment_id=placeholder.source_id)
    assert [p["code"] for p in w.run("TX001")[0].data["procedures"]] == ["D2950"]


def test_treatment_left_on_a_broken_appointment_is_unscheduled() -> None:
    w = World()
    pat = _seen(w)
    broken = w.appointment(pat, at(-40), status="broken")
    _planned(w, pat, 60, appointment=broken)
    assert len(w.run("TX001")) == 1


def test_the_last_visit_must_be_within_18_months() -> None:
    edge = (months_before(TODAY, 18) - TODAY).days
    w = World()
    _planned(w, _seen(w, edge), 30)
    assert len(w.run("TX001")) == 1
    w = World()
    pat = _seen(w, edge - 1)
    _planned(w, pat, 30)
    assert w.run("TX001") == []
    assert len(w.run("TX001", visit_months=19)) == 1


def test_a_patient_never_seen_or_gone_and_other_statuses_do_not_fire() -> None:
    w = World()
    _planned(w, w.patient(), 30)  # no completed visit on record
    _planned(w, _seen(w, status="inactive"), 30)
    pat = _seen(w)
    _planned(w, pat, 30, status="planned_inactive")
    _planned(w, pat, 30, status="complete", when=day(-5))
    w.procedure(pat, "D2740")  # no plan date
    assert w.run("TX001") == []


def test_fees_unknown_are_left_out_of_the_total() -> None:
    w = World()
    pat = _seen(w)
    w.procedure(pat, "D2391", planned_date=TODAY - timedelta(days=40))
    (finding,) = w.run("TX001")
    assert finding.title == "1 planned procedure not scheduled ($0.00)" and finding.data["procedures"][0]["fee"] is None
