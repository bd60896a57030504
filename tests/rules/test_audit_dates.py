"""Calendar arithmetic the recency rules (XR001, XR002, FRM002) count from."""

from __future__ import annotations

from datetime import date

import pytest

from pms_bridge.rules.dates import months_before


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 3, 15), 12, date(2025, 3, 15)),
        (date(2026, 1, 15), 1, date(2025, 12, 15)),  # across the new year
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # clamped to the shorter month's end
        (date(2024, 3, 31), 1, date(2024, 2, 29)),  # ... a leap February's end
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2026, 5, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 24, date(2024, 8, 31)),  # a 31-day month stays whole
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected
