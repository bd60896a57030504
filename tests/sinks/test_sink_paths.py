"""A file sink's path that no file system can hold is refused when the config is read (a configuration
problem naming the key: exit code 2), not when the list is written at the end of a run; a path too long
for the system as a whole fails that one sink (exit code 4), never the run with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from odexport import write_export
from pydantic import ValidationError
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.sinks.registry import validate_settings

ODD_PATHS = {
    "only a NUL": ("\x00", "NUL character"),
    "a NUL inside": ("out/tasks\x00.json", "NUL character"),
    "a name of 300": ("out/" + "t" * 300 + ".json", "longer than 255 bytes"),
    "a folder name of 256 bytes": ("é" * 128 + "/tasks.json", "longer than 255 bytes"),
}


@pytest.mark.parametrize(("path", "why"), ODD_PATHS.values(), ids=ODD_PATHS.keys())
@pytest.mark.parametrize("sink", ["json", "csv", "html"])
def test_sink_settings_refuse_a_path_no_file_can_have(sink: str, path: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as caught:
        validate_settings(sink, {"type": sink, "path": path})
    assert [e["loc"] for e in caught.value.errors()] == [("path",)]


@pytest.mark.parametrize("path", ["out/tasks.json", "t" * 255, "é" * 127 + "/tasks.json"])
def test_sink_settings_keep_a_path_a_file_can_have(path: str) -> None:
    assert validate_settings("json", {"type": "json", "path": path}).path == Path(path)  # type: ignore[attr-defined]


def test_the_run_exits_2_naming_the_sink_key(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"), extra='\n[[sinks]]\ntype = "json"\npath = "\\u0000"\n')
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "sinks.0.path" in result.output and "NUL character" in result.output
    assert "Traceback" not in result.output


def test_a_path_too_long_for_the_system_fails_that_sink_only(tmp_path: Path, write_config) -> None:
    target = "/".join(["d" * 200] * 30) + "/tasks.json"  # each name fits; the whole path is past PATH_MAX
    config = write_config(write_export(tmp_path / "exports"), extra=f'\n[[sinks]]\ntype = "json"\npath = "{target}"\n')
    report = run_sync(load_config(config), None, check=True)
    assert report.tasks is not None
    (sink,) = report.tasks.sinks
    assert sink.error is not None and sink.error.startswith("cannot write")
    assert report.status == "partial"
