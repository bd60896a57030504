"""A resource's rows as the engine reads them: JSON rows turned into the (header, cells) chunks the
file connector yields, and the cursor stored once they are stored (a server time, the newest change
stamp, or the highest key of a table without a change stamp)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pms_bridge.connectors.files import Chunk


def cell(value: Any) -> str:
    """A JSON value as the text the mapping reads."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _cursor_data(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_cursor(value: str | None) -> str | None:
    """The server time stored by an earlier run (None: first run, or another connector's cursor)."""
    return _cursor_data(value).get("server_time")


def read_cursor_key(value: str | None) -> int | None:
    """The highest key an earlier run read from a table without a change stamp."""
    key = _cursor_data(value).get("after_key")
    return key if isinstance(key, int) and not isinstance(key, bool) else None


def time_cursor(server_time: str | None) -> str:
    """The cursor of a read up to a server time (read_cursor reads it back; None: from the start)."""
    return json.dumps({"server_time": server_time})


def key_cursor(after_key: int | None) -> str:
    """The cursor of a table without a change stamp: the highest key read (read_cursor_key reads it back)."""
    return json.dumps({"server_time": None, "after_key": after_key})


def as_int(value: Any) -> int | None:
    """An id or a SUM as the query endpoint returns it (number, numeric text, 12.0)."""
    try:
        number = Decimal(cell(value))
    except (InvalidOperation, ValueError):
        return None
    return int(number) if number == number.to_integral_value() else None


@dataclass
class RestTable:
    """One resource's rows, fetched lazily page by page."""

    source: str
    pages: Iterator[list[dict[str, Any]]]
    batch_rows: int
    old_cursor: str | None
    new_cursor: str | None = None
    server_time_field: str | None = None
    change_field: str | None = None  # where rows carry no server time: the newest change stamp seen
    key_field: str | None = None  # a table without a change stamp: the highest key read is the cursor
    # What the rows are the whole of, so that stored rows they lack were deleted in the PMS:
    complete: bool = False  # the source's whole table or list
    patients: list[str] | None = None  # the whole lists of these patients (per-patient endpoints)
    _newest_change: str | None = field(default=None, repr=False)
    _highest_key: int | None = field(default=None, repr=False)
    _first: list[dict[str, Any]] | None = field(default=None, repr=False)
    _header: list[str] | None = field(default=None, repr=False)

    def _peek(self) -> list[dict[str, Any]]:
        if self._first is None:
            self._first = []
            for page in self.pages:  # the first non-empty page fixes the header
                if page:
                    self._first = page
                    break
        return self._first

    def header(self) -> list[str]:
        if self._header is None:
            first = self._peek()
            self._header = list(first[0]) if first else []
        return self._header

    def chunks(self) -> Iterator[Chunk]:
        header = self.header()
        line = 0
        batch: Chunk = []
        for page in self._all_pages():
            for row in page:
                line += 1
                if not isinstance(row, dict):
                    batch.append((line, ["<not an object>"]))  # quarantined: wrong width
                    continue
                self._note_time(row)
                batch.append((line, [cell(row.get(col)) for col in header]))
                if len(batch) >= self.batch_rows:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _all_pages(self) -> Iterator[list[dict[str, Any]]]:
        first = self._peek()
        if first:
            yield first
            yield from self.pages

    def _note_time(self, row: dict[str, Any]) -> None:
        if self.new_cursor is None and self.server_time_field and row.get(self.server_time_field):
            self.new_cursor = str(row[self.server_time_field])
        stamp = row.get(self.change_field) if self.change_field else None
        if isinstance(stamp, str) and stamp and (self._newest_change is None or stamp > self._newest_change):
            self._newest_change = stamp
        if self.key_field:
            key = as_int(row.get(self.key_field))
            if key is not None and (self._highest_key is None or key > self._highest_key):
                self._highest_key = key

    def fingerprint(self) -> str:
        """The cursor to store once this resource's rows are stored."""
        if self.key_field:
            keys = [k for k in (self._highest_key, read_cursor_key(self.old_cursor)) if k is not None]
            return key_cursor(max(keys) if keys else None)
        return time_cursor(self.new_cursor or self._newest_change or read_cursor(self.old_cursor) or None)
