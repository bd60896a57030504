"""Compile a resource's field specs into fast row functions.

A compiled resource is bound to one file's header (column positions are
resolved once), then maps each row (a list of strings) to a validated model
record. Problems raise :class:`FieldError` (one row) or
:class:`FileLevelError` (the whole file).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from pms_bridge.mapping.convert import ConversionError, make_converter
from pms_bridge.mapping.derive import DERIVATIONS, Unmapped
from pms_bridge.mapping.errors import FieldError, FileLevelError
from pms_bridge.mapping.spec import UNMAPPED_KEY, FieldSpec, MappingFile, MapValue, ResourceSpec
from pms_bridge.model import ENTITIES, Record
from pms_bridge.model.validation import key_path

Row = Sequence[str]
Getter = Callable[[Row], Any]
# lookup name -> key -> column -> value
LookupTables = dict[str, dict[str, dict[str, str]]]

RAW_MODE_SAMPLE = 50


EXPORT_ALL_COLUMNS = "Export the table with all its columns (SELECT * ...)."


class UnmappedLabels:
    """Practice labels a run could not place: config key -> label -> rows that held it.

    Labels are the practice's own names (statuses, categories, titles), never patient data.
    """

    def __init__(self) -> None:
        self.by_setting: dict[str, Counter[str]] = defaultdict(Counter)
        self._row: set[tuple[str, str]] = set()  # noted while the current row is mapped

    def note(self, setting: str, label: str) -> None:
        self._row.add((setting, label))

    def end_row(self) -> None:
        """Count the current row once per label, however many of its fields met it."""
        for setting, label in self._row:
            self.by_setting[setting][label] += 1
        self._row.clear()

    def update(self, other: UnmappedLabels) -> None:
        for setting, labels in other.by_setting.items():
            self.by_setting[setting].update(labels)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {setting: dict(sorted(labels.items())) for setting, labels in sorted(self.by_setting.items())}

    def __bool__(self) -> bool:
        return bool(self.by_setting)


@dataclass(frozen=True)
class _Context:
    mapping: MappingFile
    positions: dict[str, int]
    lookups: LookupTables
    null_values: frozenset[str]
    unmapped: UnmappedLabels


def _value_map(ctx: _Context, name: str, field: str, column: str | None) -> Callable[[Any], Any]:
    """Exact value (as given, then ignoring case), then the map's patterns, then its '_other' fallback."""
    table: dict[str, MapValue] = ctx.mapping.maps[name]
    folded = {str(k).casefold(): v for k, v in table.items()}
    patterns = [(re.compile(p, re.IGNORECASE), v) for p, v in ctx.mapping.patterns.get(name, {}).items()]
    fallback = table.get(UNMAPPED_KEY)
    reported = name in ctx.mapping.labels

    def apply(value: Any) -> Any:
        if value is None:
            return None
        key = str(value).strip()
        if key in table:
            return table[key]
        hit = folded.get(key.casefold())
        if hit is not None:
            return hit
        for pattern, mapped in patterns:
            if pattern.search(key):
                return mapped
        if reported:
            ctx.unmapped.note(f"mapping.maps.{name}", key)
        if fallback is not None:
            return fallback
        raise FieldError(field, f"value is not in value map {name!r} (add it to [maps.{name}])", column)

    return apply


def _lookup_hops(ctx: _Context, hops: list[str], nulls: frozenset[str]) -> Callable[[Any], Any]:
    steps = [(ctx.lookups.get(table, {}), column) for table, column in (hop.split(".") for hop in hops)]

    def apply(value: Any) -> Any:
        for table, column in steps:
            if value is None:
                return None
            row = table.get(str(value).strip())
            value = None if row is None else row.get(column)
            if value is not None and value.strip() in nulls:
                value = None
        return value

    return apply


