"""Odd values a practice's config can hold where a name of a file is expected: its timezone (zoneinfo
reads it as a path) and its export folder. Each is a configuration problem (exit code 2) with a message
saying what to fix, never an OSError."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.files import FileConnector, SourcePathError
from pms_bridge.errors import ConfigurationProblem
from pms_bridge.model import Practice

ODD_TIMEZONES = {
    "5,000 characters": "America/" + "x" * 5000,
    "a folder of zones": "America",
    "a trailing slash": "America/",
    "a NUL": "America/Chi\x00cago",
    "a way up": "../../../../etc/passwd",
    "absolute": "/etc",
}


@pytest.mark.parametrize("timezone", ODD_TIMEZONES.values(), ids=ODD_TIMEZONES.keys())
def test_an_odd_timezone_is_a_validation_error(timezone: str) -> None:
    with pytest.raises(ValidationError, match="unknown timezone .*use an IANA name such as America/Chicago"):
        Practice(key="p", name="Synthetic Dental", timezone=timezone)


def test_a_real_timezone_is_kept() -> None:
    assert Practice(key="p", name="Synthetic Dental", timezone="America/Argentina/Buenos_Aires").tz.key == (
        "America/Argentina/Buenos_Aires")


def test_an_overlong_timezone_is_not_echoed_whole() -> None:
    with pytest.raises(ValidationError) as caught:
        Practice(key="p", name="Synthetic Dental", timezone="x" * 5000)
    assert "of 5,000 characters" in str(caught.value) and "x" * 100 not in str(caught.value).split("input_value")[0]


@pytest.mark.parametrize("folder", ["x" * 5000, "y" * 300 + "/exports"], ids=["5,000 characters", "a name of 300"])
def test_an_export_folder_no_file_system_can_name_is_a_configuration_problem(tmp_path: Path, folder: str) -> None:
    with pytest.raises(SourcePathError, match=r"\[source\] path .*cannot name a folder .*set it to the folder") as caught:
        FileConnector(load_connector_spec("opendental-csv"), tmp_path / folder)
    assert isinstance(caught.value, ConfigurationProblem)


def _config(tmp_path: Path, timezone: str = "America/Chicago", path: str = "exports") -> Path:
    config = tmp_path / "practice.toml"
    config.write_text(
        f'[practice]\nname = "Synthetic Dental"\nkey = "synthetic"\ntimezone = "{timezone}"\n\n'
        f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "{path}"\n\n[store]\npath = "store.sqlite"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("odd", ["timezone", "path"])
def test_the_run_exits_2_and_says_which_key(tmp_path: Path, odd: str) -> None:
    config = _config(tmp_path, **{odd: "z" * 5000})
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert ("practice.timezone" if odd == "timezone" else "[source] path") in result.output
