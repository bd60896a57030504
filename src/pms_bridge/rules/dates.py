"""Calendar helpers shared by the rules (no clock reads here, ever)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (clamped to the month's end)."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_before(day: date) -> date:
    return day - timedelta(days=1)


def not_before(due: date, today: date) -> date:
    """A due date never lies in the past: past-due work is due today."""
    return max(due, today)


def business_days_after(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (Saturdays and Sundays are not business days)."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day
