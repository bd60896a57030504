"""SCH001 procedure-outside-provider-scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import AS_OF, World, at, day

from pms_bridge.model import Provider
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def test_fires_for_a_crown_charted_to_a_hygienist() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    w.code("D2740", minutes=90, description="Crown")
    pat = w.patient()
    apt = w.appointment(pat, at(3), provider=den, hygienist=hyg)
    crown = w.procedure(pat, "D2740", apt, provider=hyg)
    (finding,) = w.run("SCH001")
    assert (finding.subject_type, finding.subject_id) == ("appointment", apt.source_id)
    assert finding.appointment_id == apt.source_id
    assert finding.data["procedures"] == [
        {"procedure_id": crown.source_id, "code": "D2740", "provider_id": hyg.source_id, "from_appointment": False}]
    assert finding.title == f"Crown D2740 booked with hygienist {hyg.abbr}"
    assert finding.patient_id == pat.source_id and finding.due == day(2) and finding.severity == "high"
    assert "Testpatient" not in finding.title + finding.detail


def test_procedure_without_provider_is_done_by_the_appointment_provider() -> None:
    w = World()
    hyg = w.provider("hygienist")
    pat = w.patient()
    w.procedure(pat, "D2391", w.appointment(pat, at(2), provider=hyg))
    (finding,) = w.run("SCH001")
    assert finding.title == f"D2391 booked with hygienist {hyg.abbr}"
    assert finding.data["procedures"][0]["from_appointment"] is True


def test_scope_range_edges() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, hygienist=hyg)
    for code in ("D0210", "D0350", "D1110", "D4341", "D4910"):  # in scope, range ends included
        w.procedure(pat, code, apt, provider=hyg)
    outside = [w.procedure(pat, code, apt, provider=hyg) for code in ("D0209", "D0351", "D4911")]
    (finding,) = w.run("SCH001")
    assert sorted(p["procedure_id"] for p in finding.data["procedures"]) == sorted(p.source_id for p in outside)


def test_dentists_and_specialists_may_do_everything() -> None:
    w = World()
    den, endo = w.provider("dentist"), w.provider("specialist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den)
    for code in ("D2740", "D1351", "D0274"):  # D1351 sealant: no hygiene visit
        w.procedure(pat, code, apt, provider=den)
    w.procedure(pat, "D3330", apt, provider=endo)
    assert w.run("SCH001") == []


def test_other_kinds_unknown_ids_and_missing_providers_are_skipped() -> None:
    w = World()
    assistant = w.provider("other")
    ghost = Provider(source_id="999", abbr="GHOST", kind="hygienist")  # not in the snapshot
    pat = w.patient()
    w.procedure(pat, "D2740", w.appointment(pat, at(2), provider=assistant))
    w.procedure(pat, "D2740", w.appointment(pat, at(3), provider=ghost))
    w.procedure(pat, "D2740", w.appointment(pat, at(4)), provider=ghost)
    w.procedure(pat, "D2740", w.appointment(pat, at(5)))  # nobody at all
    w.procedure(pat, "D9999", w.appointment(pat, at(6)))  # unknown code, nobody
    assert w.run("SCH001") == []


def test_several_procedures_are_one_task_for_the_appointment() -> None:
    """One fix (rebook the appointment's work with a dentist): one task, listing every procedure."""
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, hygienist=hyg)
    procs = [w.procedure(pat, code, apt, provider=hyg) for code in ("D2740", "D2950", "D7140")]
    w.procedure(pat, "D0220", apt, provider=hyg)
    (finding,) = w.run("SCH001")
    assert finding.key == f"SCH001:appointment:{apt.source_id}"
    assert [p["procedure_id"] for p in finding.data["procedures"]] == [p.source_id for p in procs]
    assert finding.title == f"D2740, D2950, D7140 booked with hygienist {hyg.abbr}"
    assert all(code in finding.detail for code in ("D2740", "D2950", "D7140")) and "D0220" not in finding.detail
    w.procedure(pat, "D6010", apt, provider=hyg)  # the list grows: the same task
    (again,) = w.run("SCH001")
    assert again.key == finding.key and len(again.data["procedures"]) == 4


def test_correct_hygiene_visit_is_clean() -> None:
    """Open Dental books the dentist as provider and the hygienist as ProvHyg; the exam is the dentist's."""
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    w.code("D1110", minutes=45, is_hygiene=True)
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, hygienist=hyg, is_hygiene=True)
    w.procedure(pat, "D1110", apt, provider=hyg)
    w.procedure(pat, "D0274", apt, provider=hyg)
    w.procedure(pat, "D0120", apt, provider=den)
    assert w.run("SCH001") == [] and w.run("SCH002") == []


