"""Load a mapping by shipped name or path, apply `extends` and a practice's
overrides, and check it against the normalized model."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pms_bridge.mapping.derive import DERIVATIONS, OPTIONAL_INPUTS
from pms_bridge.mapping.errors import MappingError
from pms_bridge.mapping.spec import FieldSpec, MappingFile, MappingOverrides
from pms_bridge.model import ENTITIES
from pms_bridge.model.validation import format_validation_errors
from pms_bridge.shipped import shipped_dir, shipped_names


def resolve_mapping_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A shipped mapping's name (``opendental``) or a path to a TOML file."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if not path.is_file():
            raise MappingError(f"mapping file {path} not found")
        return path
    path = shipped_dir("mappings") / f"{name_or_path}.toml"
    if not path.is_file():
        raise MappingError(
            f"unknown mapping {name_or_path!r}; shipped mappings: {', '.join(shipped_names('mappings'))} "
            "(or give a path to your own .toml)"
        )
    return path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None


def _deep_merge(base: dict[str, Any], override: dict[str, Any], parent: str = "") -> dict[str, Any]:
    """Tables merge key by key, except a resource's field specs: an override replaces the whole spec."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and parent != "fields":
            merged[key] = _deep_merge(merged[key], value, key)
        else:
            merged[key] = value
    return merged


def _raw_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise MappingError(f"{path}: 'extends' forms a cycle")
    raw = _read_toml(path)
    parent = raw.get("extends")
    if isinstance(parent, str):
        base = _raw_mapping(resolve_mapping_path(parent, path.parent), (*seen, path))
        base.pop("extends", None)
        raw = _deep_merge(base, raw)
    return raw


def load_mapping(
    name_or_path: str,
    overrides: MappingOverrides | None = None,
    relative_to: Path | None = None,
) -> MappingFile:
    path = resolve_mapping_path(name_or_path, relative_to)
    raw = _raw_mapping(path)
    if overrides is not None:
        raw = _deep_merge(raw, {"settings": overrides.settings, "maps": overrides.maps, "patterns": overrides.patterns})
    try:
        mapping = MappingFile.model_validate(raw)
    except ValidationError as exc:
        raise MappingError(format_validation_errors(f"mapping {path}", exc)) from None
    problems = check_mapping(mapping)
    if problems:
        raise MappingError(f"mapping {path}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))
    return mapping


def _check_field(mapping: MappingFile, where: str, spec: FieldSpec, problems: list[str]) -> None:
    if spec.map is not None and spec.map not in mapping.maps:
        problems.append(f"{where}.map: no value map named {spec.map!r} under [maps]")
    for hop in spec.lookup:
        table, column = hop.split(".")
        if table not in mapping.lookups:
            problems.append(f"{where}.lookup: no lookup table named {table!r} under [lookups]")
        elif column not in mapping.lookups[table].columns:
            problems.append(f"{where}.lookup: lookup {table!r} does not keep column {column!r} (add it to its columns)")
    if spec.derive is not None:
        if spec.derive not in DERIVATIONS:
            problems.append(f"{where}.derive: unknown derivation {spec.derive!r}; known: {', '.join(sorted(DERIVATIONS))}")
        else:
            required, optional = DERIVATIONS[spec.derive][0], OPTIONAL_INPUTS.get(spec.derive, frozenset())
            if not required <= set(spec.inputs) <= required | optional:
                extra = f" (optional: {sorted(optional)})" if optional else ""
                problems.append(f"{where}.inputs: {spec.derive} takes inputs {sorted(required)}{extra}")
    for name, sub in spec.inputs.items():
        _check_field(mapping, f"{where}.inputs.{name}", sub, problems)


def _check_patterns(mapping: MappingFile, problems: list[str]) -> None:
    for name, table in mapping.patterns.items():
        if name not in mapping.maps:
            problems.append(f"patterns.{name}: no value map named {name!r} under [maps]")
        for pattern in table:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"patterns.{name}: {pattern!r} is not a valid regular expression ({exc.msg})")
    for name in mapping.labels:
        if name not in mapping.maps:
            problems.append(f"labels.{name}: no value map named {name!r} under [maps]")


def check_mapping(mapping: MappingFile) -> list[str]:
    """Cross-reference checks pydantic cannot do alone (entity and field names, map and lookup names)."""
    problems: list[str] = []
    _check_patterns(mapping, problems)
    for res_name, res in mapping.resources.items():
        where = f"resources.{res_name}"
        model = ENTITIES.get(res.entity)
        if model is None:
            problems.append(f"{where}.entity: unknown entity {res.entity!r}; known: {', '.join(ENTITIES)}")
            continue
        for field_name, spec in res.field_specs().items():
            if field_name not in model.model_fields:
                problems.append(
                    f"{where}.fields.{field_name}: {res.entity} has no field {field_name!r}; "
                    f"fields: {', '.join(model.model_fields)}"
                )
                continue
            _check_field(mapping, f"{where}.fields.{field_name}", spec, problems)
        missing = [
            name for name, info in model.model_fields.items() if info.is_required() and name not in res.fields
        ]
        if missing:
            problems.append(f"{where}.fields: required field(s) {', '.join(missing)} not mapped")
    return problems
