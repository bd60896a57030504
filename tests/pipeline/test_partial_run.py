"""A partial run closes no task: when a table could not be read, a missing finding proves nothing.

End to end over a CSV export: night 1 opens tasks; on night 2 the office fixed the problem *and* one
export file is unreadable (a missing required column), so the run is partial and the task stays
open; on night 3 the file is whole again and the task resolves. The broken file feeds the same
entity the rule reads, so the task would stay open even if only the rules reading a failed table
were held back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from odexport import csv_config, mini_practice, write_export, write_table

from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

AS_OF = datetime(2026, 3, 2, 8, tzinfo=ZoneInfo("America/Chicago"))

# (task key, the table the office fixes, the row it adds, the table whose file breaks, its columns)
SCENARIOS = {
    "health-history-added-eform-unreadable": (
        "FRM002:patient:101",
        "sheet",
        {"SheetNum": "4", "SheetType": "11", "PatNum": "101", "DateTimeSheet": "2026-03-01 09:00:00",
         "Description": "Medical History", "IsDeleted": "0"},
        "eform",
        ["EFormNum", "PatNum", "FormType", "Status"],  # no DateTimeShown, no Description
    ),
    "x-ray-added-mount-unreadable": (
        "XR001:patient:101",
        "document",
        {"DocNum": "4", "PatNum": "101", "DocCategory": "20", "DateCreated": "2026-03-01 10:00:00", "ImgType": "1"},
        "mount",
        ["MountNum", "PatNum", "DocCategory"],  # no DateCreated
    ),
}


def _night(config: Path, as_of: datetime):
    cfg = load_config(config)
    report = run_sync(cfg, as_of, check=True)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return report, {t.key: t for t in Ledger(store).tasks()}
    finally:
        store.close()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_partial_run_closes_no_task_and_the_next_whole_run_does(tmp_path: Path, scenario: str) -> None:
    key, fixed, added, broken, columns = SCENARIOS[scenario]
    tables = mini_practice()
    export = write_export(tmp_path / "exports", tables)
    config = csv_config(tmp_path, export)

    first, tasks = _night(config, AS_OF)
    assert first.status == "ok" and tasks[key].status == "open"
    opened = set(tasks)

    # night 2: the office fixed the problem, but one export file cannot be read
    write_table(export, fixed, [*tables[fixed], added])
    write_table(export, broken, [{c: "1" for c in columns}], columns=columns)
    second, tasks = _night(config, AS_OF + timedelta(days=1))
    assert second.status == "partial"
    assert [r.resource for r in second.failed] == [broken]
    assert "missing column" in (second.failed[0].error or "")
    assert key not in {f.key for f in second.checks.findings}  # the finding did vanish ...
    assert tasks[key].status == "open" and tasks[key].resolved_at is None  # ... and the task stays open
    assert {k for k, t in tasks.items() if t.status != "open"} == set()  # no task at all was closed
    assert set(tasks) == opened
    assert second.tasks.counts["resolved"] == second.tasks.counts["expired"] == 0
    assert second.tasks.open_tasks == len(opened)

    # night 3: the file is whole again (removed: the office has no such table): now the fix counts
    (export / f"{broken}.csv").unlink()
    third, tasks = _night(config, AS_OF + timedelta(days=2))
    assert third.status == "ok", [(r.resource, r.error) for r in third.failed]
    assert tasks[key].status == "resolved" and tasks[key].resolved_at == AS_OF + timedelta(days=2)
    assert third.tasks.counts["resolved"] >= 1