def test_hygiene_appointment_without_hygienist() -> None:
    w = World()
    den = w.provider("dentist")
    w.code("D1206", is_hygiene=True)
    pat = w.patient()
    flagged = w.appointment(pat, at(2), provider=den, is_hygiene=True)
    by_code_flag = w.appointment(pat, at(3), provider=den)
    w.procedure(pat, "D1206", by_code_flag, provider=den)
    by_visit_code = w.appointment(pat, at(4), provider=den)
    w.procedure(pat, "D4910", by_visit_code, provider=den)  # no code record: the setting says so
    w.procedure(pat, "D2391", w.appointment(pat, at(5), provider=den), provider=den)  # not hygiene
    findings = w.run("SCH001")
    assert {f.title for f in findings} == {"Hygiene appointment has no hygienist"}
    assert [(f.subject_type, f.subject_id) for f in findings] == [
        ("appointment", a.source_id) for a in (flagged, by_code_flag, by_visit_code)
    ]


def test_hygiene_appointment_with_a_hygienist_is_clean() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    ghost = Provider(source_id="999", kind="dentist")
    pat = w.patient()
    w.appointment(pat, at(2), provider=hyg, is_hygiene=True)  # the hygienist's own column
    w.appointment(pat, at(3), provider=den, hygienist=hyg, is_hygiene=True)
    w.appointment(pat, at(4), hygienist=hyg, is_hygiene=True)  # no provider
    w.appointment(pat, at(5), provider=ghost, is_hygiene=True)  # unknown provider: cannot tell
    assert w.run("SCH001") == []


def test_both_cases_on_one_appointment() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, is_hygiene=True)
    crown = w.procedure(pat, "D2740", apt, provider=hyg)
    (finding,) = w.run("SCH001")
    assert finding.key == f"SCH001:appointment:{apt.source_id}"
    assert finding.title == f"D2740 booked with hygienist {hyg.abbr}; no hygienist booked"
    assert finding.data["no_hygienist"] is True and finding.data["procedures"][0]["procedure_id"] == crown.source_id


def test_window_and_status() -> None:
    w = World()
    hyg = w.provider("hygienist")
    pat = w.patient()
    for start in (AS_OF + timedelta(days=14), AS_OF - timedelta(minutes=1)):  # just outside
        w.procedure(pat, "D2740", w.appointment(pat, start, provider=hyg))
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        w.procedure(pat, "D2740", w.appointment(pat, at(2), provider=hyg, status=status))
    w.procedure(pat, "D2740", w.appointment(pat, at(13, 23, 59), provider=hyg))  # last minute in
    assert len(w.run("SCH001")) == 1
    assert w.run("SCH001", window_days=13) == []


def test_settings_override_scope_and_visit_codes() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    w.procedure(pat, "D2740", w.appointment(pat, at(2), provider=den, hygienist=hyg), provider=hyg)
    w.procedure(pat, "D1110", w.appointment(pat, at(3), provider=den), provider=den)
    assert len(w.run("SCH001")) == 2
    assert w.run("SCH001", hygienist_codes=["D2700-D2799"], hygiene_visit_codes=[]) == []
    narrow = w.run("SCH001", hygienist_codes=["D0274"])
    assert [[p["code"] for p in f.data["procedures"]] for f in narrow] == [["D2740"], []]
    assert [f.data["no_hygienist"] for f in narrow] == [False, True]


@pytest.mark.parametrize("bad", ["X12", "D12", "D0350-D0210", "D0210-D0250-D0300"])
def test_bad_code_fails_at_config_load(bad: str) -> None:
    with pytest.raises(RuleConfigError, match=r"rules\.SCH001\.hygienist_codes"):
        rule_settings({"SCH001": {"hygienist_codes": [bad]}})
    with pytest.raises(RuleConfigError, match=r"rules\.SCH001\.hygiene_visit_codes"):
        rule_settings({"SCH001": {"hygiene_visit_codes": [bad]}})


def test_codes_are_normalized() -> None:
    settings = rule_settings({"procedure-outside-provider-scope": {"hygienist_codes": [" d1110 "]}})["SCH001"]
    assert settings.hygienist_codes == ["D1110"]  # type: ignore[attr-defined]


def test_findings_do_not_depend_on_row_order() -> None:
    def visit(*codes: str) -> World:
        w = World()
        pat = w.patient()
        apt = w.appointment(pat, at(2), provider=w.provider("dentist"), is_hygiene=True)
        for code in codes:
            w.procedure(pat, code, apt)
        return w

    (finding,) = visit("D1110", "D0120").run("SCH001")
    assert finding == visit("D0120", "D1110").run("SCH001")[0] and finding.data["codes"] == ["D0120", "D1110"]
