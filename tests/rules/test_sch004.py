"""SCH004 appointment-length-mismatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import AS_OF, World, at, day

from pms_bridge.model import Provider
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
