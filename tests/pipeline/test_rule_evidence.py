"""Each rule's ``evidence`` (the entities whose tables hold its task closes) covers what it really reads.

Every rule is run over the sample practice on a snapshot that records which of its collections the rule
looks at; each collection belongs to an entity, and that entity must be in the rule's evidence. A rule
that starts reading procedures without saying so fails here, instead of closing tasks on a half-read
procedure table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from odexport import csv_config

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.rules import RULES
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.registry import BASE_READS, rule_settings
from pms_bridge.rules.snapshot import Snapshot

# Which entity each of the snapshot's collections comes from.
COLLECTIONS: dict[str, frozenset[str]] = {
    "providers": frozenset({"provider"}),
    "codes": frozenset({"procedure_code"}),
    "code_times": frozenset({"provider_code_time"}),
    "patients": frozenset({"patient"}),
    "appointments": frozenset({"appointment"}),
    "appointments_by_patient": frozenset({"appointment"}),
    "_completed_visit": frozenset({"appointment"}),
    "_last_visit": frozenset({"appointment"}),
    "procedures_by_appointment": frozenset({"procedure"}),
    "procedures_by_patient": frozenset({"procedure"}),
    "coverages_by_patient": frozenset({"coverage"}),
    "verifications_by_coverage": frozenset({"verification"}),
    "verifications_by_plan": frozenset({"verification"}),
    "referrals": frozenset({"referral"}),
    "referrals_by_patient": frozenset({"referral"}),
    "documents_by_patient": frozenset({"document"}),
    "forms_by_patient": frozenset({"form"}),
    "claims": frozenset({"claim"}),
    "claims_by_patient": frozenset({"claim"}),
    "claim_procedures_by_procedure": frozenset({"claim_procedure"}),
    "radiographs_by_patient": frozenset({"document", "procedure"}),  # images and radiograph procedures
}
NOT_DATA = {"tz", "clinic_scope"}


class _Recording(Snapshot):
    touched: set[str]

    def __getattribute__(self, name: str):
        if name in COLLECTIONS or name in NOT_DATA:
            object.__getattribute__(self, "touched").add(name)
        return object.__getattribute__(self, name)


@pytest.fixture(scope="module")
def sample_snapshot(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    config = csv_config(tmp_path_factory.mktemp("evidence"), export)
    report = run_sync(load_config(config), DEMO_AS_OF, check=True)
    assert report.checks is not None and report.checks.snapshot is not None
    return report.checks.snapshot


def test_every_snapshot_collection_is_assigned_an_entity() -> None:
    fields = {f.name for f in dataclasses.fields(Snapshot)}
    assert fields - NOT_DATA == set(COLLECTIONS)


def test_every_rule_reads_the_base_entities_and_what_it_declares() -> None:
    for r in RULES.values():
        assert BASE_READS | r.reads <= r.evidence


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_rules_evidence_covers_every_entity_it_looks_at(sample_snapshot: Snapshot, code: str) -> None:
    recording = _Recording(**{f.name: getattr(sample_snapshot, f.name) for f in dataclasses.fields(Snapshot)})
    object.__setattr__(recording, "touched", set())
    rule = RULES[code]
    findings = list(rule.check(RuleContext(recording, DEMO_AS_OF), rule_settings({})[code]))
    assert findings, f"{code} found nothing in the sample practice: the trace proves little"
    looked_at = frozenset().union(*(COLLECTIONS[name] for name in recording.touched if name in COLLECTIONS))
    assert looked_at, code
    assert looked_at <= rule.evidence, f"{code} reads {sorted(looked_at - rule.evidence)} without saying so"
