"""SCH004 appointment-length-mismatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import AS_OF, World, at, day

from pms_bridge.model import Provider, ProviderCodeTime
from pms_bridge.rules.registry import RuleConfigError, rule_settings


def booked(minutes: int, *codes: str, w: World | None = None, **apt: object) -> World:
    """A world with one appointment in the window, booked for ``minutes``, with ``codes`` attached."""
    w = w or World()
    pat = w.patient()
    visit = w.appointment(pat, apt.pop("start", at(3)), minutes=minutes, **apt)  # type: ignore[arg-type]
    for code in codes:
        w.procedure(pat, code, visit)
    return w


def test_fires_for_a_crown_booked_too_short() -> None:
    (finding,) = booked(30, "D2740").run("SCH004")
    assert finding.title == "Booked 30 min, expected 90 min"
    assert (finding.subject_type, finding.subject_id) == ("appointment", finding.appointment_id)
    assert finding.due == day(2) and finding.severity == "medium"
    assert finding.data == {"appointment_date": day(3).isoformat(), "booked": 30, "expected": 90, "too_short": True,
                            "codes": ["D2740"], "minutes": {"D2740": 90}, "unknown_codes": []}
    assert "Testpatient" not in finding.title + finding.detail


def test_fires_for_a_filling_booked_too_long() -> None:
    (finding,) = booked(90, "D2391").run("SCH004")
    assert finding.title == "Booked 90 min, expected 30 min" and finding.data["too_short"] is False


@pytest.mark.parametrize(("minutes", "fires"), [(79, True), (80, False), (90, False), (120, False), (121, True)])
def test_tolerance_edges(minutes: int, fires: bool) -> None:
    assert len(booked(minutes, "D2740").run("SCH004")) == fires


def test_several_procedures_are_summed() -> None:
    assert booked(120, "D2740", "D2950").run("SCH004") == []  # 90 + 30
    assert booked(60, "D2391", "D2391").run("SCH004") == []  # the same code twice counts twice
    (finding,) = booked(109, "D2740", "D2950").run("SCH004")
    assert finding.data["expected"] == 120


def test_the_practice_time_wins_over_the_shipped_default() -> None:
    w = World()
    w.code("D2740", minutes=120)
    w.code("D2391", minutes=0)  # 0: unknown, the shipped default applies
    w.code("D9972", minutes=60)  # no shipped default
    booked(90, "D2740", w=w)
    booked(30, "D2391", w=w)
    booked(60, "D9972", w=w)
    (finding,) = w.run("SCH004")
    assert finding.title == "Booked 90 min, expected 120 min"


def test_unknown_codes() -> None:
    assert booked(30, "D9999").run("SCH004") == []  # nothing known: skipped
    assert booked(60, "XRAY1").run("SCH004") == []  # not even a CDT code
    assert booked(180, "D2391", "D9999").run("SCH004") == []  # a lower bound: never too long
    (finding,) = booked(19, "D2391", "D9999").run("SCH004")
    assert finding.title == "Booked 19 min, expected at least 30 min"
    assert finding.data["unknown_codes"] == ["D9999"] and "no time known for D9999" in finding.detail
    assert booked(20, "D2391", "D9999").run("SCH004") == []


def test_no_procedures_is_left_to_sch003() -> None:
    assert booked(60).run("SCH004") == []


def test_providers_do_not_matter() -> None:
    w = booked(90, "D2740")
    booked(90, "D2740", w=w, provider=Provider(source_id="999", kind="dentist"))
    booked(90, "D2740", w=w, provider=w.provider("hygienist"))
    assert w.run("SCH004") == []


def test_window_and_status() -> None:
    w = World()
    for start in (AS_OF + timedelta(days=14), AS_OF - timedelta(minutes=1)):  # just outside
        booked(30, "D2740", w=w, start=start)
    for status in ("broken", "cancelled", "complete", "unscheduled"):
        booked(30, "D2740", w=w, status=status)
    booked(30, "D2740", w=w, start=at(13, 23, 59))  # last minute in
    assert len(w.run("SCH004")) == 1
    assert w.run("SCH004", window_days=13) == []


def test_tolerance_settings() -> None:
    w = booked(89, "D2740")
    booked(91, "D2740", w=w)
    assert w.run("SCH004") == []
    assert [f.data["booked"] for f in w.run("SCH004", too_short_minutes=0, too_long_minutes=0)] == [89, 91]


def test_minutes_override_merges_over_the_defaults() -> None:
    settings = rule_settings({"SCH004": {"minutes": {"d2740": 120}}})["SCH004"]
    assert settings.minutes["D2740"] == 120 and settings.minutes["D2391"] == 30  # type: ignore[attr-defined]
    w = booked(90, "D2740")
    booked(30, "D2391", w=w)
    assert w.run("SCH004") == []
    (finding,) = w.run("SCH004", minutes={"D2740": 120})
    assert finding.title == "Booked 90 min, expected 120 min"


@pytest.mark.parametrize("table", [{"D27": 5}, {"D2740-D2799": 90}, {"D2740": 0}, {"D2740": "long"}])
def test_bad_minutes_fail_at_config_load(table: dict[str, object]) -> None:
    with pytest.raises(RuleConfigError, match=r"rules\.SCH004\.minutes"):
        rule_settings({"SCH004": {"minutes": table}})


def test_bad_tolerance_fails_at_config_load() -> None:
    with pytest.raises(RuleConfigError, match=r"rules\.SCH004\.too_short_minutes"):
        rule_settings({"appointment-length-mismatch": {"too_short_minutes": -1}})


def test_findings_do_not_depend_on_row_order() -> None:
    assert booked(60, "D2950", "D2740").run("SCH004") == booked(60, "D2740", "D2950").run("SCH004")


def test_codes_combine_as_open_dental_books_them() -> None:
    """Assistant time (/) at the start and the end is shared: the longest of each counts once."""
    w = World()
    w.code("D2391", time_pattern="/XXXX/")  # 30 min
    w.code("D2950", time_pattern="//XX/")  # 25 min
    w.code("D0220", time_pattern="///")  # 15 min of assistant time only: a leading run, no trailing one
    combined = "///" + "XXXX" + "XX" + "/"  # longest leading run, every middle, longest trailing run
    assert len(combined) * 5 == 50
    assert booked(50, "D2391", "D2950", "D0220", w=w).run("SCH004") == []
    (finding,) = booked(20, "D2391", "D2950", "D0220", w=World()).run("SCH004", minutes={"D2391": 30, "D2950": 25,
                                                                                         "D0220": 15})
    assert finding.data["expected"] == 70  # minutes alone: nothing is known to be shared
    (short,) = booked(30, "D2391", "D2950", "D0220", w=w).run("SCH004")
    assert short.data["expected"] == 50 and "20 min of assistant time shared" in short.detail
    assert short.title == "Booked 30 min, expected 50 min"


def test_a_providers_own_time_for_the_code_wins() -> None:
    w = World()
    fast, slow, hyg = w.provider("dentist"), w.provider("dentist"), w.provider("hygienist")
    w.code("D2740", time_pattern="/" + "X" * 16 + "/")  # 90 min
    w.code("D1110", time_pattern="/XXXXXXX/", is_hygiene=True)  # 45 min
    w.add(ProviderCodeTime(source_id="T1", code="D2740", provider_id=fast.source_id, time_pattern="/XXXXXXXXXX/"))
    w.add(ProviderCodeTime(source_id="T2", code="D1110", provider_id=hyg.source_id, time_pattern="/XXXXX/"))
    booked(60, "D2740", w=w, provider=fast)
    assert w.run("SCH004") == []  # his crowns take 60 min
    booked(60, "D2740", w=w, provider=slow)
    (finding,) = w.run("SCH004")
    assert finding.data["expected"] == 90
    w2 = World()
    w2.code("D1110", time_pattern="/XXXXXXX/", is_hygiene=True)
    hyg2, den2 = w2.provider("hygienist"), w2.provider("dentist")
    w2.add(ProviderCodeTime(source_id="T3", code="D1110", provider_id=hyg2.source_id, time_pattern="/XXX/"))
    booked(25, "D1110", w=w2, provider=den2, hygienist=hyg2)  # the hygiene code takes the hygienist's time
    assert w2.run("SCH004") == []
    booked(25, "D1110", w=w2, provider=den2)  # no hygienist booked: the code's own 45 min
    assert [f.data["expected"] for f in w2.run("SCH004")] == [45]
