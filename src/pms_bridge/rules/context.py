"""What every rule gets: the snapshot, the as-of time and the practice's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pms_bridge.model import Appointment
from pms_bridge.rules.snapshot import Snapshot


@dataclass
class RuleContext:
    snapshot: Snapshot
    as_of: datetime  # aware; "now" for the rules (pinned by --as-of)
    _windows: dict[int, list[Appointment]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.as_of = self.as_of.astimezone(self.tz)

    @property
    def tz(self) -> ZoneInfo:
        return self.snapshot.tz

    @property
    def today(self) -> date:
        return self.as_of.date()

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def window(self, days: int) -> list[Appointment]:
        """Scheduled appointments from as-of to ``days`` days later, computed once per length."""
        if days not in self._windows:
            self._windows[days] = self.snapshot.upcoming(self.as_of, days)
        return self._windows[days]
