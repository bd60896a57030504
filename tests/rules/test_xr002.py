"""XR002 radiographs-outdated-for-procedure."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from builders import AS_OF, TZ, World, at, day

from pms_bridge.rules import Snapshot, evaluate
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def crown_visit(w: World, start: datetime | None = None, **apt: object) -> tuple:
    """An established patient with bitewings from last month and a crown D2740 booked (day 5 unless ``start``)."""
    pat = w.patient()
    w.radiograph(pat, day(-30), "bitewing")
    visit = w.appointment(pat, start or at(5), **apt)
    return pat, visit, w.procedure(pat, "D2740", visit, tooth="3")


def test_fires_for_a_crown_with_only_bitewings() -> None:
    w = World()
    pat, visit, crown = crown_visit(w)
    (finding,) = w.run("XR002")
    assert finding.subject_type == "appointment"
    assert (finding.subject_id, finding.appointment_id) == (visit.source_id, visit.source_id)
    assert finding.patient_id == pat.source_id and finding.due == day(4) and finding.severity == "high"
    assert finding.title == "Crown D2740 needs a periapical, FMX or pano from the last 12 months"
    (unmet,) = finding.data["unmet"]
    assert unmet["procedure_ids"] == [crown.source_id] and unmet["teeth"] == ["3"]
    assert unmet["newest"] is None and unmet["since"] == "2025-03-07"


@pytest.mark.parametrize(("code", "kind", "taken", "fires"), [
    ("D2740", "periapical", date(2025, 3, 7), False),  # exactly 12 months before 2026-03-07
    ("D2740", "periapical", date(2025, 3, 6), True),
    ("D4341", "fmx", date(2024, 3, 7), False),  # SRP: 24 months
    ("D4341", "fmx", date(2024, 3, 6), True),
    ("D4341", "periapical", day(-10), True),  # wrong kind for SRP
])
def test_month_edges_per_need(code: str, kind: str, taken: date, fires: bool) -> None:
    w = World()
    pat = w.patient()
    w.radiograph(pat, taken, kind)
    w.procedure(pat, code, w.appointment(pat, at(5)))
    assert len(w.run("XR002")) == fires


def test_one_finding_per_appointment_listing_every_unmet_need() -> None:
    w = World()
    pat, visit, _ = crown_visit(w)
    srp = [w.procedure(pat, "D4341", visit, tooth=q) for q in ("UR", "UL")]
    w.procedure(pat, "D1110", visit)
    (finding,) = w.run("XR002")
    assert finding.title.endswith("(+1 more)")
    assert [u["code"] for u in finding.data["unmet"]] == ["D2740", "D4341"]
    assert finding.data["unmet"][1]["procedure_ids"] == [p.source_id for p in srp]
    assert "Scaling and root planing D4341 needs an FMX or pano from the last 24 months" in finding.detail


def test_findings_do_not_depend_on_record_order() -> None:
    w = World()
    pat, visit, _ = crown_visit(w)
    for code in ("D4341", "D3330", "D4342", "D2750"):
        w.procedure(pat, code, visit)
    shuffled = Snapshot.build(list(reversed(w.records)), TZ)
    assert evaluate(shuffled, AS_OF, select=["XR002"]) == w.run("XR002")


def test_each_appointment_is_its_own_subject() -> None:
    w = World()
    pat, _, _ = crown_visit(w)
    w.procedure(pat, "D6010", w.appointment(pat, at(10)))
    assert len(w.run("XR002")) == 2


def test_procedures_without_a_need_are_quiet() -> None:
    w = World()
    pat = w.patient()
    visit = w.appointment(pat, at(3))
    w.procedure(pat, "D1110", visit)
    w.procedure(pat, "D2740", visit, status="deleted")
    w.procedure(pat, "D2740")  # planned, on no appointment
    w.appointment(pat, at(4))  # no procedures at all
    assert w.run("XR002") == []


def test_needs_override_replaces_the_default_list() -> None:
    w = World()
    pat, visit, _ = crown_visit(w)
    w.procedure(pat, "D1110", visit)
    needs = [{"label": "prophy", "codes": ["D1110"], "kinds": ["bitewing"], "months": 1}]
    (finding,) = w.run("XR002", needs=needs)
    assert finding.title == "Prophy D1110 needs a bitewing from the last 1 months"
    assert w.run("XR002", needs=[needs[0] | {"months": 2}]) == []
    assert w.run("XR002", needs=[]) == []


@pytest.mark.parametrize(("need", "where"), [
    ({"codes": ["Q1"]}, "rules.XR002.needs.0.codes.0"),
    ({"codes": ["D2799-D2710"]}, "rules.XR002.needs.0.codes.0"),
    ({"kinds": ["xray"]}, "rules.XR002.needs.0.kinds.0"),
    ({"months": 0}, "rules.XR002.needs.0.months"),
    ({"tooth": "3"}, "rules.XR002.needs.0.tooth"),
])
def test_config_errors_name_the_setting(need: dict, where: str) -> None:
    table = {"label": "x", "codes": ["D2740"], "kinds": ["fmx"], "months": 12} | need
    with pytest.raises(RuleConfigError) as caught:
        rule_settings({"XR002": {"needs": [table]}})
    assert str(caught.value).startswith(f"{where}:")


def test_the_issue_config_error() -> None:
    with pytest.raises(RuleConfigError, match=r"^rules\.XR002\."):
        rule_settings({"XR002": {"needs": [{"label": "x", "codes": ["Q1"], "kinds": ["fmx"], "months": 12}]}})


def test_what_meets_a_need() -> None:
    w = World()
    kindless, procedure, deleted, planned, nothing = (w.patient() for _ in range(5))
    w.radiograph(kindless, day(-30), kind=None)  # "other": meets no default need
    w.procedure(procedure, "D0220", status="complete", when=day(-30))  # periapical
    w.radiograph(deleted, day(-30), "fmx", is_deleted=True)
    for pat in (kindless, procedure, deleted, planned, nothing):
        visit = w.appointment(pat, at(3))
        w.procedure(pat, "D3330", visit)
    w.procedure(planned, "D0220", visit)  # an image planned on the same visit is not on file yet
    found = {f.patient_id for f in w.run("XR002")}
    assert found == {kindless.source_id, deleted.source_id, planned.source_id, nothing.source_id}


def test_only_scheduled_appointments_in_the_window() -> None:
    w = World()
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        crown_visit(w, status=status)
    crown_visit(w, at(14, 8))  # as-of + 14 days exactly: out
    crown_visit(w, at(-1))  # yesterday
    assert w.run("XR002") == []
    assert len(w.run("XR002", window_days=15)) == 1


@pytest.mark.parametrize("hour", [1, 9])  # before and after the 2 a.m. switch to daylight time
@pytest.mark.parametrize(("taken", "fires"), [(date(2025, 3, 8), False), (date(2025, 3, 7), True)])
def test_appointment_on_the_daylight_saving_day(hour: int, taken: date, fires: bool) -> None:
    w = World()
    pat, _, _ = crown_visit(w, datetime(2026, 3, 8, hour, 30, tzinfo=TZ))
    w.radiograph(pat, taken, "periapical")
    found = w.run("XR002")
    assert len(found) == fires
    assert all(f.due == date(2026, 3, 7) for f in found)


def test_an_outside_periapical_meets_a_crown_need() -> None:
    w = World()
    outside, here = crown_visit(w)[0], crown_visit(w)[0]
    w.procedure(outside, "D0220", status="existing_other", when=day(-60))
    w.procedure(here, "D0220", status="existing_current", when=day(-400))  # on file, but too old
    assert [f.patient_id for f in w.run("XR002")] == [here.source_id]
