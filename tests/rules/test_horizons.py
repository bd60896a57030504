"""The rules declare how far ahead and back they look; sync fetches per-patient details for that."""

from __future__ import annotations

from pms_bridge.rules import RULES, Horizons, horizons
from pms_bridge.rules.registry import RuleSettings


def test_the_default_horizons_are_the_widest_of_every_rules_defaults() -> None:
    assert horizons() == Horizons(window_days=14, first_contact_days=90, referral_days=90, referral_out_days=365)


def test_a_wider_setting_widens_the_horizon_and_unselected_rules_do_not_count() -> None:
    settings = [RULES["SCH003"].settings({"window_days": 30}), RULES["REF001"].settings({"lookback_days": 120})]
    assert horizons(settings) == Horizons(window_days=30, first_contact_days=120, referral_days=120)
    assert horizons([RuleSettings()]) == horizons([]) == Horizons()


def test_every_declared_horizon_names_a_setting_in_days() -> None:
    for rule in RULES.values():
        for name in rule.settings_model.horizons:
            assert name in rule.settings_model.model_fields, (rule.code, name)
            assert name.endswith("_days") or name == "days_ahead", (rule.code, name)
