"""The appointment book: operatory columns of 5-minute slots, 08:00-17:00 on weekdays.

Each provider has a few operatories. A booking looks for room on the target day
and the nearest weekdays in the allowed range; when they are all full the
provider gets one more column (a busy practice double-books), so a booking
never fails and large samples stay fast.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from random import Random

OPEN = time(8, 0)
SLOTS = 108  # 9 hours of 5-minute slots
_TRIES = 5  # candidate days per booking before adding a column
_REACH = 10  # how far (days) from the target the candidates may be


class Book:
    def __init__(self, now: datetime) -> None:
        self._now = now
        self._grid: dict[tuple[int, date], bytearray] = {}
        self._ops: dict[int, list[int]] = {}
        self._last_op = 0

    def add_provider(self, prov: int, chairs: int) -> None:
        self._ops[prov] = [self._new_op() for _ in range(chairs)]

    def _new_op(self) -> int:
        self._last_op += 1
        return self._last_op

    def _first_slot(self, day: date) -> int:
        if day != self._now.date():
            return 0
        minutes = self._now.hour * 60 + self._now.minute - OPEN.hour * 60
        return min(SLOTS, max(0, -(-minutes // 5)))

    def _fit(self, op: int, day: date, units: int, prefer: int) -> int | None:
        grid = self._grid.get((op, day))
        if grid is None:
            grid = self._grid[(op, day)] = bytearray(SLOTS)
        first = self._first_slot(day)
        need = bytes(units)
        at = grid.find(need, max(first, prefer))
        if at < 0:
            at = grid.find(need, first)
        if at < 0:
            return None
        grid[at : at + units] = b"\x01" * units
        return at

    def _days(self, target: date, lo: date, hi: date) -> list[date]:
        target = min(max(target, lo), hi)
        found: list[date] = []
        for step in range(2 * _REACH + 1):
            day = target + timedelta(days=(step + 1) // 2 * (1 if step % 2 else -1))
            if lo <= day <= hi and day.weekday() < 5:
                found.append(day)
                if len(found) == _TRIES:
                    break
        return found or [target]

    def book(
        self, rng: Random, prov: int, target: date, units: int, lo: date, hi: date
    ) -> tuple[int, datetime]:
        """Reserve ``units`` slots for ``prov`` on a weekday in [lo, hi] near ``target``."""
        units = max(1, min(units, SLOTS))
        prefer = rng.randrange(0, SLOTS - units + 1)
        days = self._days(target, lo, hi)
        for day in days:
            for op in self._ops[prov]:
                at = self._fit(op, day, units, prefer)
                if at is not None:
                    return op, self._at(day, at)
        op = self._new_op()
        self._ops[prov].append(op)
        for day in days:
            at = self._fit(op, day, units, prefer)
            if at is not None:
                return op, self._at(day, at)
        # Too late in the day for the whole visit: start it at the first free slot.
        return op, self._at(days[0], self._first_slot(days[0]))

    @staticmethod
    def _at(day: date, slot: int) -> datetime:
        return datetime.combine(day, OPEN) + timedelta(minutes=5 * slot)
