"""Mapping files: shipped ones load; typos fail fast naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pms_bridge.mapping import MappingError, MappingOverrides, load_mapping
from pms_bridge.mapping.spec import MappingFile
from pms_bridge.model import ENTITIES
from pms_bridge.shipped import shipped_names


@pytest.mark.parametrize("name", ["opendental", "canonical"])
def test_shipped_mappings_load_and_cover_every_entity(name: str) -> None:
    mapping = load_mapping(name)
    assert {r.entity for r in mapping.resources.values()} == set(ENTITIES)


def test_shipped_names_include_both_mappings() -> None:
    assert {"opendental", "canonical"} <= set(shipped_names("mappings"))


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_typo_in_field_name_names_file_and_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'name = "x"\n[resources.pts]\nentity = "patient"\n[resources.pts.fields]\nsource_id = "PatNum"\nlast_nme = "LName"\n',
    )
    with pytest.raises(MappingError) as exc:
        load_mapping(str(path))
    assert str(path) in str(exc.value)
    assert "resources.pts.fields.last_nme" in str(exc.value)
    assert "patient has no field 'last_nme'" in str(exc.value)


def test_unknown_key_in_field_spec(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'name = "x"\n[resources.pts]\nentity = "patient"\n'
        '[resources.pts.fields]\nsource_id = { colum = "PatNum" }\n',
    )
    with pytest.raises(MappingError, match=r"resources\.pts\.fields\.source_id.*colum.*unknown key"):
        load_mapping(str(path))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ('status = { column = "S", map = "nope" }', "no value map named 'nope'"),
        ('status = { column = "S", lookup = ["def.ItemName"] }', "no lookup table named 'def'"),
        ('status = { derive = "magic", inputs = {} }', "unknown derivation 'magic'"),
        ('status = { derive = "pattern_minutes", inputs = { p = "X" } }', "pattern_minutes takes inputs ['pattern']"),
        ('status = { column = "S", const = "x" }', "exactly one of 'column', 'const' or 'derive'"),
    ],
)
def test_cross_reference_errors(tmp_path: Path, field: str, expected: str) -> None:
    path = _write(
        tmp_path,
        f'name = "x"\n[resources.pts]\nentity = "patient"\n[resources.pts.fields]\nsource_id = "PatNum"\n{field}\n',
    )
    with pytest.raises(MappingError) as exc:
        load_mapping(str(path))
    assert expected in str(exc.value)
    assert "resources.pts.fields.status" in str(exc.value)


def test_required_fields_must_be_mapped(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "x"\n[resources.a]\nentity = "appointment"\n[resources.a.fields]\nsource_id = "A"\n')
    with pytest.raises(MappingError, match="required field.*patient_id"):
        load_mapping(str(path))


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(str(_write(tmp_path, "name = \n")))


def test_unknown_shipped_name_lists_the_shipped_ones() -> None:
    with pytest.raises(MappingError, match="shipped mappings: .*opendental"):
        load_mapping("dentrix-9000")


def test_extends_and_practice_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "my-od"\nextends = "opendental"\n[settings.radiograph_categories]\n"Xrays" = "fmx"\n')
    mapping = load_mapping(str(path), MappingOverrides(maps={"confirmed": {"Texted": True}}))
    assert mapping.name == "my-od"
    assert mapping.settings.radiograph_categories["Xrays"] == "fmx"
    assert mapping.settings.radiograph_categories["BWs"] == "bitewing"  # inherited
    assert mapping.maps["confirmed"]["Texted"] is True
    assert mapping.maps["confirmed"]["Appointment Confirmed"] is True


def test_invalid_override_setting_fails(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="settings.minutes_per_pattern_char"):
        load_mapping("opendental", MappingOverrides(settings={"minutes_per_pattern_char": 0}))


def test_mapping_json_schema_describes_the_format() -> None:
    schema = MappingFile.model_json_schema()
    text = json.dumps(schema)
    assert "resources" in schema["properties"] and "FieldSpec" in text and "raw_mode_columns" in text
