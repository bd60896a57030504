"""Importing the catalog registers every rule, in catalog order."""

from pms_bridge.rules.catalog import scheduling  # noqa: I001,F401  (SCH first: the order is the catalog's)
from pms_bridge.rules.catalog import radiographs, forms, insurance, referrals  # noqa: F401
from pms_bridge.rules.catalog import appointments, treatment, claims  # noqa: F401
