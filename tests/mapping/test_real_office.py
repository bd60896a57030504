"""What live Open Dental offices hold, through the opendental mapping: undated appointments,
time increments and per-provider times, and the practice's own status labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from odexport import mini_practice, sync_export, write_export

from pms_bridge.pipeline.report import SyncReport

Tables = dict[str, list[dict[str, str]]]


def _sync(tmp: Path, tables: Tables, extra: str = "") -> tuple[SyncReport, dict[str, dict[str, dict]]]:
    return sync_export(tmp, write_export(tmp / "exports", tables), extra)


def _apt(num: str, status: str, when: str) -> dict[str, str]:
    return {"AptNum": num, "PatNum": "100", "AptStatus": status, "Pattern": "/XX/", "Confirmed": "0", "Op": "0",
            "ProvNum": "1", "ProvHyg": "0", "AptDateTime": when, "IsNewPatient": "0", "IsHygiene": "0",
            "AppointmentTypeNum": "0"}


def test_undated_planned_and_unscheduled_appointments_are_stored(tmp_path: Path) -> None:
    tables = mini_practice()
    tables["appointment"] += [
        _apt("600", "6", "0001-01-01 00:00:00"),  # planned
        _apt("601", "3", "0001-01-01 00:00:00"),  # unscheduled list
        _apt("602", "Planned", "0000-00-00 00:00:00"),  # MySQL zero date
        _apt("603", "1", "0001-01-01 00:00:00"),  # scheduled with no date: really malformed
    ]
    report, rows = _sync(tmp_path, tables)
    apts = rows["appointment"]
    assert {a: (apts[a]["status"], apts[a]["start"]) for a in ("600", "601", "602")} == {
        "600": ("planned", None), "601": ("unscheduled", None), "602": ("planned", None)}
    assert "603" not in apts and report.quarantined == 1  # only the scheduled one


def _codes_with(increment: str | None, proc_time_10: bool) -> Tables:
    tables = mini_practice()
    tables["preference"] = [p for p in tables["preference"] if p["PrefName"] != "AppointmentTimeIncrement"]
    if increment is not None:
        tables["preference"].append({"PrefNum": "9", "PrefName": "AppointmentTimeIncrement", "ValueString": increment})
    if proc_time_10:  # the same times written in 10-minute characters
        for code, pattern in zip(tables["procedurecode"], ("/XXX/", "X", "X"), strict=True):
            code["ProcTime"] = pattern
    return tables


def test_procedure_times_follow_the_time_increment(tmp_path: Path) -> None:
    report, rows = _sync(tmp_path, _codes_with("10", proc_time_10=True))
    codes = rows["procedure_code"]
    assert (codes["1"]["default_minutes"], codes["1"]["time_pattern"]) == (50, "//XXXXXX//")
    assert (codes["3"]["default_minutes"], codes["3"]["time_pattern"]) == (10, "XX")
    assert report.unmapped_labels == {}


def test_a_missing_increment_is_reported_and_a_setting_overrides_it(tmp_path: Path) -> None:
    report, rows = _sync(tmp_path / "a", _codes_with(None, proc_time_10=True))
    assert rows["procedure_code"]["1"]["default_minutes"] == 25  # read as 5-minute characters: wrong, so said
    assert report.unmapped_labels == {
        "mapping.settings.time_increment": {"AppointmentTimeIncrement preference not read": 4}}  # 3 codes, 1 note
    report, rows = _sync(tmp_path / "b", _codes_with(None, proc_time_10=True),
                         "[mapping.settings]\ntime_increment = 10\n")
    assert rows["procedure_code"]["1"]["default_minutes"] == 50 and report.unmapped_labels == {}


def test_per_provider_code_times(tmp_path: Path) -> None:
    tables = _codes_with("10", proc_time_10=True)
    tables["proccodenote"] = [
        {"ProcCodeNoteNum": "1", "CodeNum": "1", "ProvNum": "2", "Note": "", "ProcTime": "/XXXX/", "ProcStatus": "1"},
        {"ProcCodeNoteNum": "2", "CodeNum": "2", "ProvNum": "1", "Note": "template", "ProcTime": "", "ProcStatus": "1"},
    ]
    report, rows = _sync(tmp_path, tables)
    times = rows["provider_code_time"]
    assert set(times) == {"1"}  # a note with no time is not a time
    assert (times["1"]["code"], times["1"]["provider_id"], times["1"]["time_pattern"]) == ("D1110", "2", "//XXXXXXXX//")
    assert report.status == "ok"


@pytest.mark.parametrize(("label", "result"), [
    ("Verified", "verified"), ("Attempted", "pending"), ("See Notes", "pending"), ("ServiceError", "pending"),
    ("Coverage Terminated", "inactive"), ("NOT ELIGIBLE - moved", "inactive"), ("Eligible via portal", "verified"),
    ("Not verified yet", "unknown"), ("Awaiting carrier", "pending"),
])
def test_verification_statuses_by_meaning(tmp_path: Path, label: str, result: str) -> None:
    tables = mini_practice()
    tables["definition"] = [d for d in tables["definition"] if d["DefNum"] != "40"]
    tables["definition"].append({"DefNum": "40", "Category": "38", "ItemName": label})
    report, rows = _sync(tmp_path, tables)
    assert rows["verification"]["1"]["result"] == result
    assert rows["verification"]["1"]["status_label"] == label
    assert report.unmapped_labels == {}


@pytest.mark.parametrize(("label", "confirmed"), [
    ("AppointmentConfirmed", True), ("Confirmed - Text", True), ("eConfirm Sent", False), ("Unconfirmed", False),
    ("Arrived", False), ("Ready to go back", False), ("In Treatment Room", False), ("Left Voicemail", False),
])
def test_confirmation_statuses_by_meaning(tmp_path: Path, label: str, confirmed: bool) -> None:
    tables = mini_practice()
    tables["definition"][0]["ItemName"] = label  # DefNum 10: appointment 500's status
    report, rows = _sync(tmp_path, tables)
    assert rows["appointment"]["500"]["confirmed"] is confirmed
    assert report.unmapped_labels == {}


def test_labels_nothing_places_are_listed_and_never_count_as_fine(tmp_path: Path) -> None:
    tables = mini_practice()
    tables["definition"] += [{"DefNum": "42", "Category": "38", "ItemName": "Blue folder"},
                             {"DefNum": "12", "Category": "2", "ItemName": "Smoke signal"}]
    tables["insverify"][0]["DefNum"] = "42"
    tables["appointment"][0]["Confirmed"] = "12"
    report, rows = _sync(tmp_path, tables)
    assert rows["verification"]["1"]["result"] == "unknown"
    assert rows["appointment"]["500"]["confirmed"] is False
    assert report.unmapped_labels == {"mapping.maps.confirmed": {"Smoke signal": 1},
                                      "mapping.maps.verify_result": {"Blue folder": 1}}
    assert report.to_summary()["unmapped_labels"] == report.unmapped_labels
    assert report.status == "ok"  # a label to map is not a partial run
    # mapped in the practice config, the labels are placed and no longer listed
    report, rows = _sync(tmp_path / "mapped", tables, '[mapping.maps.verify_result]\n"Blue folder" = "verified"\n'
                         '[mapping.patterns.confirmed]\n"smoke" = true\n')
    assert rows["verification"]["1"]["result"] == "verified" and rows["appointment"]["500"]["confirmed"] is True
    assert report.unmapped_labels == {}


def test_labels_are_still_listed_on_a_night_their_rows_did_not_change(tmp_path: Path) -> None:
    """Unchanged rows are not mapped again on the next night; the labels they hold are still listed."""
    tables = mini_practice()
    tables["definition"] += [{"DefNum": "12", "Category": "2", "ItemName": "Smoke signal"}]
    tables["appointment"][0]["Confirmed"] = "12"
    export = write_export(tmp_path / "exports", tables)
    first, _ = sync_export(tmp_path, export)
    again, _ = sync_export(tmp_path, export)
    assert sum(r.stored.unchanged for r in again.resources if r.entity == "appointment") == len(tables["appointment"])
    assert again.unmapped_labels == first.unmapped_labels == {"mapping.maps.confirmed": {"Smoke signal": 1}}
    # placed by the practice's config: every row is mapped again, and the label is gone from the list
    placed, rows = sync_export(tmp_path, export, '[mapping.patterns.confirmed]\n"smoke" = true\n')
    assert placed.unmapped_labels == {} and rows["appointment"]["500"]["confirmed"] is True
