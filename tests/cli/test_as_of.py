"""--as-of: the calendar's edges are a named exit 2, and a run is not backdated before stored data by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from odexport import write_export
from typer.testing import CliRunner

from pms_bridge.cli.main import app

runner = CliRunner()
EDGES = [
    "0001-01-01",
    "0001-01-01T00:00+05:00",  # off the calendar once converted to the practice's timezone
    "9999-12-31T23:59",
    "9999-12-31T23:59-12:00",
    "9999-12-31",
    "1899-12-31T23:59",
    "3000-01-01",
]


@pytest.fixture
def config(tmp_path: Path, write_config) -> Path:
    return write_config(write_export(tmp_path / "exports"))


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize("as_of", EDGES)
def test_as_of_at_the_edges_of_the_calendar_is_a_named_exit_2(config: Path, command: str, as_of: str) -> None:
    result = invoke(command, "--config", str(config), "--as-of", as_of)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "Configuration problem" in message and "outside the years 1900 to 2999" in message
    assert "Unexpected error" not in message and result.stdout == ""


@pytest.mark.parametrize("as_of", ["1900-01-01T00:00", "2999-12-31T23:59"])
def test_the_first_and_last_accepted_as_of_work_end_to_end(tmp_path: Path, write_config, as_of: str) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    result = invoke("run", "--config", str(config), "--as-of", as_of, "--backdate")
    assert result.exit_code == 0, result.output
    assert invoke("check", "--config", str(config), "--as-of", as_of).exit_code == 0


def test_sample_refuses_an_as_of_off_the_calendar(tmp_path: Path) -> None:
    result = invoke("sample", "--output", str(tmp_path / "s"), "--as-of", "9999-12-31T23:59")
    assert result.exit_code == 2 and "--as-of" in result.stderr and not (tmp_path / "s").exists()


def test_run_before_the_stored_data_needs_backdate(config: Path) -> None:
    assert invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00").exit_code == 0
    open_before = json.loads(invoke("tasks", "--config", str(config)).stdout)

    refused = invoke("run", "--config", str(config), "--as-of", "2020-01-01")
    assert refused.exit_code == 2
    message = " ".join(refused.stderr.split())
    assert "before the newest data already stored (2026-02-27 17:00)" in message and "--backdate" in message
    after = json.loads(invoke("tasks", "--config", str(config)).stdout)
    assert after == open_before, "a refused run changes no task"
    runs = json.loads(invoke("runs", "--config", str(config), "--json").stdout)
    assert len(runs) == 1, "a refused run is not recorded"

    allowed = invoke("run", "--config", str(config), "--as-of", "2020-01-01", "--backdate")
    assert allowed.exit_code == 0, allowed.output
    assert "Checked as of: 2020-01-01 00:00" in allowed.stdout


def test_a_day_of_clock_skew_is_not_a_backdate(config: Path) -> None:
    """The mini practice's newest change is 2026-02-27 17:00 (Chicago): up to a day before is let through."""
    assert invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00").exit_code == 0
    assert invoke("run", "--config", str(config), "--as-of", "2026-02-26T18:00").exit_code == 0
    assert invoke("run", "--config", str(config), "--as-of", "2026-02-26T16:00").exit_code == 2


def test_check_before_the_stored_data_is_allowed_with_a_note(config: Path) -> None:
    assert invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00").exit_code == 0
    result = invoke("check", "--config", str(config), "--as-of", "2020-01-01", "--format", "json")
    assert result.exit_code == 0
    assert isinstance(json.loads(result.stdout), list)
    assert "Note: --as-of 2020-01-01 00:00 is before the newest data already stored" in result.stderr
    quiet = invoke("check", "--config", str(config), "--as-of", "2026-03-02T08:00", "--format", "json")
    assert "Note:" not in quiet.stderr


def test_run_help_explains_backdate() -> None:
    text = " ".join(runner.invoke(app, ["run", "--help"], env={"COLUMNS": "1000"}).stdout.split())
    assert "--backdate" in text and "before the newest data already stored" in text
