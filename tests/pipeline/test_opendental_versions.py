"""`pms-bridge run` against offices on older Open Dental versions: a call the version does not have
fails alone, saying which feature needs which version, and the rest of the run goes on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
from fakes.opendental import FakeOpenDental
from test_opendental_api import LISTS, TASK_SINK, export_rows, run, write_config

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.store import Store


def unavailable(report) -> dict[str, str]:  # noqa: ANN001
    return {r.resource: r.unavailable for r in report.resources if r.unavailable}


def test_the_fake_refuses_what_an_old_office_does_not_have(export: Path) -> None:
    fake = FakeOpenDental.from_export(export, version=(23, 1, 0))
    with fake.mock():
        http = httpx.Client(base_url=fake.base_url, headers=fake.headers())
        assert http.get("/claims").status_code == 400
        assert http.get("/claims", params={"SecDateTEdit": "2026-01-01 00:00:00", "PatNum": "1"}).status_code == 400
        assert http.get("/claims", params={"PatNum": "1"}).status_code == 200  # per patient: older than 23.3.11
        assert http.get("/insverifies").status_code == 400
        assert "version" in http.get("/insverifies").json()
        assert http.get("/patplans", params={"PatNum": "1"}).status_code == 200
        fake.version = (22, 4, 26)
        assert http.get("/refattaches").status_code == http.get("/patplans").status_code == 400
        fake.version = (24, 2, 10)
        assert http.get("/claims").status_code == http.get("/insverifies").status_code == 200


def test_an_old_office_reads_everything_it_has_and_names_what_it_lacks(
    export: Path, tmp_path: Path, keys: None
) -> None:
    fake = FakeOpenDental.from_export(export, version=(23, 1, 0))
    with fake.mock():
        report = run(write_config(tmp_path, "old"))
    assert report.failed == []
    assert unavailable(report) == {
        "claim": "GET /claims needs Open Dental 23.3.11 or newer (the office's version is older): claims are not "
        "read; upgrade Open Dental or ignore the CLM rules",
        "insverify": "GET /insverifies needs Open Dental 23.2.23 or newer (the office's version is older): "
        "insurance verifications are not read; upgrade Open Dental or ignore INS002",
    }
    counts = report.snapshot_counts
    full = {"patient": "patient", "appointment": "appointment", "procedure": "procedurelog", "referral": "refattach"}
    assert {e: counts[e] for e in full} == {e: export_rows(export, t) for e, t in full.items()}
    assert counts["coverage"] > 0 and counts.get("claim", 0) == 0 and counts.get("verification", 0) == 0
    assert report.checks is not None  # the rules still ran: every planted problem but those verifications show
    found = {(f.rule, f.patient_id) for f in report.checks.findings}
    planted = {(p["rule"], p["patient_id"]) for p in json.loads((export / "planted.json").read_text())}
    assert found <= planted and {rule for rule, _ in planted - found} <= {"INS001", "INS002", "CLM001", "CLM002"}
    assert {rule for rule, _ in found} == {rule for rule, _ in planted} - {"INS002", "CLM001", "CLM002"}
    # ... except those that would task every covered patient as never verified, or every visit as never billed:
    # they read what is missing
    skipped = {"INS002": ["verification"], "CLM001": ["claim"], "CLM002": ["claim"]}
    assert report.checks.skipped == skipped and "INS002" not in report.checks.rules
    assert report.unavailable_entities == {"verification", "claim"}
    assert report.status == "ok"  # a night like every other on that office: said, not a partial run
    assert report.to_summary()["rules_skipped"] == skipped
    assert sum(1 for r in fake.requests if r.path == "/claims") == 1  # refused once: not retried


def test_an_office_older_than_patplans_and_refattaches_says_so(
    export: Path, tmp_path: Path, keys: None
) -> None:
    fake = FakeOpenDental.from_export(export, version=(22, 4, 0))
    with fake.mock():
        report = run(write_config(tmp_path, "older"))
    lacking = unavailable(report)
    assert lacking["patplan"].startswith("GET /patplans needs Open Dental 22.4.27 or newer")
    assert lacking["refattach"].startswith("GET /refattaches needs Open Dental 22.4.27 or newer")
    assert report.snapshot_counts["appointment"] == export_rows(export, "appointment")
    assert report.snapshot_counts["coverage"] == report.snapshot_counts["referral"] == 0
    assert report.checks is not None
    assert set(report.checks.skipped) == {"INS001", "INS002", "INS003", "REF004", "PA001", "CLM001", "CLM002"}


def test_an_office_before_24_2_10_keeps_its_tasks_open_with_one_warning(
    export: Path, tmp_path: Path, keys: None
) -> None:
    fake = FakeOpenDental.from_export(export, version=(24, 1, 0))
    for name in LISTS:
        fake.add_tasklist(name)
    config = write_config(tmp_path, "tasks", extra=TASK_SINK)
    with fake.mock():
        first = run(config)
        ins = next(t for t in fake.tasks.values() if "INS002" in t["Descript"])
        patplan = ins["Descript"].split("[pms-bridge INS002:coverage:")[1].split("]")[0]
        fake.insert("insverify", {"InsVerifyNum": "", "DateLastVerified": "2026-03-02", "VerifyType": "2",
                                  "FKey": patplan, "DefNum": "0"})
        fake.advance(hours=1)
        second = run(config)
    assert first.status == "ok" and first.tasks is not None and first.tasks.push_failures == 0
    assert second.tasks is not None and second.tasks.counts["resolved"] == 1  # the verified coverage's task
    (sink,) = [s for s in second.tasks.sinks if s.type == "opendental-tasks"]
    assert sink.error is None and sink.warning is not None
    assert sink.warning.startswith("marking tasks Done in Open Dental needs Open Dental 24.2.10 or newer")
    assert second.status == "ok"  # a warning, not N failed pushes every night
    assert fake.tasks[ins["TaskNum"]]["TaskStatus"] == "New"
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    key = ins["Descript"].split("[pms-bridge ")[1].split("]")[0]
    assert next(t for t in Ledger(store).tasks() if t.key == key).status == "resolved"  # our own list resolves it
    runs = store.list_runs(1)
    store.close()
    assert runs[0].summary["sinks"][0]["warning"] == sink.warning  # kept with the run (pms-bridge runs --json)



def test_an_office_before_eforms_reads_its_sheets_on_the_query_route(
    export: Path, tmp_path: Path, keys: None
) -> None:
    """Open Dental 24.3 added the eform table: on an older office ShortQuery refuses it, and that is said once."""
    fake = FakeOpenDental.from_export(export)
    del fake.tables["eform"]  # an office on 24.2: no such table
    with fake.mock():
        report = run(write_config(tmp_path, "pre-eforms", route="query"))
    assert report.failed == [] and report.status == "ok"
    assert unavailable(report) == {
        "eform": "the eform table needs Open Dental 24.3 or newer (the query for it was refused, as on an older "
        "version): its rows are not read"}
    assert report.checks is not None and report.checks.skipped == {}  # forms still come from sheets
    with (export / "sheet.csv").open(newline="", encoding="utf-8") as fh:
        sheets = sum(1 for row in csv.DictReader(fh) if row["IsDeleted"] == "0")
    assert report.snapshot_counts["form"] == sheets  # every sheet the query reads (not deleted ones), no eform


def test_check_between_runs_leaves_out_what_the_office_cannot_serve(export: Path, tmp_path: Path, keys: None) -> None:
    from pms_bridge.pipeline.run import check_only

    fake = FakeOpenDental.from_export(export, version=(23, 1, 0))
    config = write_config(tmp_path, "old-check")
    with fake.mock():
        run(config)
    report, _ = check_only(load_config(config), DEMO_AS_OF)
    assert report.skipped == {"INS002": ["verification"], "CLM001": ["claim"], "CLM002": ["claim"]}
    assert not [f for f in report.findings if f.rule in ("INS002", "CLM001", "CLM002")]
    from typer.testing import CliRunner

    from pms_bridge.cli.main import app

    result = CliRunner().invoke(app, ["check", "--config", str(config), "--as-of", "2026-03-02T08:00"])
    assert result.exit_code == 0, result.output
    assert "INS002 (needs verification)" in " ".join(result.output.split())
