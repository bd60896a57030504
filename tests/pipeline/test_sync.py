"""Sync end to end at the library level: bad rows, idempotent loads, changed rows."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from odexport import COLUMNS, mini_practice, write_export, write_table

from pms_bridge.config import load_config
from pms_bridge.connectors import SourceUnavailable
from pms_bridge.model import Practice
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store


def _sync(config_path: Path):  # noqa: ANN202
    return run_sync(load_config(config_path), None)


def _store(config_path: Path) -> Store:
    cfg = load_config(config_path)
    return Store.open(cfg.store_url(), cfg.practice.practice())


def test_mini_practice_loads_every_entity(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    report = _sync(config)
    assert report.status == "ok"
    assert report.snapshot_counts == {
        "provider": 3, "procedure_code": 3, "provider_code_time": 1, "patient": 2, "appointment": 2, "procedure": 3, "coverage": 1,
        "verification": 2, "referral": 2, "document": 3, "form": 3, "claim": 1,
        "claim_procedure": 0,  # the mini practice exports no claimproc table
    }
    referral = next(r for r in report.resources if r.resource == "refattach")
    assert referral.skipped == 1  # the custom referral type


def test_loading_twice_is_an_upsert(tmp_path: Path, write_config, store_url: str) -> None:
    config = write_config(write_export(tmp_path / "exports"), store_url=store_url)
    first = _sync(config)
    second = _sync(config)
    assert first.snapshot_counts == second.snapshot_counts
    assert sum(r.stored.inserted for r in second.resources) == 0
    assert sum(r.stored.updated for r in second.resources) == 0


def test_bad_rows_are_quarantined_and_good_rows_stored(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    apts = tables["appointment"]
    good = copy.deepcopy(apts[0])
    apts.append(good | {"AptNum": "502", "AptDateTime": "2026-13-45 09:00:00"})  # malformed date
    apts.append(good | {"AptNum": "503", "AptStatus": "42"})  # unknown status code
    apts.append(good | {"AptNum": "500", "Pattern": "XX"})  # duplicated id
    apts.append(good | {"AptNum": "504"})  # fine
    export = write_export(tmp_path / "exports", tables)
    # a missing required column: the whole file is refused with a clear error
    claims = [c for c in COLUMNS["claim"] if c != "DateService"]
    write_table(export, "claim", tables["claim"], columns=claims)

    report = _sync(write_config(export))

    assert report.status == "partial"
    appointment = next(r for r in report.resources if r.entity == "appointment")
    assert appointment.rows_read == 6 and appointment.quarantined == 3
    assert appointment.stored.inserted == 3  # 500, 501, 504
    claim = next(r for r in report.resources if r.entity == "claim")
    assert claim.error is not None
    assert "claim.csv" in claim.error and "DateService (for service_date)" in claim.error

    store = _store(write_config(export))
    bad = {q.source_id: q for q in store.quarantined(report.run_id)}
    assert set(bad) == {"502", "503", "500"}
    assert bad["502"].field == "start" and "date" in bad["502"].reason and bad["502"].line == 4  # header is line 1
    assert bad["503"].field == "status" and "appointment_status" in bad["503"].reason
    assert bad["500"].reason.startswith("duplicate id")
    assert all(q.source == "appointment.csv" and q.resource == "appointment" for q in bad.values())
    stored = {r["source_id"]: r for r in store.rows("appointment")}
    assert set(stored) == {"500", "501", "504"}
    assert stored["500"]["minutes"] == 60  # the first row with the id was kept
    assert store.count("patient") == 2  # other files went on
    store.close()


def test_a_bad_row_never_removes_stored_data(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    config = write_config(export)
    _sync(config)
    tables = mini_practice()
    tables["appointment"][0]["AptDateTime"] = "not a date"
    write_table(export, "appointment", tables["appointment"])
    report = _sync(config)
    assert report.quarantined == 1
    store = _store(config)
    assert {r["source_id"] for r in store.rows("appointment")} == {"500", "501"}
    store.close()


def test_quarantine_messages_carry_no_patient_data(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    tables["patient"][0]["Birthdate"] = "Zyxtest-Secret-1980"
    tables["patient"][1]["PatStatus"] = "Qwvtest-Name"
    report = _sync(write_config(write_export(tmp_path / "exports", tables)))
    store = _store(write_config(tmp_path / "exports"))
    texts = " ".join(f"{q.field} {q.reason} {q.source_id}" for q in store.quarantined(report.run_id))
    store.close()
    assert report.quarantined == 2
    assert "Zyxtest" not in texts and "Qwvtest" not in texts


def test_human_readable_export_is_refused(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    for apt in tables["appointment"]:
        apt["PatNum"] = "Zyxtest, Ona"  # Open Dental's human-readable mode puts names in id columns
    report = _sync(write_config(write_export(tmp_path / "exports", tables)))
    appointment = next(r for r in report.resources if r.entity == "appointment")
    assert appointment.error is not None and "Human-readable to Raw" in appointment.error
    assert "Zyxtest" not in appointment.error


def test_tab_delimited_windows_export(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    tables["patient"][0]["Preferred"] = "Zoë"
    export = write_export(tmp_path / "exports", tables, delimiter="\t", suffix=".txt", encoding="cp1252")
    report = _sync(write_config(export))
    assert report.status == "ok", [r.error for r in report.failed]
    store = _store(write_config(export))
    assert {r["preferred_name"] for r in store.rows("patient")} == {"Zoë", None}
    store.close()


def test_no_export_files_is_source_unavailable(tmp_path: Path, write_config) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceUnavailable, match="no export files"):
        _sync(write_config(tmp_path / "empty"))


def test_missing_folder_is_source_unavailable(tmp_path: Path, write_config) -> None:
    with pytest.raises(SourceUnavailable, match="not found"):
        _sync(write_config(tmp_path / "nope"))


def test_cursor_advances_only_for_loaded_files(tmp_path: Path, write_config, practice: Practice) -> None:
    export = write_export(tmp_path / "exports")
    claims = [c for c in COLUMNS["claim"] if c != "DateService"]
    write_table(export, "claim", mini_practice()["claim"], columns=claims)
    config = write_config(export)
    _sync(config)
    store = _store(config)
    stat = (export / "appointment.csv").stat()  # the cursor of a file: the file as it was when loaded
    assert json.loads(store.get_cursor("appointment")) == {"file": "appointment.csv", "size": stat.st_size,
                                                           "mtime_ns": stat.st_mtime_ns}
    assert store.get_cursor("claim") is None
    store.close()


def test_incremental_export_uses_stored_reference_tables(tmp_path: Path, write_config) -> None:
    """A later export with only changed appointments still resolves confirmation labels."""
    export = write_export(tmp_path / "exports")
    config = write_config(export)
    _sync(config)
    for f in export.iterdir():
        if f.stem != "appointment":
            f.unlink()
    tables = mini_practice()
    tables["appointment"][1]["Confirmed"] = "10"
    write_table(export, "appointment", tables["appointment"])
    report = _sync(config)
    apt = next(r for r in report.resources if r.entity == "appointment")
    assert (apt.stored.updated, apt.stored.unchanged) == (1, 1)
    store = _store(config)
    rows = {r["source_id"]: r for r in store.rows("appointment")}
    assert rows["501"]["confirmed"] is True and rows["501"]["confirmation"] == "Appointment Confirmed"
    store.close()


def test_rows_deleted_in_the_pms_leave_the_snapshot(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    config = write_config(export)
    _sync(config)
    tables = mini_practice()
    write_table(export, "appointment", [tables["appointment"][0]])  # appointment 501 was deleted
    report = _sync(config)
    apt = next(r for r in report.resources if r.entity == "appointment")
    assert apt.removed == 1 and apt.warning is None
    store = _store(config)
    assert {r["source_id"] for r in store.rows("appointment")} == {"500"}
    store.close()


def test_a_quarantined_row_is_not_taken_for_deleted(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    config = write_config(export)
    _sync(config)
    tables = mini_practice()
    tables["appointment"][1]["AptDateTime"] = "garbage"
    write_table(export, "appointment", tables["appointment"])
    report = _sync(config)
    apt = next(r for r in report.resources if r.entity == "appointment")
    assert apt.removed == 0 and apt.quarantined == 1
    store = _store(config)
    assert {r["source_id"] for r in store.rows("appointment")} == {"500", "501"}
    store.close()


def test_a_truncated_export_removes_nothing_and_ends_partial(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    template = tables["procedurelog"][0]
    tables["procedurelog"] = [template | {"ProcNum": str(1000 + i)} for i in range(100)]
    export = write_export(tmp_path / "exports", tables)
    config = write_config(export)
    _sync(config)
    write_table(export, "procedurelog", tables["procedurelog"][:30])  # the export job died part way
    report = _sync(config)
    proc = next(r for r in report.resources if r.entity == "procedure")
    assert proc.removed == 0
    assert proc.warning is not None and "lacks 70 of the 100" in proc.warning
    assert report.status == "partial" and report.snapshot_counts["procedure"] == 100  # exit 4: a person should look


def test_change_only_exports_never_remove(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    config = write_config(export, extra="")
    text = config.read_text().replace('path = "', 'export_mode = "changes"\npath = "', 1)
    config.write_text(text)
    _sync(config)
    write_table(export, "appointment", [mini_practice()["appointment"][0]])
    report = _sync(config)
    assert next(r for r in report.resources if r.entity == "appointment").removed == 0
    assert report.snapshot_counts["appointment"] == 2
