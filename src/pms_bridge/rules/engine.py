"""Run the selected rules over a snapshot at an as-of time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import rule_settings, select_rules
from pms_bridge.rules.snapshot import Snapshot


def evaluate(
    snapshot: Snapshot,
    as_of: datetime,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    settings: dict[str, dict[str, Any]] | None = None,
) -> list[Finding]:
    """Findings of every selected rule, in a stable order. Pure: no clock, no I/O."""
    chosen = select_rules(select, ignore)
    configured = rule_settings(settings or {})
    ctx = RuleContext(snapshot, as_of)
    findings: list[Finding] = []
    for r in chosen:
        for finding in r.check(ctx, configured[r.code]):
            if not snapshot.selects(finding):  # another clinic's appointment or patient
                continue
            if finding.rule not in ("", r.code):
                raise AssertionError(f"rule {r.code} made a finding of {finding.rule}")
            findings.append(replace(finding, rule=r.code, severity=finding.severity or r.severity))
    findings.sort(key=lambda f: (f.due, f.rule, f.subject_type, f.subject_id))
    keys = [f.key for f in findings]
    if len(keys) != len(set(keys)):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise AssertionError(f"rules produced the same task key twice: {dupes[:5]}")
    return findings
