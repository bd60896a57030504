"""SCH002 procedure-provider-differs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import AS_OF, World, at, day

from pms_bridge.model import Provider
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def test_fires_for_a_procedure_by_another_dentist() -> None:
    w = World()
    den, hyg, other = w.provider("dentist"), w.provider("hygienist"), w.provider("dentist")
    pat = w.patient()
    apt = w.appointment(pat, at(4), provider=den, hygienist=hyg)
    filling = w.procedure(pat, "D2391", apt, provider=other)
    (finding,) = w.run("SCH002")
    assert finding.title == "D2391 is by DEN3, appointment is with DEN1/HYG2"
    assert (finding.subject_type, finding.subject_id) == ("appointment", apt.source_id)
    assert [p["procedure_id"] for p in finding.data["procedures"]] == [filling.source_id]
    assert finding.appointment_id == apt.source_id
    assert finding.patient_id == pat.source_id and finding.due == day(3) and finding.severity == "medium"
    assert "Testpatient" not in finding.title + finding.detail


def test_fires_for_a_prophy_by_another_hygienist() -> None:
    w = World()
    den, hyg, other = w.provider("dentist"), w.provider("hygienist"), w.provider("hygienist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, hygienist=hyg)
    w.procedure(pat, "D0120", apt, provider=den)
    prophy = w.procedure(pat, "D1110", apt, provider=other)
    (finding,) = w.run("SCH002")
    assert [p["procedure_id"] for p in finding.data["procedures"]] == [prophy.source_id]


def test_quiet_for_the_booked_providers_and_procedures_without_provider() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den, hygienist=hyg)
    w.procedure(pat, "D0120", apt, provider=den)
    w.procedure(pat, "D1110", apt, provider=hyg)
    w.procedure(pat, "D0274", apt)
    w.procedure(pat, "D9999", apt, provider=den)  # unknown code
    assert w.run("SCH002") == []


def test_appointments_without_provider() -> None:
    w = World()
    den, hyg = w.provider("dentist"), w.provider("hygienist")
    pat = w.patient()
    w.procedure(pat, "D2391", w.appointment(pat, at(2)), provider=den)  # nobody booked: nothing to compare
    w.procedure(pat, "D1110", w.appointment(pat, at(3), hygienist=hyg), provider=hyg)
    assert w.run("SCH002") == []


def test_unknown_provider_ids_compare_by_id() -> None:
    w = World()
    den = w.provider("dentist")
    ghost, other_ghost = Provider(source_id="998", kind="dentist"), Provider(source_id="999", kind="dentist")
    pat = w.patient()
    w.procedure(pat, "D2391", w.appointment(pat, at(2), provider=ghost), provider=ghost)  # same id: fine
    apt = w.appointment(pat, at(3), provider=den)
    w.procedure(pat, "D2392", apt, provider=other_ghost)
    (finding,) = w.run("SCH002")
    assert finding.title == "D2392 is by provider 999, appointment is with DEN1"


def test_several_procedures_are_one_task_for_the_appointment() -> None:
    w = World()
    den, other = w.provider("dentist"), w.provider("specialist")
    pat = w.patient()
    apt = w.appointment(pat, at(2), provider=den)
    w.procedure(pat, "D2950", apt, provider=den)
    moved = [w.procedure(pat, code, apt, provider=other) for code in ("D2740", "D3330")]
    (finding,) = w.run("SCH002")
    assert finding.key == f"SCH002:appointment:{apt.source_id}"
    assert sorted(p["procedure_id"] for p in finding.data["procedures"]) == sorted(p.source_id for p in moved)
    assert finding.title == f"D2740, D3330 are by {other.abbr}, appointment is with {den.abbr}"
    assert "D2950" not in finding.detail


def test_window_and_status() -> None:
    w = World()
    den, other = w.provider("dentist"), w.provider("dentist")
    pat = w.patient()
    for start in (AS_OF + timedelta(days=14), AS_OF - timedelta(minutes=1)):  # just outside
        w.procedure(pat, "D2391", w.appointment(pat, start, provider=den), provider=other)
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        w.procedure(pat, "D2391", w.appointment(pat, at(2), provider=den, status=status), provider=other)
    w.procedure(pat, "D2391", w.appointment(pat, AS_OF, provider=den), provider=other)  # starts now: in
    w.procedure(pat, "D2391", w.appointment(pat, at(13, 23, 59), provider=den), provider=other)
    assert len(w.run("SCH002")) == 2
    assert len(w.run("SCH002", window_days=13)) == 1


def test_bad_window_fails_at_config_load() -> None:
    with pytest.raises(RuleConfigError, match=r"rules\.SCH002\.window_days"):
        rule_settings({"SCH002": {"window_days": 0}})
    with pytest.raises(RuleConfigError, match=r"rules\.SCH002\.minutes"):
        rule_settings({"procedure-provider-differs": {"minutes": {}}})
