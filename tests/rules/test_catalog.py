"""The catalog as a whole: the sample practice, determinism, purity, docs."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from builders import AS_OF
from odexport import csv_config

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.rules import RULES, Snapshot, evaluate
from pms_bridge.rules.docs import catalog, rules_markdown
from pms_bridge.rules.registry import RuleConfigError, select_rules
from pms_bridge.sample import generate_practice

REPO = Path(__file__).resolve().parents[2]
DESIGN_CODES = ["SCH001", "SCH002", "SCH003", "SCH004", "XR001", "XR002", "FRM001", "FRM002",
                "INS001", "INS002", "INS003", "REF001", "REF002", "REF003", "REF004"]


@pytest.fixture(scope="module", params=[7, 3])
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The sample practice loaded through the real pipeline, and its planted problems."""
    from pms_bridge.config import load_config
    from pms_bridge.pipeline import run_sync
    from pms_bridge.pipeline.snapshot import load_snapshot
    from pms_bridge.store import Store

    tmp = tmp_path_factory.mktemp(f"sample{request.param}")
    generate_practice(tmp / "exports", as_of=DEMO_AS_OF, seed=request.param)
    cfg = load_config(csv_config(tmp, tmp / "exports"))
    run_sync(cfg, DEMO_AS_OF)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    snapshot = load_snapshot(store)
    store.close()
    return snapshot, json.loads((tmp / "exports" / "planted.json").read_text())


def test_catalog_has_every_design_rule() -> None:
    """The design's rules, in its order; rules added later come after them in the catalog."""
    assert [code for code in RULES if code in DESIGN_CODES] == DESIGN_CODES


@pytest.mark.parametrize("code", list(RULES))
def test_every_rule_has_a_well_formed_code_and_its_own_test(code: str) -> None:
    assert re.fullmatch(r"[A-Z]{2,4}[0-9]{3}", code)
    assert (REPO / "tests" / "rules" / f"test_{code.lower()}.py").is_file(), f"{code} has no test module"


def test_every_planted_problem_is_found_and_the_background_is_clean(sample) -> None:
    snapshot, planted = sample
    findings = evaluate(snapshot, DEMO_AS_OF)
    found = {(f.rule, f.patient_id) for f in findings}
    expected = {(p["rule"], p["patient_id"]) for p in planted}
    assert expected - found == set(), "planted problems not found"
    assert found - expected == set(), "findings outside the planted problems"
    for p in planted:  # the finding names the planted appointment where there is one
        if p["appointment_id"]:
            assert any(f.rule == p["rule"] and f.appointment_id == p["appointment_id"] for f in findings), p


def test_same_snapshot_and_as_of_give_the_same_findings(sample) -> None:
    snapshot, _ = sample
    assert evaluate(snapshot, DEMO_AS_OF) == evaluate(snapshot, DEMO_AS_OF)
    shuffled = Snapshot.build(list(reversed(_records(snapshot))), snapshot.tz)
    assert evaluate(shuffled, DEMO_AS_OF) == evaluate(snapshot, DEMO_AS_OF)


def _records(snapshot: Snapshot) -> list:
    seen: dict[int, object] = {}
    for value in vars(snapshot).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        for item in items:
            for record in item if isinstance(item, list) else [item]:
                if hasattr(record, "source_id"):
                    seen[id(record)] = record
    return list(seen.values())


def test_no_rule_reads_the_clock() -> None:
    """Rules get 'now' as input; reading the wall clock inside a rule is a defect."""
    forbidden = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}
    for path in (REPO / "src" / "pms_bridge" / "rules").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in forbidden, f"{path.name}:{node.lineno} calls .{node.func.attr}()"


def test_selection_by_code_prefix_and_name() -> None:
    assert [r.code for r in select_rules(["INS"])] == ["INS001", "INS002", "INS003"]
    assert [r.code for r in select_rules(["new-patient-not-scheduled", "SCH004"])] == ["SCH004", "REF001"]
    assert "SCH003" not in [r.code for r in select_rules([], ["SCH003"])]
    assert [r.code for r in select_rules(["REF"], ["REF004"])] == ["REF001", "REF002", "REF003"]
    with pytest.raises(RuleConfigError, match="rules.select"):
        select_rules(["XYZ"])


def test_findings_carry_no_patient_names(sample) -> None:
    snapshot, _ = sample
    names = {p.last_name for p in snapshot.patients.values() if p.last_name} | {
        p.first_name for p in snapshot.patients.values() if p.first_name
    }
    for f in evaluate(snapshot, DEMO_AS_OF):
        words = set(f"{f.title} {f.detail} {json.dumps(f.data, default=str)}".replace(",", " ").split())
        assert not (words & names), (f.rule, words & names)


def test_every_rule_is_documented() -> None:
    for info in catalog():
        assert info["summary"] and info["why"] and info["fix"], info["code"]
        for name, setting in info["settings"].items():
            assert setting["description"], f"{info['code']}.{name} has no description"


def test_reference_page_is_up_to_date() -> None:
    """Regenerate with: pms-bridge rules --format markdown > docs/rules.md"""
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown()


def test_as_of_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(Snapshot.build([], AS_OF.tzinfo), AS_OF.replace(tzinfo=None))  # type: ignore[arg-type]
