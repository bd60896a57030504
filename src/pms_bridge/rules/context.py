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
    _by_patient: dict[int, dict[str, list[Appointment]]] = field(default_factory=dict, repr=False)

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

    def window_by_patient(self, days: int) -> dict[str, list[Appointment]]:
        """Each patient's scheduled appointments in the window, earliest first (patients in window order)."""
        if days not in self._by_patient:
            grouped: dict[str, list[Appointment]] = {}
            for apt in self.window(days):
                grouped.setdefault(apt.patient_id, []).append(apt)
            self._by_patient[days] = grouped
        return self._by_patient[days]

    def first_visits(self, days: int) -> list[tuple[Appointment, date]]:
        """Each patient's first appointment in the window, with its local date."""
        return [(apts[0], self.local_date(apts[0].start)) for apts in self.window_by_patient(days).values()]
