"""The as-of time ("now" pinned by --as-of): parsed, kept on the calendar, and not silently backdated."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from pms_bridge.config import Config, ConfigError

# Rules look years back and weeks ahead of the as-of time; inside these years that arithmetic never
# leaves the calendar (datetime.min / datetime.max), whatever the offset or the practice's timezone.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
# The PMS's clock, its timezone and ours may disagree a little: an as-of this close to the data is not a backdate.
BACKDATE_MARGIN = timedelta(days=1)


class BackdatedAsOf(ConfigError):
    """--as-of before the newest data already stored, without --backdate (exit code 2)."""


def parse_as_of(text: str, config: Config) -> datetime:
    """ISO date or datetime; without an offset it is the practice's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of {text!r} is not an ISO date/time such as 2026-03-02T08:00") from None
    tz = config.practice.practice().tz
    try:
        local = value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
        inside = EARLIEST_YEAR <= local.year <= LATEST_YEAR
    except (OverflowError, ValueError):  # the offset moves it off the calendar
        inside = False
    if not inside:
        raise ConfigError(
            f"--as-of {text!r} is outside the years {EARLIEST_YEAR} to {LATEST_YEAR} that pms-bridge checks: "
            "give a date/time such as 2026-03-02T08:00, or leave --as-of out to use now"
        )
    return local


def is_backdated(as_of: datetime, data_as_of: datetime | None) -> bool:
    """Whether ``as_of`` is before the newest stored data (beyond the clock-skew margin)."""
    return data_as_of is not None and as_of < data_as_of - BACKDATE_MARGIN


def backdate_note(as_of: datetime, data_as_of: datetime, tz: tzinfo) -> str:
    return (
        f"--as-of {as_of:%Y-%m-%d %H:%M} is before the newest data already stored "
        f"({data_as_of.astimezone(tz):%Y-%m-%d %H:%M}): the rules see that data as if it were then"
    )


def refuse_backdating(as_of: datetime, data_as_of: datetime | None, tz: tzinfo) -> None:
    """A run writes tasks: an as-of before the stored data would resolve open tasks it cannot see."""
    if data_as_of is not None and is_backdated(as_of, data_as_of):
        raise BackdatedAsOf(
            f"{backdate_note(as_of, data_as_of, tz)}, so open tasks would be resolved or reopened on a picture "
            "of the practice that never existed. Leave --as-of out to run as of now, or pass --backdate if you "
            "really mean to run at that time"
        )
