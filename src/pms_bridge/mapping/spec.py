"""The declarative mapping file format (validated with pydantic).

A mapping says which source resource (a CSV file, an API resource) feeds which
normalized entity, and how each normalized field is computed from the
source's columns: copied, translated through a value map, resolved through
reference tables (lookups), or computed by a named derivation. Everything
that differs between PMS dialects or between practices lives here, not in
code.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MapValue = str | bool | int
UNMAPPED_KEY = "_other"  # a value map's fallback for values it does not list


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """Use the field only when another column has one of the listed values."""

    column: str
    in_: list[str] = Field(alias="in", min_length=1)


class FieldSpec(_Strict):
    """How one normalized field is computed from a source row."""

    column: str | None = Field(default=None, description="Source column to read.")
    const: MapValue | None = Field(default=None, description="A constant value instead of a column.")
    derive: str | None = Field(default=None, description="Name of a derivation (see `pms-bridge schema mapping`).")
    inputs: dict[str, FieldSpec] = Field(
        default_factory=dict, description="Named inputs of the derivation (a column name or a field spec)."
    )
    null_values: list[str] = Field(
        default_factory=list, description="Extra values meaning 'empty' for this field, e.g. '0' for an unset id."
    )
    when: Condition | None = None
    lookup: list[str] = Field(
        default_factory=list,
        description="Hops through reference tables: 'table.Column' looks the current value up by "
        "the table's key and takes Column.",
    )
    map: str | None = Field(default=None, description="Name of a value map under [maps].")
    default: MapValue | None = Field(default=None, description="Value used when the result is empty.")
    optional: bool = Field(default=False, description="The column may be absent from an export.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _expand_inputs(cls, inputs: Any) -> Any:
        if isinstance(inputs, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in inputs.items()}
        return inputs

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        sources = [self.column is not None, self.const is not None, self.derive is not None]
        if sum(sources) != 1:
            raise ValueError("give exactly one of 'column', 'const' or 'derive'")
        if self.inputs and self.derive is None:
            raise ValueError("'inputs' only goes with 'derive'")
        for hop in self.lookup:
            if hop.count(".") != 1 or not all(hop.split(".")):
                raise ValueError(f"lookup hop {hop!r} must look like 'table.Column'")
        return self

    def columns(self) -> set[str]:
        """Source columns this field reads (required unless optional)."""
        cols = {self.column} if self.column else set()
        if self.when:
            cols.add(self.when.column)
        for spec in self.inputs.values():
            if not spec.optional:
                cols |= spec.columns()
        return cols


class LookupSpec(_Strict):
    """A reference table (definitions, carriers, plans ...) used to resolve ids."""

    files: list[str] = Field(default_factory=list, description="File/resource names; default: the table name.")
    key: str
    columns: list[str] = Field(min_length=1)


class ResourceSpec(_Strict):
    """One source resource that produces one normalized entity."""

    entity: str
    files: list[str] = Field(default_factory=list, description="File/resource names; default: the resource name.")
    raw_mode_columns: list[str] = Field(
        default_factory=list,
        description="Integer id columns: names in them mean a human-readable (not raw) export.",
    )
    skip: Condition | None = Field(default=None, description="Rows to leave out (not errors).")
    fields: dict[str, FieldSpec | str]

    @field_validator("fields")
    @classmethod
    def _expand(cls, fields: dict[str, FieldSpec | str]) -> dict[str, FieldSpec | str]:
        if "source_id" not in fields:
            raise ValueError("every resource needs a 'source_id' field")
        return {name: FieldSpec(column=spec) if isinstance(spec, str) else spec for name, spec in fields.items()}

    def field_specs(self) -> dict[str, FieldSpec]:
        return {k: v for k, v in self.fields.items() if isinstance(v, FieldSpec)}


class Settings(_Strict):
    """Parsing settings and the knobs derivations use; a practice may override them."""

    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d", "%m/%d/%Y"])
    datetime_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M:%S %p",
                                 "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M"]
    )
    null_values: list[str] = Field(default_factory=lambda: [""])
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "True", "TRUE", "yes", "Yes", "Y", "y"])
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "False", "FALSE", "no", "No", "N", "n"])
    minutes_per_pattern_char: int = Field(default=5, ge=1, le=60)
    time_increment: Literal[5, 10, 15] | None = Field(
        default=None,
        description="Minutes per character of the PMS's procedure times. Default: read from the PMS (Open Dental: "
        "the AppointmentTimeIncrement preference); set it only when the PMS's preference cannot be read.",
    )
    radiograph_categories: dict[str, str] = Field(
        default_factory=dict,
        description="Image category name -> radiograph kind (bitewing, periapical, fmx, pano, ceph, cbct, other), or "
        "'none' for a category that holds no radiographs. A category that neither this nor "
        "radiograph_category_patterns places is listed in the run summary under this key.",
    )
    radiograph_category_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Regular expression (searched in order, ignoring case) -> radiograph kind or 'none', for image "
        "categories radiograph_categories does not list: places a practice's own category names by meaning.",
    )
    form_titles: dict[str, str] = Field(
        default_factory=dict,
        description="Form/sheet title -> kind (registration, health_history, consent, other), whatever the form's "
        "type. A patient form whose title neither this nor form_title_patterns places is kind 'other' and is "
        "listed in the run summary under this key.",
    )
    form_title_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="Regular expression (searched in order, ignoring case) -> kind, for patient forms whose title "
        "form_titles does not list: places a practice's own form names by meaning.",
    )
    specialist_specialties: list[str] = Field(
        default_factory=list,
        description="Provider specialty names that make a provider a specialist. A specialty name that neither "
        "this, hygienist_specialties nor dentist_specialties lists counts as a dentist and is listed in the run "
        "summary under this key.",
    )
    hygienist_specialties: list[str] = Field(
        default_factory=list, description="Provider specialty names that make a provider a hygienist."
    )
    dentist_specialties: list[str] = Field(
        default_factory=list, description="Provider specialty names of general dentists."
    )

    @field_validator("form_title_patterns", "radiograph_category_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: dict[str, str]) -> dict[str, str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc.msg})") from None
        return patterns


class MappingFile(_Strict):
    """A whole mapping file (`mappings/*.toml`)."""

    name: str
    description: str = ""
    extends: str | None = Field(default=None, description="Another mapping this one overrides.")
    source_format: Literal["tables", "api"] = "tables"
    settings: Settings = Field(default_factory=Settings)
    maps: dict[str, dict[str, MapValue]] = Field(default_factory=dict)
    patterns: dict[str, dict[str, MapValue]] = Field(
        default_factory=dict,
        description="Per value map: regular expressions (searched in order, ignoring case) tried when a value is "
        "not listed in the map itself, before its '_other' fallback. Matches a practice's own labels by meaning.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Value maps that hold the practice's own labels -> what the labels are. A label such a map "
        "cannot place is listed in the run summary under the config key that maps it.",
    )
    lookups: dict[str, LookupSpec] = Field(default_factory=dict)
    resources: dict[str, ResourceSpec] = Field(default_factory=dict)

    def lookup_files(self, name: str) -> list[str]:
        return self.lookups[name].files or [name]

    def resource_files(self, name: str) -> list[str]:
        return self.resources[name].files or [name]


class MappingOverrides(_Strict):
    """What a practice's config may change in a shipped mapping (`[mapping]` in the config)."""

    settings: dict[str, Any] = Field(default_factory=dict)
    maps: dict[str, dict[str, MapValue]] = Field(default_factory=dict)
    patterns: dict[str, dict[str, MapValue]] = Field(default_factory=dict)
