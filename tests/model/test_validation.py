"""The one formatter for validation errors: key path, message, hint; never the value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from pms_bridge.model.validation import format_validation_errors


class _Field(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    default: str | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, _Field]
    sheets: list[_Field] = []


def _error(data: dict) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        _File.model_validate(data)
    return exc.value


def test_one_line_per_problem_with_the_allowed_keys_through_tables_and_lists() -> None:
    exc = _error({"fields": {"id": {"colum": "SECRET-VALUE"}}, "sheets": [{"column": "x", "dflt": 1}]})
    text = format_validation_errors("mapping m.toml", exc, model=_File)
    assert text.splitlines() == [
        "mapping m.toml: 3 problem(s)",
        "  - fields.id.column: Field required. Add it.",
        "  - fields.id.colum: Extra inputs are not permitted. Check the spelling; allowed here: column, default.",
        "  - sheets.0.dflt: Extra inputs are not permitted. Check the spelling; allowed here: column, default.",
    ]
    assert "SECRET-VALUE" not in text


def test_without_the_model_and_with_a_callers_hint() -> None:
    exc = _error({"fields": {"id": {"column": "x", "colum": "y"}}})
    assert "fields.id.colum: Extra inputs are not permitted. Check the spelling: unknown key." in \
        format_validation_errors("m", exc)
    assert format_validation_errors("m", exc, what=" in the file", hint=lambda err: " Mine.").splitlines() == [
        "m: 1 problem(s) in the file",
        "  - fields.id.colum: Extra inputs are not permitted. Mine.",
    ]
