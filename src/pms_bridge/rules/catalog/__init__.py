"""Importing the catalog registers every rule, in catalog order."""

from pms_bridge.rules.catalog import forms, insurance, radiographs, referrals, scheduling  # noqa: F401
