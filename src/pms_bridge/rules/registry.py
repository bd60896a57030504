"""The rule catalog: every rule with its stable code, readable name, default
role and severity, fix hint and settings model (think ruff's rule registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pms_bridge.errors import ConfigurationProblem
from pms_bridge.model.validation import problem_line
from pms_bridge.model.vocabulary import Role, Severity
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.finding import Finding

# The spans of time a rule reads: "window" is days ahead of today (appointments), "first_contact" and
# "referral" are days back (first contacts, referrals). Sync fetches per-patient details for their widest.
# window: appointments ahead; first_contact / referral: patients whose whole history the rules read;
# referral_out: referrals out a rule follows up, of patients it needs no more of than the patient row;
# broken: days back to appointments broken or missed; completed_procedure: days back to completed
# procedures that may still need a claim; recent_visit: days back to the completed visit that makes
# planned treatment worth following up; outstanding_claim: claims still in the sent state that were sent
# more than this many days ago (a smaller value reaches more: the smallest of the rules' values counts).
Horizon = Literal["window", "first_contact", "referral", "referral_out", "broken", "completed_procedure",
                  "recent_visit", "outstanding_claim"]
HORIZON_KINDS: tuple[str, ...] = get_args(Horizon)


class RuleSettings(BaseModel):
    """Base of every rule's settings; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Which settings (field name) are which horizons, e.g. {"window_days": ("window",)}.
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {}
    # The reference page's example of the rule's table (TOML lines after [rules.CODE]); default: its first setting.
    toml_example: ClassVar[str] = ""


class WindowSettings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"window_days": ("window",)}

    window_days: int = Field(default=14, ge=1, le=90, description="Look at appointments this many days ahead.")


@dataclass(frozen=True)
class Horizons:
    """The widest window (days ahead) and lookbacks (days back) some rules read."""

    window_days: int = 0
    first_contact_days: int = 0
    referral_days: int = 0
    referral_out_days: int = 0
    broken_days: int = 0
    completed_procedure_days: int = 0
    recent_visit_days: int = 0
    outstanding_claim_days: int = 0


def horizons(settings: Iterable[RuleSettings] | None = None) -> Horizons:
    """The widest horizons of these rule settings (default: every rule with its default settings)."""
    if settings is None:
        settings = [r.settings() for r in RULES.values()]
    widest = dict.fromkeys(HORIZON_KINDS, 0)
    for values in settings:
        for name, kinds in values.horizons.items():
            for kind in kinds:
                days = getattr(values, name)
                wider = min if kind in NARROWER_WHEN_LONGER and widest[kind] else max
                widest[kind] = wider(widest[kind], days)
    return Horizons(**{f"{kind}_days": days for kind, days in widest.items()})


# Horizons that reach less the more days they give (an age things must have passed, not a span back).
NARROWER_WHEN_LONGER = frozenset({"outstanding_claim"})


Check = Callable[[RuleContext, Any], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    role: Role
    severity: Severity
    summary: str  # what it means, one sentence
    why: str  # why it matters to the practice
    fix: str  # one-line fix hint for the coordinator
    settings_model: type[RuleSettings]
    check: Check
    # Entities without which the rule's answer would be wrong (not merely incomplete): when the
    # PMS cannot serve one of them at all, the rule is not evaluated.
    reads: frozenset[str] = frozenset()
    # Every entity whose rows the rule's answer depends on (``evidence``): when a table of one of them
    # was not read whole, a finding of this rule that vanished proves nothing, and its task stays open.
    also_reads: frozenset[str] = frozenset()

    @property
    def evidence(self) -> frozenset[str]:
        return BASE_READS | self.reads | self.also_reads

    def settings(self, values: dict[str, Any] | None = None) -> RuleSettings:
        return self.settings_model.model_validate(values or {})


RULES: dict[str, Rule] = {}

# Every rule reads the patients and their appointments (whom a finding is about, and when).
BASE_READS = frozenset({"patient", "appointment"})


def rule(
    code: str,
    name: str,
    *,
    role: Role,
    severity: Severity,
    summary: str,
    why: str,
    fix: str,
    settings: type[RuleSettings] = RuleSettings,
    reads: Iterable[str] = (),
    also_reads: Iterable[str] = (),
) -> Callable[[Check], Check]:
    """Register a rule function under a stable code. ``reads``: entities it cannot be evaluated without;
    ``also_reads``: the other entities its answer depends on (patients and appointments go without saying)."""

    def register(check: Check) -> Check:
        if code in RULES or any(r.name == name for r in RULES.values()):
            raise ValueError(f"rule {code} / {name} registered twice")
        RULES[code] = Rule(code, name, role, severity, summary, why, fix, settings, check, frozenset(reads), frozenset(also_reads))
        return check

    return register


class RuleConfigError(ValueError, ConfigurationProblem):
    """Invalid rule selection or settings; the message names the config key."""


def _matches(r: Rule, selector: str) -> bool:
    wanted = selector.strip()
    return r.code.upper().startswith(wanted.upper()) or r.name == wanted.lower()


def select_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules chosen by code, code prefix (``INS``) or name; ``ignore`` wins over ``select``."""
    select, ignore = list(select), list(ignore)
    for key, selectors in (("select", select), ("ignore", ignore)):
        unknown = [s for s in selectors if not any(_matches(r, s) for r in RULES.values())]
        if unknown:
            raise RuleConfigError(
                f"rules.{key}: no rule matches {', '.join(map(repr, unknown))}; "
                "use a code (REF001), a prefix (REF) or a name (new-patient-not-scheduled); see `pms-bridge rules`"
            )
    chosen = [r for r in RULES.values() if not select or any(_matches(r, s) for s in select)]
    return [r for r in chosen if not any(_matches(r, s) for s in ignore)]


def rule_settings(tables: dict[str, dict[str, Any]]) -> dict[str, RuleSettings]:
    """Every rule's settings: defaults overridden by ``[rules.CODE]`` tables (keyed by code or name)."""
    by_key = {r.code: r for r in RULES.values()} | {r.name: r for r in RULES.values()}
    unknown = [k for k in tables if k not in by_key]
    if unknown:
        raise RuleConfigError(f"rules.{unknown[0]}: no such rule; see `pms-bridge rules` for codes and names")
    values: dict[str, dict[str, Any]] = {}
    for key, table in tables.items():
        values.setdefault(by_key[key].code, {}).update(table)
    settings: dict[str, RuleSettings] = {}
    for code, r in RULES.items():
        try:
            settings[code] = r.settings(values.get(code))
        except ValidationError as exc:
            raise RuleConfigError(f"rules.{code}.{problem_line(exc.errors()[0], r.settings_model)}") from None
    return settings
