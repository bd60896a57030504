"""Failures a user can cause are named (exit 2/3/4), go to stderr only, and the crash message claims only
what is true."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from odexport import write_export
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.store import Store

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_sample_onto_an_existing_file_is_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "exports"
    target.write_text("keep me", encoding="utf-8")
    result = invoke("sample", "--output", str(target), "--patients", "20")
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "cannot write the sample exports to" in message and "existing file" in message
    assert target.read_text(encoding="utf-8") == "keep me" and result.stdout == ""


@pytest.mark.parametrize("blocker", [".", "exports"])
def test_demo_in_a_folder_it_cannot_write_is_exit_2(tmp_path: Path, blocker: str) -> None:
    """As root every folder is writable: a path that runs into a regular file is what cannot be written."""
    folder = tmp_path / "demo"
    if blocker == ".":
        folder.write_text("not a folder", encoding="utf-8")
    else:
        folder.mkdir()
        (folder / blocker).write_text("not a folder", encoding="utf-8")
    result = invoke("demo", "--output", str(folder), "--patients", "20")
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "cannot write the demo to" in message and "Unexpected error" not in message


def test_demo_in_a_read_only_folder_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder the account may not write (simulated: the suite runs as root)."""

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    result = invoke("demo", "--output", str(tmp_path / "demo"), "--patients", "20")
    assert result.exit_code == 2
    assert "Permission denied" in result.stderr and "Unexpected error" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [["tasks", "--format", "json"], ["runs", "--json"], ["quarantine", "--json"], ["check", "--format", "json"]],
    ids=["tasks", "runs", "quarantine", "check"],
)
def test_failures_never_write_to_stdout(tmp_path: Path, args: list[str]) -> None:
    """A config problem: stdout stays empty, so a program reading the JSON sees no half-output."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[practice]\nname = "x"\n', encoding="utf-8")
    result = invoke(*args, "--config", str(bad))
    assert result.exit_code == 2 and result.stdout == ""
    assert "Configuration problem" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["tasks", "--format", "json"], ["runs", "--json"], ["quarantine", "--json"]],
    ids=["tasks", "runs", "quarantine"],
)
def test_a_crash_in_a_reader_stays_off_stdout_and_claims_no_run(
    tmp_path: Path, write_config, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    config = write_config(write_export(tmp_path / "exports"))

    def broken(self: Store, *a: object, **k: object) -> None:
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(Store, "list_runs", broken)
    monkeypatch.setattr(Store, "unfinished_run", broken)
    result = invoke(*args, "--config", str(config))
    assert result.exit_code == 1 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "Unexpected error (RuntimeError" in message and "This is a bug in pms-bridge." in message
    assert "recorded as failed" not in message and "synthetic failure" not in message


def test_a_crash_during_a_run_names_the_run_it_recorded_as_failed(
    tmp_path: Path, write_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(write_export(tmp_path / "exports"))

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr("pms_bridge.pipeline.run.check_store", broken)
    result = invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00")
    assert result.exit_code == 1
    monkeypatch.undo()
    [run] = json.loads(invoke("runs", "--config", str(config), "--json").stdout)
    assert run["status"] == "failed"
    assert f"Run {run['id']} was recorded as failed" in " ".join(result.stderr.split())


def test_a_crash_before_any_run_claims_no_run(tmp_path: Path, write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(write_export(tmp_path / "exports"))

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr("pms_bridge.pipeline.run.load_mapping", broken)
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 1 and "recorded as failed" not in result.stderr
    monkeypatch.undo()
    assert json.loads(invoke("runs", "--config", str(config), "--json").stdout) == []


def test_a_declined_purge_is_not_an_error_and_a_missing_yes_is_exit_2(
    tmp_path: Path, write_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1 means a bug: a purge nobody confirmed is the user's choice (0) or a missing --yes (2)."""
    from pms_bridge.cli import maintenance

    config = write_config(write_export(tmp_path / "exports"))
    assert invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00").exit_code == 0
    monkeypatch.setattr(maintenance, "purge_preview", lambda store, cutoff: {"runs": 3})
    assert invoke("purge", "--config", str(config)).exit_code == 2
    monkeypatch.setattr(maintenance, "_interactive", lambda: True)
    declined = runner.invoke(app, ["purge", "--config", str(config)], input="n\n")
    assert declined.exit_code == 0 and "Nothing deleted" in declined.stderr


def test_unknown_task_key_is_exit_2(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    dismiss = invoke("tasks", "dismiss", "NOPE:x:1", "--config", str(config), "--reason", "x")
    assert dismiss.exit_code == 2 and "No task with key" in dismiss.stderr
    history = invoke("tasks", "history", "NOPE:x:1", "--config", str(config))
    assert history.exit_code == 2 and "No history" in history.stderr
