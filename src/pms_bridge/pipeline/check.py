"""Check: the stored snapshot -> the selected rules -> findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pms_bridge.config import Config, ConfigError
from pms_bridge.pipeline.snapshot import load_snapshot
from pms_bridge.rules import Finding, Horizons, Snapshot, evaluate, horizons, rule_settings, select_rules
from pms_bridge.rules.clinics import UnknownClinic
from pms_bridge.store import Store


@dataclass
class CheckReport:
    as_of: datetime
    rules: list[str]  # codes evaluated, catalog order
    findings: list[Finding] = field(default_factory=list)
    snapshot: Snapshot | None = field(default=None, repr=False)
    # Rules left out because the PMS could not serve what they read: code -> those entities.
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.rules, 0)
        for finding in self.findings:
            counts[finding.rule] += 1
        return counts


def practice_horizons(config: Config) -> Horizons:
    """How far the practice's selected rules, with its own settings, look ahead and back."""
    settings = rule_settings(config.rules.tables())
    return horizons(settings[r.code] for r in select_rules(config.rules.select, config.rules.ignore))


def check_store(
    config: Config, store: Store, as_of: datetime, unavailable: Iterable[str] = (), full: bool = False
) -> CheckReport:
    """Evaluate the practice's selected rules over what the store holds (their working set at ``as_of``).

    A rule that reads an ``unavailable`` entity (one the PMS cannot serve at all, e.g. on an older
    version) is left out: its answer would be wrong, and its open tasks are neither made nor closed.
    ``full``: load every stored record instead (the slow reference the working set is tested against).
    """
    missing = set(unavailable)
    selected = select_rules(config.rules.select, config.rules.ignore)
    skipped = {r.code: sorted(r.reads & missing) for r in selected if r.reads & missing}
    chosen = [r.code for r in selected if r.code not in skipped]
    try:
        if full:
            snapshot = load_snapshot(store, config.practice.clinics)
        else:
            reads = {entity for r in selected if r.code in chosen for entity in r.evidence}
            snapshot = load_snapshot(store, config.practice.clinics, as_of=as_of, needs=practice_horizons(config),
                                     reads=reads)
    except UnknownClinic as exc:
        raise ConfigError(str(exc)) from None
    findings = evaluate(snapshot, as_of, config.rules.select, [*config.rules.ignore, *skipped],
                        config.rules.tables())
    return CheckReport(as_of=as_of, rules=chosen, findings=findings, snapshot=snapshot, skipped=skipped)