def _getter(ctx: _Context, field: str, spec: FieldSpec) -> Getter:
    """Reads, nulls, filters, looks up and maps one field (no type conversion)."""
    nulls = ctx.null_values | frozenset(spec.null_values)
    if spec.const is not None:
        constant = spec.const
        read: Getter = lambda row: constant  # noqa: E731
    elif spec.derive is not None:
        _, func, _ = DERIVATIONS[spec.derive]
        inputs = {name: _getter(ctx, f"{field}.{name}", sub) for name, sub in spec.inputs.items()}
        settings = ctx.mapping.settings

        def read(row: Row) -> Any:
            result = func({n: g(row) for n, g in inputs.items()}, settings)
            if isinstance(result, Unmapped):
                ctx.unmapped.note(result.setting, result.label)
                return result.value
            return result

    else:
        pos = ctx.positions.get(spec.column)  # type: ignore[arg-type]
        if pos is None:  # an optional column absent from this file
            read = lambda row: None  # noqa: E731
        else:

            def read(row: Row, pos: int = pos) -> Any:
                text = row[pos] if pos < len(row) else ""
                return None if text.strip() in nulls else text

    steps: list[Callable[[Any], Any]] = []
    if spec.lookup:
        steps.append(_lookup_hops(ctx, spec.lookup, nulls))
    if spec.map is not None:
        steps.append(_value_map(ctx, spec.map, field, spec.column))
    if spec.when is not None:
        cond_pos = ctx.positions[spec.when.column]
        allowed = frozenset(spec.when.in_)
        inner = read
        read = lambda row: inner(row) if row[cond_pos].strip() in allowed else None  # noqa: E731
    if not steps:
        return read

    def pipeline(row: Row) -> Any:
        value = read(row)
        for step in steps:
            value = step(value)
        return value

    return pipeline


class CompiledResource:
    """A resource of a mapping, ready to be bound to a file header."""

    def __init__(self, mapping: MappingFile, name: str, tz: ZoneInfo) -> None:
        self.mapping = mapping
        self.name = name
        self.spec: ResourceSpec = mapping.resources[name]
        self.model: type[Record] = ENTITIES[self.spec.entity]
        self.tz = tz
        self._converters = {
            field: make_converter(self.model.model_fields[field].annotation, mapping.settings, tz)
            for field in self.spec.field_specs()
        }

    def required_columns(self) -> dict[str, str]:
        """column -> the first field that needs it."""
        needed: dict[str, str] = {}
        for field, spec in self.spec.field_specs().items():
            if spec.optional:
                continue
            for column in sorted(spec.columns()):
                needed.setdefault(column, field)
        return needed

    def bind(self, header: Sequence[str], source: str, lookups: LookupTables,
             missing_hint: str | None = None) -> BoundResource:
        """The resource bound to a header. ``missing_hint``: what to do about a missing column, as the source
        can be fixed (default: export the table with all its columns)."""
        positions = {name.strip(): i for i, name in enumerate(header)}
        missing = {c: f for c, f in self.required_columns().items() if c not in positions}
        if missing:
            cols = ", ".join(f"{c} (for {f})" for c, f in sorted(missing.items()))
            raise FileLevelError(
                f"{source}: missing column(s) {cols}; the {self.mapping.name!r} mapping needs them. "
                f"{missing_hint or EXPORT_ALL_COLUMNS}"
            )
        unmapped = UnmappedLabels()
        ctx = _Context(self.mapping, positions, lookups, frozenset(self.mapping.settings.null_values), unmapped)
        getters = {field: _getter(ctx, field, spec) for field, spec in self.spec.field_specs().items()}
        defaults = {
            field: spec.default for field, spec in self.spec.field_specs().items() if spec.default is not None
        }
        raw_mode = [(positions[c], c) for c in self.spec.raw_mode_columns if c in positions]
        skip = None
        if self.spec.skip is not None:
            if self.spec.skip.column not in positions:
                raise FileLevelError(f"{source}: missing column {self.spec.skip.column} (for skip)")
            skip = (positions[self.spec.skip.column], frozenset(self.spec.skip.in_))
        bound = BoundResource(self, source, getters, defaults, raw_mode, skip, unmapped)
        id_spec = self.spec.field_specs()["source_id"]
        plain = id_spec.column is not None and not (id_spec.lookup or id_spec.map or id_spec.when or id_spec.default)
        if plain and id_spec.column in positions:
            bound.id_cell = (positions[id_spec.column], ctx.null_values | frozenset(id_spec.null_values))
        return bound


