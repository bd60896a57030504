"""Rules stage: the coordinator's rules as pure functions of a snapshot and an as-of time."""

from pms_bridge.rules import catalog  # noqa: F401  (registers the rules)
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.engine import evaluate
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import RULES, Horizons, Rule, RuleConfigError, horizons, rule_settings, select_rules
from pms_bridge.rules.snapshot import Snapshot

__all__ = [
    "RULES",
    "Finding",
    "Horizons",
    "Rule",
    "RuleConfigError",
    "RuleContext",
    "Snapshot",
    "evaluate",
    "horizons",
    "rule_settings",
    "select_rules",
]
