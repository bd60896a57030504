"""Every command that writes takes the practice's write lock; readers warn when the latest run did not finish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from odexport import write_export
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.store import Store

runner = CliRunner()
AS_OF = "2026-03-02T08:00"


def invoke(*args: str, **kwargs: object):
    return runner.invoke(app, list(args), **kwargs)


@pytest.fixture
def config(tmp_path: Path, write_config) -> Path:
    path = write_config(write_export(tmp_path / "exports"))
    assert invoke("run", "--config", str(path), "--as-of", AS_OF).exit_code == 0
    return path


@contextmanager
def opened(config: Path) -> Iterator[Store]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        yield store
    finally:
        store.close()


def _tasks(config: Path) -> list[dict]:
    return json.loads(invoke("tasks", "--config", str(config), "--status", "all").stdout)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--as-of", AS_OF],
        ["purge", "--yes"],
        ["tasks", "dismiss", "{key}", "--reason", "handled"],
    ],
    ids=["run", "purge", "dismiss"],
)
def test_a_writer_exits_3_at_once_while_another_holds_the_practice(config: Path, args: list[str]) -> None:
    key = _tasks(config)[0]["key"]
    args = [a.replace("{key}", key) for a in args]
    with opened(config) as holder, holder.hold("nightly-test"):
        result = invoke(*args, "--config", str(config))
        # readers are not blocked by a writer
        assert invoke("tasks", "--config", str(config)).exit_code == 0
    assert result.exit_code == 3, result.output
    message = " ".join(result.stderr.split())
    assert message.startswith("Busy: practice") and "`pms-bridge nightly-test` (pid" in message
    assert "Source unreachable" not in message and result.stdout == ""
    with opened(config) as store:
        assert len(store.list_runs()) == 1, "the refused command recorded no run"
    assert all(t["status"] == "open" for t in _tasks(config)), "and changed no task"
    retry = invoke(*args, "--config", str(config))  # the lock is free again
    assert retry.exit_code == 0, retry.output


def test_a_demo_running_on_the_folder_is_not_cleared_under_it(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert invoke("demo", "--output", str(folder), "--patients", "40").exit_code == 0
    cfg = load_config(folder / "practice.toml")
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        with store.hold("demo"):
            result = invoke("demo", "--output", str(folder), "--patients", "40")
    finally:
        store.close()
    assert result.exit_code == 3 and "Busy:" in result.stderr
    assert (folder / "state" / "sample-family-dental.sqlite").is_file() and (folder / "exports").is_dir()


def test_readers_warn_on_stderr_while_the_latest_run_is_unfinished(config: Path) -> None:
    with opened(config) as store:
        run_id = store.start_run("run", None)  # a run that never finished (its process was killed)
    for args in (["runs", "--json"], ["tasks", "--format", "json"], ["check", "--as-of", AS_OF, "--format", "json"]):
        result = invoke(*args, "--config", str(config))
        assert result.exit_code == 0
        json.loads(result.stdout)  # stdout stays valid JSON
        warning = " ".join(result.stderr.split())
        assert f"Warning: the latest run (run {run_id}, run, started" in warning and "has not finished" in warning
    table = invoke("runs", "--config", str(config))
    assert "running" in table.stdout

    assert invoke("run", "--config", str(config), "--as-of", AS_OF).exit_code == 0  # the next run marks it
    runs = json.loads(invoke("runs", "--config", str(config), "--json").stdout)
    assert [r["status"] for r in runs] == ["ok", "interrupted", "ok"]
    assert "interrupted" in invoke("runs", "--config", str(config)).stdout
    for args in (["runs", "--json"], ["tasks"], ["check", "--as-of", AS_OF]):
        assert "Warning" not in invoke(*args, "--config", str(config)).stderr


def test_a_finished_store_gets_no_warning(config: Path) -> None:
    result = invoke("check", "--config", str(config), "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