class BoundResource:
    """A compiled resource bound to one file's columns."""

    def __init__(
        self,
        compiled: CompiledResource,
        source: str,
        getters: dict[str, Getter],
        defaults: dict[str, Any],
        raw_mode: list[tuple[int, str]],
        skip: tuple[int, frozenset[str]] | None,
        unmapped: UnmappedLabels,
    ) -> None:
        self.compiled = compiled
        self.unmapped = unmapped  # labels the rows held that no setting places
        self.source = source
        self._getters = getters
        self._defaults = defaults
        self._raw_mode = raw_mode
        self._skip = skip
        converters = compiled._converters
        self._steps = [(field, getter, converters[field], defaults.get(field)) for field, getter in getters.items()]
        # (position, null values) when the id is one column's text as it stands: read without the getter.
        self.id_cell: tuple[int, frozenset[str]] | None = None

    def skips(self, row: Row) -> bool:
        """Rows the mapping leaves out on purpose (not errors)."""
        if self._skip is None:
            return False
        pos, values = self._skip
        return pos < len(row) and row[pos].strip() in values

    def skips_any(self, chunk: Sequence[tuple[int, Row]]) -> bool:
        """Whether the mapping leaves out any of a chunk's (line, row) pairs on purpose (see :meth:`skips`)."""
        if self._skip is None:
            return False
        return any(self.skips(row) for _, row in chunk)

    def check_export_mode(self, rows: Sequence[Row]) -> None:
        """Reject Open Dental's human-readable query export (ids replaced by names)."""
        for pos, column in self._raw_mode:
            values = [r[pos].strip() for r in rows[:RAW_MODE_SAMPLE] if pos < len(r) and r[pos].strip()]
            named = sum(1 for v in values if not v.lstrip("-").isdigit())
            if values and named * 2 > len(values):
                raise FileLevelError(
                    f"{self.source}: column {column} holds names instead of numbers, so this looks like a "
                    "human-readable query export. In Open Dental's User Query window, switch the format from "
                    "Human-readable to Raw, then export again."
                )

    def source_id_of(self, row: Row) -> str | None:
        """The row's id if it can be read (used to label quarantined rows)."""
        try:
            return self.source_id(row)
        except (FieldError, IndexError):
            return None

    def source_id(self, row: Row) -> str:
        """The id the row's record gets, read without mapping the rest of the row."""
        if self.id_cell is not None:
            position, nulls = self.id_cell
            text = row[position].strip() if position < len(row) else ""
            if not text or text in nulls:
                raise FieldError("source_id", "required value is empty", self._column_of("source_id"))
            return text
        try:
            value = self._getters["source_id"](row)
            if value is None:
                value = self._defaults.get("source_id")
            if value is None:
                raise FieldError("source_id", "required value is empty", self._column_of("source_id"))
            return str(self.compiled._converters["source_id"](value))
        except ConversionError as exc:
            raise FieldError("source_id", str(exc), self._column_of("source_id")) from None

    def map_row(self, row: Row) -> Record:
        try:
            return self._map_row(row)
        finally:
            self.unmapped.end_row()

    def _map_row(self, row: Row) -> Record:
        model = self.compiled.model
        data: dict[str, Any] = {}
        for field, getter, convert, default in self._steps:
            try:
                value = getter(row)
                if value is None:
                    value = default
                if value is not None:  # absent: the model's default applies
                    data[field] = convert(value)
            except ConversionError as exc:
                raise FieldError(field, str(exc), self._column_of(field)) from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = key_path(err["loc"]) or "(row)"
            reason = "required value is empty" if err["type"] == "missing" else err["msg"]
            raise FieldError(field, reason, self._column_of(field)) from None

    def _column_of(self, field: str) -> str | None:
        spec = self.compiled.spec.field_specs().get(field)
        return spec.column if spec else None
