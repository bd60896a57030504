"""`pms-bridge runs` (table view) shows the last run's warnings, as the run's own summary printed them."""

from __future__ import annotations

import json
from pathlib import Path

from odexport import write_export
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.store import Store

runner = CliRunner()
WARNING = ("2 tables of the Open Dental database are not InnoDB (MyISAM: claim, procedurelog): a consistent "
           "snapshot does not cover them")


def record_run(config: Path, warnings: list[str]) -> int:
    """A finished run whose summary holds ``warnings`` (what a database run with MyISAM tables records)."""
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        run_id = store.start_run("run", None)
        store.finish_run(run_id, "ok", {"quarantined": 0, "warnings": warnings})
        return run_id
    finally:
        store.close()


def runs_table(config: Path) -> str:
    result = runner.invoke(app, ["runs", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_runs_shows_the_last_runs_warnings(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    warned = record_run(config, [WARNING])
    assert f"Run {warned}: Warning: {WARNING}" in runs_table(config)
    # the JSON view carries them as well
    (run,) = json.loads(runner.invoke(app, ["runs", "--config", str(config), "--json"]).stdout)
    assert run["summary"]["warnings"] == [WARNING]

    result = runner.invoke(app, ["run", "--config", str(config)], catch_exceptions=False)  # a run without any
    assert result.exit_code == 0, result.output
    listed = runs_table(config)
    assert "Warning:" not in listed and "InnoDB" not in listed  # an older run's warnings are not the last run's
