"""The ledger over many runs of the real pipeline on the sample practice."""

from __future__ import annotations

import csv
import json
import shutil
import stat
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice
from pms_bridge.sinks import tasks_json
from pms_bridge.store import Store

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "src/pms_bridge/sinks/tasks.schema.json").read_text())


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=7, patients=200)
    return folder


@pytest.fixture
def sample_practice(pristine: Path, tmp_path: Path, store_url: str, practice):  # noqa: ANN001, ANN201
    export = tmp_path / "exports"
    shutil.copytree(pristine, export)
    config = tmp_path / "practice.toml"
    key = practice.key  # unique per test: a shared PostgreSQL keeps earlier sessions' rows
    config.write_text(
        f'[practice]\nname = "Ledger Dental"\nkey = "{key}"\ntimezone = "America/Chicago"\n'
        f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "exports"\n[store]\nurl = "{store_url}"\n'
        '[[sinks]]\ntype = "json"\npath = "out/tasks.json"\n[[sinks]]\ntype = "csv"\npath = "out/tasks.csv"\n'
    )
    return export, config


def _run(config: Path, as_of=DEMO_AS_OF):  # noqa: ANN001, ANN202
    return run_sync(load_config(config), as_of, check=True)


def _ledger(config: Path) -> tuple[Store, Ledger]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    return store, Ledger(store)


def _planted(export: Path, rule: str) -> dict:
    return next(p for p in json.loads((export / "planted.json").read_text()) if p["rule"] == rule)


def _append(path: Path, row: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow([row.get(c, "0") for c in header])


def _edit(path: Path, key_col: str, key: str, changes: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    for row in rows:
        if row[key_col] == key:
            row.update(changes)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_rerunning_the_same_data_opens_nothing_new(sample_practice) -> None:
    export, config = sample_practice
    first = _run(config)
    second = _run(config)
    planted = json.loads((export / "planted.json").read_text())
    assert {(f.rule, f.patient_id) for f in first.checks.findings} == {(p["rule"], p["patient_id"]) for p in planted}
    assert first.tasks.counts["opened"] == len(first.checks.findings)
    assert second.tasks.counts["opened"] == 0 and second.tasks.counts["updated"] == 0
    assert second.tasks.counts["unchanged"] == len(first.checks.findings)
    store, ledger = _ledger(config)
    assert len(ledger.tasks(["open"])) == len(first.checks.findings)
    store.close()


def test_fixed_problems_resolve_new_ones_open_dismissed_stay(sample_practice) -> None:
    export, config = sample_practice
    _run(config)
    store, ledger = _ledger(config)
    before = {t.key: t for t in ledger.tasks(["open"])}
    dismissed = next(k for k in before if k.startswith("REF004"))
    ledger.dismiss(dismissed, "specialist called back, not in the PMS yet", DEMO_AS_OF)
    store.close()

    # Fix three problems in the PMS data ...
    ins = _planted(export, "INS002")  # record an eligibility verification today
    _append(export / "insverify.csv", {"InsVerifyNum": "990001", "DateLastVerified": "2026-03-02", "VerifyType": "2",
                                       "FKey": ins["subject_id"], "DefNum": "0", "SecDateTEdit": "2026-03-02 08:30:00"})
    frm = _planted(export, "FRM002")  # the patient completed a health history
    _append(export / "sheet.csv", {"SheetNum": "990002", "SheetType": "11", "PatNum": frm["patient_id"],
                                   "DateTimeSheet": "2026-03-02 08:15:00", "Description": "Medical History",
                                   "IsWebForm": "1", "IsDeleted": "0", "DateTSheetEdited": "2026-03-02 08:15:00"})
    sch = _planted(export, "SCH002")  # the procedure's provider corrected to the appointment's
    with (export / "appointment.csv").open(newline="", encoding="utf-8") as fh:
        apt = next(r for r in csv.DictReader(fh) if r["AptNum"] == sch["appointment_id"])
    _edit(export / "procedurelog.csv", "ProcNum", sch["subject_id"], {"ProvNum": apt["ProvNum"]})
    # ... and make a new one: a booked appointment with nothing attached.
    _append(export / "appointment.csv", {"AptNum": "990003", "PatNum": frm["patient_id"], "AptStatus": "1",
                                         "Pattern": "XXXXXX", "Confirmed": "0", "Op": "1", "ProvNum": apt["ProvNum"],
                                         "ProvHyg": "0", "AptDateTime": "2026-03-10 13:00:00", "IsNewPatient": "0",
                                         "IsHygiene": "0", "AppointmentTypeNum": "0",
                                         "SecDateTEntry": "2026-03-02 08:40:00", "DateTStamp": "2026-03-02 08:40:00"})

    report = _run(config, DEMO_AS_OF + timedelta(hours=2))

    store, ledger = _ledger(config)
    after = {t.key: t for t in ledger.tasks()}
    store.close()
    resolved = {k for k, t in after.items() if t.status == "resolved"}
    assert {k.split(":")[0] for k in resolved} == {"INS002", "FRM002", "SCH002"}
    assert len(resolved) == 3 and report.tasks.counts["resolved"] == 3
    assert {k for k in after if k not in before} == {"SCH003:appointment:990003"}
    assert after["SCH003:appointment:990003"].status == "open"
    assert after[dismissed].status == "dismissed"
    assert all(after[k].status == "open" for k in before if k not in resolved and k != dismissed)


def test_exports_follow_the_contract_and_are_private(sample_practice) -> None:
    export, config = sample_practice
    report = _run(config)
    out = config.parent / "out"
    data = json.loads((out / "tasks.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert len(data) == report.tasks.open_tasks
    assert {r.type for r in report.tasks.sinks} == {"json", "csv"}
    for name in ("tasks.json", "tasks.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    with (out / "tasks.csv").open(newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(data)
    names = {row.split(",")[1] for row in (export / "patient.csv").read_text().splitlines()[1:]}
    text = (out / "tasks.json").read_text() + (out / "tasks.csv").read_text()
    assert not any(f'"{n}"' in text or f",{n}," in text for n in names), "patient names leaked into exports"


def test_history_records_every_transition(sample_practice) -> None:
    export, config = sample_practice
    _run(config)
    store, ledger = _ledger(config)
    key = ledger.tasks(["open"])[0].key
    ledger.dismiss(key, "duplicate of a phone task", DEMO_AS_OF + timedelta(minutes=5))
    entries = ledger.history(key)
    store.close()
    assert [(e.from_status, e.to_status) for e in entries] == [(None, "open"), ("open", "dismissed")]
    assert entries[0].run_id is not None and entries[1].run_id is None
    assert "duplicate of a phone task" in entries[1].cause


def test_all_statuses_validate_against_the_schema(sample_practice) -> None:
    export, config = sample_practice
    _run(config)
    store, ledger = _ledger(config)
    ledger.dismiss(ledger.tasks(["open"])[0].key, "test", DEMO_AS_OF)
    store.close()
    _run(config, DEMO_AS_OF + timedelta(days=20))  # the first window's appointments have passed
    store, ledger = _ledger(config)
    tasks = ledger.tasks()
    store.close()
    assert {t.status for t in tasks} == {"open", "dismissed", "resolved", "expired"}
    listed = json.loads(tasks_json(tasks))
    jsonschema.validate(listed, SCHEMA)
    assert sorted(t["status"] for t in listed) == sorted(t.status for t in tasks)
