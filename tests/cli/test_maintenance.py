"""`pms-bridge purge` and `pms-bridge audit` on a store built by the real pipeline."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from odexport import mini_practice, write_export
from typer.testing import CliRunner

from pms_bridge.cli import maintenance
from pms_bridge.cli.maintenance import audit, purge
from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline import parse_as_of, run_sync
from pms_bridge.store import Store

# main.py registers the commands the same way.
app = typer.Typer()
app.command()(purge)
app.command()(audit)

runner = CliRunner()
TZ = ZoneInfo("America/Chicago")
LATER = datetime(2029, 3, 2, 8, 0, tzinfo=TZ)  # "now" for purge: the pipeline's runs are years old by then


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False, env={"COLUMNS": "200"})


@pytest.fixture
def config(tmp_path: Path, write_config) -> Path:
    """Two pipeline runs over the mini practice plus two old past visits and one bad row:
    the second run (three days later) expires the first run's tasks."""
    tables = mini_practice()
    base = tables["appointment"][0]
    tables["appointment"] += [
        {**base, "AptNum": "490", "AptStatus": "2", "AptDateTime": "2020-01-06 09:00:00"},  # complete, old
        {**base, "AptNum": "491", "AptStatus": "5", "AptDateTime": "2020-02-03 10:00:00"},  # broken, old
        {**base, "AptNum": "492", "AptStatus": "1", "AptDateTime": "2020-03-02 10:00:00"},  # still scheduled
        {**base, "AptNum": "499", "AptDateTime": "garbage"},  # quarantined on every run
    ]
    path = write_config(write_export(tmp_path / "exports", tables))
    cfg = load_config(path)
    for as_of in ("2026-03-02T08:00", "2026-03-05T08:00"):
        run_sync(cfg, parse_as_of(as_of, cfg), check=True)
    return path


def _open(config: Path) -> Store:
    cfg = load_config(config)
    return Store.open(cfg.store_url(), cfg.practice.practice())


def _count(output: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\W+([\d,]+)", output)
    assert match, f"{label!r} not in:\n{output}"
    return int(match.group(1).replace(",", ""))


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "now_at_practice", lambda cfg: LATER)


def test_help_teaches() -> None:
    purge_help = invoke("purge", "--help").output
    for text in ("--older-than", "--yes", "cron", "Examples", "pms-bridge purge --config practice.toml"):
        assert text in purge_help
    audit_help = invoke("audit", "--help").output
    for text in ("--since", "--key", "--run", "--limit", "--json", "Examples"):
        assert text in audit_help


def test_purge_without_yes_and_without_a_terminal_refuses(config: Path, later: None) -> None:
    result = invoke("purge", "--config", str(config))
    assert result.exit_code == 2  # the user must pass --yes
    assert "Would delete" in result.output and "--yes" in result.output
    store = _open(config)
    try:
        assert store.count("appointment") == 5 and len(store.list_runs()) == 2
    finally:
        store.close()


def test_purge_asks_and_a_no_deletes_nothing(config: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "_interactive", lambda: True)
    result = invoke("purge", "--config", str(config), input="n\n")
    assert result.exit_code == 0 and "Nothing deleted" in result.output
    store = _open(config)
    try:
        assert store.count("appointment") == 5
    finally:
        store.close()


