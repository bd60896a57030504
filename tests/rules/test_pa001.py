"""PA001 preauth-missing."""

from __future__ import annotations

import pytest
from builders import World, at, day

from pms_bridge.rules import RuleConfigError, rule_settings


def _crown(w: World, when: int = 5, code: str = "D2740", **cover):  # type: ignore[no-untyped-def]
    pat = w.patient()
    cov = w.coverage(pat, **cover)
    apt = w.appointment(pat, at(when))
    proc = w.procedure(pat, code, apt, tooth="14")
    return pat, cov, apt, proc


def test_fires_for_a_crown_without_a_preauthorization() -> None:
    w = World()
    _, _, apt, proc = _crown(w)
    w.claim_line(proc)  # the estimate only
    (finding,) = w.run("PA001")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("appointment", apt.source_id,
                                                                                   apt.source_id)
    assert finding.title == "No pre-authorization for D2740 #14" and "Example Dental Plan" in finding.detail
    assert finding.data["procedures"] == [proc.source_id] and finding.due == day(4)


def test_a_preauthorization_listing_the_procedure_clears_it_whatever_its_answer() -> None:
    w = World()
    pat, _, _, proc = _crown(w)
    w.claim_line(proc, w.claim(pat, status="received", claim_type="preauth"))
    other, _, _, other_proc = _crown(w)
    w.claim_line(other_proc, w.claim(other, status="sent", claim_type="preauth"))
    third, _, _, third_proc = _crown(w)
    w.claim_line(third_proc, w.claim(third, status="sent"))  # a claim, not a pre-authorization
    assert [f.patient_id for f in w.run("PA001")] == [third.source_id]


def test_coverage_in_force_on_the_appointment_date() -> None:
    w = World()
    _crown(w, 5, term_date=day(4))
    _crown(w, 5, effective_date=day(6))
    _crown(w, 5, is_pending=True)
    pat = w.patient()
    w.procedure(pat, "D2740", w.appointment(pat, at(5)))  # uninsured
    assert w.run("PA001") == []
    _crown(w, 5, term_date=day(5))
    assert len(w.run("PA001")) == 1


@pytest.mark.parametrize(("code", "fires"), [
    ("D2740", True), ("D2799", True), ("D6010", True), ("D6240", True), ("D6750", True), ("D5110", True),
    ("D5213", True), ("D4341", True), ("D4342", True), ("D2950", False), ("D1110", False), ("D4910", False),
])
def test_the_default_code_list(code: str, fires: bool) -> None:
    w = World()
    _crown(w, code=code)
    assert bool(w.run("PA001")) is fires


def test_per_carrier_lists_replace_the_default_for_that_carrier() -> None:
    w = World()
    _crown(w)  # Example Dental Plan
    _, _, other_apt, _ = _crown(w, carrier_name="Other Mutual")
    found = w.run("PA001", carriers={"example dental plan": []})
    assert [f.appointment_id for f in found] == [other_apt.source_id]
    w2 = World()
    _crown(w2, code="D1110")
    assert len(w2.run("PA001", carriers={"EXAMPLE DENTAL PLAN": ["D1110"]})) == 1


def test_one_task_per_appointment_and_the_window() -> None:
    w = World()
    pat, _, apt, _ = _crown(w)
    w.procedure(pat, "D4341", apt)
    (finding,) = w.run("PA001")
    assert finding.data["codes"] == ["D2740", "D4341"]
    _crown(w, when=14)  # as-of + 14 days at 09:00 is beyond the window's end (08:00)
    assert len(w.run("PA001")) == 1


def test_bad_codes_are_config_errors() -> None:
    with pytest.raises(RuleConfigError, match=r"rules.PA001.codes"):
        rule_settings({"PA001": {"codes": ["crowns"]}})
    with pytest.raises(RuleConfigError, match=r"rules.PA001.carriers"):
        rule_settings({"PA001": {"carriers": {"Acme": ["D27"]}}})


def test_the_reference_pages_example_is_a_valid_practice_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    from pms_bridge.config import load_config
    from pms_bridge.rules.catalog.claims import PA001Settings

    text = f"[rules.PA001]\n{PA001Settings.toml_example.strip()}\n"
    settings = rule_settings(tomllib.loads(text)["rules"])["PA001"]
    assert settings.carriers == {"example dental plan": ["D2700-D2799", "D6000-D6099"]}  # type: ignore[attr-defined]
    config = tmp_path / "practice.toml"
    config.write_text('[practice]\nname = "Test Dental"\ntimezone = "America/Chicago"\n[source]\nconnector = "csv"\n'
                      f'mapping = "opendental"\npath = "exports"\n[store]\npath = "s.sqlite"\n{text}', encoding="utf-8")
    w = World()
    _crown(w, code="D6010")
    assert len(w.run("PA001", **load_config(config).rules.tables()["PA001"])) == 1


def test_quadrant_procedures_are_told_apart_by_their_quadrant() -> None:
    """Scaling and root planing is billed per quadrant: the task names each one (D4341 UR, D4341 LR)."""
    w = World()
    pat = w.patient()
    w.coverage(pat)
    apt = w.appointment(pat, at(5))
    for quadrant in ("UR", "LR"):
        w.procedure(pat, "D4341", apt, surface=quadrant)
    (finding,) = w.run("PA001")
    assert finding.title == "No pre-authorization for D4341 UR, D4341 LR"
