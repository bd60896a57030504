"""The rules declare how far ahead and back they look; sync fetches per-patient details for that."""

from __future__ import annotations

from pms_bridge.rules import RULES, Horizons, horizons
from pms_bridge.rules.registry import RuleSettings


def test_the_default_horizons_are_the_widest_of_every_rules_defaults() -> None:
    assert horizons() == Horizons(window_days=14, first_contact_days=90, referral_days=90, referral_out_days=365,
                                  broken_days=30, completed_procedure_days=180, recent_visit_days=18 * 31 + 1,
                                  outstanding_claim_days=30)


def test_a_wider_setting_widens_the_horizon_and_unselected_rules_do_not_count() -> None:
    settings = [RULES["SCH003"].settings({"window_days": 30}), RULES["REF001"].settings({"lookback_days": 120})]
    assert horizons(settings) == Horizons(window_days=30, first_contact_days=120, referral_days=120)
    assert horizons([RuleSettings()]) == horizons([]) == Horizons()


def test_every_declared_horizon_names_a_setting_in_days() -> None:
    """A setting, or a property computing days from settings in other units (business days, months)."""
    for rule in RULES.values():
        for name in rule.settings_model.horizons:
            computed = isinstance(getattr(rule.settings_model, name, None), property)
            assert name in rule.settings_model.model_fields or computed, (rule.code, name)
            assert name.endswith("_days") or name == "days_ahead", (rule.code, name)


def test_computed_horizons_follow_their_settings() -> None:
    assert horizons([RULES["APT001"].settings({"business_days": 5})]).window_days == 5 + 2 * 1 + 2
    assert horizons([RULES["TX001"].settings({"visit_months": 6})]).recent_visit_days == 6 * 31 + 1


def test_a_horizon_of_an_age_passed_takes_the_smallest_value() -> None:
    """outstanding_claim: claims sent more than N days ago; the rule with the smallest N reaches the most."""
    settings = [RULES["CLM002"].settings({"after_days": 40}), RULES["CLM002"].settings({"after_days": 20}),
                RULES["SCH003"].settings()]
    assert horizons(settings).outstanding_claim_days == 20
    assert horizons([RULES["SCH003"].settings()]).outstanding_claim_days == 0
