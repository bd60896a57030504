"""Errors the mapping stage raises. Messages name files, lines, fields and
columns, never the values in them (a value may be patient data)."""

from __future__ import annotations

from pms_bridge.errors import ConfigurationProblem, ItemSkipped


class MappingError(ConfigurationProblem):
    """A mapping file (or a practice's override of it) is invalid."""


class FileLevelError(ItemSkipped):
    """A whole source file cannot be mapped (missing column, wrong export mode)."""


class FieldError(Exception):
    """One field of one row cannot be mapped; the row is quarantined."""

    def __init__(self, field: str, reason: str, column: str | None = None) -> None:
        self.field = field
        self.column = column
        self.reason = reason
        where = f"{field} (column {column})" if column and column != field else field
        super().__init__(f"{where}: {reason}")