def test_purge_deletes_old_history_and_prints_counts(config: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _open(config)
    try:
        tasks = Ledger(store).tasks()
        closed = [t.key for t in tasks if t.status != "open"]
        history = sum(len(Ledger(store).history(k)) for k in closed)
        assert closed and any(t.status == "open" for t in tasks)
    finally:
        store.close()

    monkeypatch.setattr(maintenance, "_interactive", lambda: True)
    result = invoke("purge", "--config", str(config), input="y\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "older than 730 days (before 2027-03-03 08:00 America/Chicago)" in out  # 2028 is a leap year
    deleted = out[out.index("Deleted"):]
    assert _count(deleted, "past appointments (no longer scheduled)") == 2
    assert _count(deleted, "closed tasks") == len(closed)
    assert _count(deleted, "task history entries") == history
    assert _count(deleted, "PMS push records") == 0
    assert _count(deleted, "quarantined rows") == 2
    assert _count(deleted, "runs") == 1
    assert f"Deleted {2 + len(closed) + history + 2 + 1} row(s)." in out

    store = _open(config)
    try:
        assert {r["source_id"] for r in store.rows("appointment")} == {"492", "500", "501"}
        assert {t.status for t in Ledger(store).tasks()} == {"open"}
        assert len(store.list_runs()) == 1 and store.quarantined() == []
    finally:
        store.close()

    again = invoke("purge", "--config", str(config), "--yes")
    assert again.exit_code == 0 and "Nothing older than 730 days" in again.output


def test_purge_yes_uses_the_configs_retention_days(tmp_path: Path, config: Path, later: None) -> None:
    # 2000 days before 2029-03-02 is in 2023: only the 2020 visits are that old.
    config.write_text(config.read_text(encoding="utf-8") + "\n[retention]\ndays = 2000\n", encoding="utf-8")
    result = invoke("purge", "--config", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert "older than 2000 days" in result.output
    deleted = result.output[result.output.index("Deleted"):]
    assert _count(deleted, "past appointments (no longer scheduled)") == 2
    assert _count(deleted, "closed tasks") == 0 and _count(deleted, "runs") == 0


def test_purge_rejects_a_too_short_period_and_a_bad_config(tmp_path: Path, config: Path) -> None:
    assert invoke("purge", "--config", str(config), "--older-than", "7", "--yes").exit_code == 2
    config.write_text(config.read_text(encoding="utf-8") + "\n[retention]\ndays = 7\n", encoding="utf-8")
    result = invoke("purge", "--config", str(config), "--yes")
    assert result.exit_code == 2 and "retention.days" in result.output


def test_audit_json_lines_and_filters(config: Path) -> None:
    lines = invoke("audit", "--config", str(config), "--json").output.splitlines()
    events = [json.loads(line) for line in lines]
    assert events and all(e["kind"] == "task" for e in events)
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    assert {e["run_id"] for e in events} == {1, 2}
    assert all(e["rule"] == e["key"].split(":")[0] for e in events)
    expired = [e for e in events if e["to_status"] == "expired"]
    assert expired and all(e["from_status"] == "open" and e["run_id"] == 2 for e in expired)

    run1 = [json.loads(x) for x in invoke("audit", "--config", str(config), "--run", "1", "--json").output.splitlines()]
    assert run1 and all(e["run_id"] == 1 and e["to_status"] == "open" for e in run1)
    key = expired[0]["key"]
    one = [json.loads(x) for x in invoke("audit", "--config", str(config), "--key", key, "--json").output.splitlines()]
    assert [(e["from_status"], e["to_status"]) for e in one] == [("open", "expired"), (None, "open")]
    since = invoke("audit", "--config", str(config), "--since", "2026-03-04", "--json").output.splitlines()
    assert len(since) == len(events) - len(run1)
    assert len(invoke("audit", "--config", str(config), "--limit", "2", "--json").output.splitlines()) == 2


def test_audit_table_shows_ids_and_codes_only(config: Path) -> None:
    result = invoke("audit", "--config", str(config))
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("Audit trail", "when (UTC)", "open → expired", "new → open", "the appointment date passed",
                 "2026-03-05 14:00"):
        assert text in out
    for name in ("Zyxtest", "Qwvtest", "Ona", "Eli"):  # the mini practice's patients
        assert name not in out


def test_audit_rejects_a_bad_since(config: Path) -> None:
    result = invoke("audit", "--config", str(config), "--since", "last week")
    assert result.exit_code == 2 and "--since" in result.output
