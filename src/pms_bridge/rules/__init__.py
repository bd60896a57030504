"""Rules stage: the coordinator's rules as pure functions of a snapshot and an as-of time."""

from pms_bridge.rules import catalog  # noqa: F401  (registers the rules)
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.engine import evaluate
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import RULES, Rule, RuleConfigError, rule_settings, select_rules
from pms_bridge.rules.snapshot import Snapshot

__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "RuleConfigError",
    "RuleContext",
    "Snapshot",
    "evaluate",
    "rule_settings",
    "select_rules",
]
