"""Nothing is removed or closed on bad evidence.

Night 1 opens three tasks about appointment 501 (patient 101). On night 2 one export is not whole: a
malformed row, a file cut in the middle of its last row, a removal so large it looks like a cut export.
The rows it has are stored, nothing is removed from it, the run is partial (exit 4), and the rules
reading that table keep their tasks open, while the other rules' tasks close as usual.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from odexport import csv_config, mini_practice, write_export, write_table
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline import run_sync
from pms_bridge.store import QuarantinedRow, Store

AS_OF = datetime(2026, 3, 2, 8, tzinfo=ZoneInfo("America/Chicago"))
NIGHT_2 = AS_OF + timedelta(days=1)  # appointment 501 (2026-03-04 14:30) is still ahead
# APT001: patient 101's appointment (Wednesday, as-of Monday) has the confirmation status Left Msg.
TASKS = {"REF002:referral:1", "FRM002:patient:101", "XR001:patient:101", "APT001:appointment:501"}

# Fixes the office makes on night 2: a health history form (FRM002) and a bitewing image (XR001) for patient 101.
HEALTH_HISTORY = {"SheetNum": "4", "SheetType": "11", "PatNum": "101", "DateTimeSheet": "2026-03-02 09:00:00",
                  "Description": "Medical History", "IsDeleted": "0"}
BITEWINGS = {"DocNum": "4", "PatNum": "101", "DocCategory": "20", "DateCreated": "2026-03-02 10:00:00", "ImgType": "1"}


def _first_night(tmp_path: Path) -> tuple[Path, Path, dict[str, list[dict[str, str]]]]:
    tables = mini_practice()
    export = write_export(tmp_path / "exports", tables)
    config = csv_config(tmp_path, export)
    report, tasks, _ = _night(config, AS_OF)
    assert report.status == "ok" and {k for k, t in tasks.items() if t.status == "open"} == TASKS
    return export, config, tables


def _night(config: Path, as_of: datetime):
    cfg = load_config(config)
    report = run_sync(cfg, as_of, check=True)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        stored = {entity: {r["source_id"] for r in store.rows(entity)} for entity in ("appointment", "form")}
        return report, {t.key: t for t in Ledger(store).tasks()}, stored
    finally:
        store.close()


def _entry(report, resource: str):
    return next(r for r in report.resources if r.resource == resource)


def _rewrite_line(path: Path, line: int, edit) -> None:
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    lines[line - 1] = edit(lines[line - 1])
    path.write_bytes("\r\n".join(lines).encode("utf-8"))


def _cells(edit):
    return lambda text: ",".join(edit(text.split(",")))


# ------------------------------------------------------------------------ one malformed row
BAD_ROWS = {
    "short row": _cells(lambda c: c[:-3]),
    "long row": _cells(lambda c: [*c, "1", "2"]),
    "stray delimiter": _cells(lambda c: [c[0], c[1], c[2], "XXX", "XXX", *c[4:]]),  # Pattern "XXX,XXX" unquoted
    "empty key": _cells(lambda c: ["", *c[1:]]),
    "unreadable key": _cells(lambda c: ["501" + "9" * 70, *c[1:]]),  # longer than any id may be
}


def _quarantined(config: Path, run_id: int) -> list[QuarantinedRow]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return store.quarantined(run_id)
    finally:
        store.close()


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_malformed_row_is_never_taken_as_deleted(tmp_path: Path, case: str) -> None:
    export, config, _ = _first_night(tmp_path)
    _rewrite_line(export / "appointment.csv", 3, BAD_ROWS[case])  # AptNum 501

    report, tasks, stored = _night(config, NIGHT_2)
    appointments = _entry(report, "appointment")
    assert appointments.quarantined == 1 and appointments.removed == 0
    assert "501" in stored["appointment"]  # still in the snapshot, as last read
    assert report.status == "partial"
    assert {k for k, t in tasks.items() if t.status == "open"} == TASKS
    assert report.tasks is not None and report.tasks.counts["resolved"] == 0
    assert "Kept the 1 stored appointment row appointment.csv lacks" in (appointments.warning or "")
    [row] = _quarantined(config, report.run_id)
    assert (row.source, row.line, row.source_id) == ("appointment.csv", 3, None)  # no id read, none made up


def test_a_quarantined_row_holds_the_rules_reading_its_table_and_no_other(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    # the office fixes both problems; one unrelated sheet row is malformed
    write_table(export, "sheet", [*tables["sheet"], HEALTH_HISTORY])
    _rewrite_line(export / "sheet.csv", 2, _cells(lambda c: [*c, "stray"]))
    write_table(export, "document", [*tables["document"], BITEWINGS])

    report, tasks, stored = _night(config, NIGHT_2)
    assert report.checks is not None and "FRM002:patient:101" not in {f.key for f in report.checks.findings}
    assert tasks["FRM002:patient:101"].status == "open"  # its finding vanished with a form table not read whole
    assert tasks["XR001:patient:101"].status == "resolved"  # its tables were read whole
    assert tasks["REF002:referral:1"].status == "open"  # still found
    assert report.tasks is not None
    assert set(report.tasks.held) == {"FRM001", "FRM002"}
    assert report.tasks.held["FRM002"] == "sheet.csv has 1 quarantined row"
    assert report.tasks.held_tasks == {"FRM002": 1}
    assert "1" in stored["form"]  # the malformed row's record stays
    sheet = _entry(report, "sheet")
    assert "tasks of FRM001, FRM002 were not resolved this run (1 kept open)" in (sheet.warning or "")
    summary = report.to_summary()
    assert summary["closes_held"]["FRM002"] == {"why": "sheet.csv has 1 quarantined row", "tasks": 1}
    assert report.status == "partial"

    write_table(export, "sheet", [*tables["sheet"], HEALTH_HISTORY])  # night 3: whole again
    third, tasks, _ = _night(config, NIGHT_2 + timedelta(hours=1))
    assert third.status == "ok" and third.tasks is not None and third.tasks.held == {}
    assert tasks["FRM002:patient:101"].status == "resolved"


# ------------------------------------------------------------------------ a file cut short
def _cut_sheets(export: Path, tables: dict[str, list[dict[str, str]]]) -> None:
    """The office fixed FRM002, deleted sheet 2, and the export of sheet died in the middle of its last row."""
    rows = [r for r in tables["sheet"] if r["SheetNum"] != "2"]
    path = write_table(export, "sheet", [*rows, HEALTH_HISTORY])
    path.write_bytes(path.read_bytes() + b"5,11,100,2026-03-0")


def test_a_cut_file_removes_nothing_and_holds_its_rules(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    _cut_sheets(export, tables)
    write_table(export, "document", [*tables["document"], BITEWINGS])

    report, tasks, stored = _night(config, NIGHT_2)
    sheet = _entry(report, "sheet")
    assert sheet.incomplete == "sheet.csv: the last row (line 5) has 4 of 8 cells and no line break after it"
    assert sheet.removed == 0 and stored["form"] == {"1", "2", "3", "4"}  # read and kept, nothing removed
    assert sheet.quarantined == 1  # the cut row itself
    assert report.status == "partial"
    assert tasks["FRM002:patient:101"].status == "open" and tasks["XR001:patient:101"].status == "resolved"
    assert report.tasks is not None and report.tasks.held["FRM002"].startswith("sheet.csv looks cut short")


def test_a_quote_that_never_closes_is_a_cut_file(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    rows = [r for r in tables["sheet"] if r["SheetNum"] != "2"]
    path = write_table(export, "sheet", rows)
    path.write_bytes(path.read_bytes() + b'5,11,100,2026-03-01 09:00:00,"Medical Hist\r\n')

    report, tasks, stored = _night(config, NIGHT_2)
    sheet = _entry(report, "sheet")
    assert sheet.incomplete == "sheet.csv: a quoted cell opened on line 4 never closes"
    assert stored["form"] == {"1", "2", "3"} and sheet.removed == 0
    assert report.status == "partial" and set(tasks) == TASKS


runner = CliRunner()


def _cli(config: Path, as_of: datetime):
    result = runner.invoke(app, ["run", "--config", str(config), "--as-of", as_of.strftime("%Y-%m-%dT%H:%M")],
                           catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())


def test_the_command_line_exits_4_and_names_the_cut_file_and_line(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    _cut_sheets(export, tables)
    code, out = _cli(config, NIGHT_2)
    assert code == 4, out
    assert "sheet.csv ends in the middle of a row (the last row (line 5) has 4 of 8 cells" in out
    assert "tasks of FRM001, FRM002 were not resolved this run" in out
    assert "Result: PARTIAL" in out
    for name in ("Qwvtest", "Zyxtest", "Eli", "Ona"):  # the synthetic patients' names stay out of messages
        assert name not in out


# ------------------------------------------------------------------------ the truncation guard
def _many_procedures(tmp_path: Path) -> tuple[Path, Path, dict[str, list[dict[str, str]]]]:
    tables = mini_practice()
    template = tables["procedurelog"][2]  # completed, on no appointment
    tables["procedurelog"] = [*tables["procedurelog"], *(template | {"ProcNum": str(1000 + i)} for i in range(97))]
    export = write_export(tmp_path / "exports", tables)
    config = csv_config(tmp_path, export)
    assert _night(config, AS_OF)[0].status == "ok"
    return export, config, tables


def test_a_refused_removal_makes_the_run_partial_and_holds_the_procedure_rules(tmp_path: Path) -> None:
    export, config, tables = _many_procedures(tmp_path)
    write_table(export, "procedurelog", tables["procedurelog"][:30])
    report, tasks, _ = _night(config, NIGHT_2)
    procedures = _entry(report, "procedurelog")
    assert procedures.removed == 0 and "lacks 70 of the 100" in (procedures.warning or "")
    assert procedures.incomplete == "lacks 70 of 100 stored rows (full list)"
    assert report.status == "partial"
    assert report.tasks is not None
    reading_procedures = {"SCH001", "SCH002", "SCH003", "SCH004", "XR001", "XR002", "TX001", "CLM001", "PA001"}
    assert set(report.tasks.held) == reading_procedures
    assert {t.status for t in tasks.values()} == {"open"}


def test_a_refused_removal_exits_4(tmp_path: Path) -> None:
    export, config, tables = _many_procedures(tmp_path)
    write_table(export, "procedurelog", tables["procedurelog"][:30])
    code, out = _cli(config, NIGHT_2)
    assert code == 4 and "lacks 70 of the 100 stored procedure rows" in out and "Result: PARTIAL" in out


# ------------------------------------------------------------------------ files that cannot be read
def test_a_folder_a_link_loop_and_a_dangling_link_are_named_and_the_rest_loads(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    (export / "claim.csv").unlink()
    (export / "claim.csv").mkdir()
    (export / "document.csv").unlink()
    (export / "document.csv").symlink_to(export / "document.csv")
    (export / "sheet.csv").unlink()
    (export / "sheet.csv").symlink_to(tmp_path / "elsewhere" / "sheet.csv")
    write_table(export, "appointment", tables["appointment"][:1])  # the office deleted appointment 501

    report, tasks, stored = _night(config, NIGHT_2)
    errors = {r.resource: r.error for r in report.failed}
    assert set(errors) == {"claim", "document", "sheet"}
    assert errors["claim"] == ("claim.csv in the export folder is a folder, not an export file; replace it with the "
                               "exported table")
    assert "document.csv in the export folder is a symbolic link that loops back on itself" in errors["document"]
    assert "sheet.csv in the export folder is a link to" in errors["sheet"]
    assert report.status == "partial"
    assert stored["appointment"] == {"500"}  # the readable tables loaded, deletions and all
    assert stored["form"] == {"1", "2", "3"}
    # the tasks about 501 vanished; the ones whose rules read documents or forms are held, REF002 resolves
    assert tasks["REF002:referral:1"].status == "resolved"
    assert tasks["FRM002:patient:101"].status == tasks["XR001:patient:101"].status == "open"


def test_an_unreadable_file_fails_its_table_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    export, config, tables = _first_night(tmp_path)
    write_table(export, "document", [*tables["document"], BITEWINGS])
    real_open = pathlib.Path.open

    def no_permission(self: Path, *args: object, **kwargs: object):
        if self.name == "sheet.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", no_permission)
    report, tasks, _ = _night(config, NIGHT_2)
    unreadable = "sheet.csv: cannot be read (Permission denied); check that the account running pms-bridge may read it"
    assert [(r.resource, r.error) for r in report.failed] == [("sheet", f"{unreadable}, then run again")]
    assert _entry(report, "document").stored.inserted == 1  # the other tables loaded
    assert tasks["XR001:patient:101"].status == "resolved" and tasks["FRM002:patient:101"].status == "open"
    assert report.status == "partial"


# ------------------------------------------------------------------------ a 10 MB cell
def test_a_ten_megabyte_cell_quarantines_its_row_and_the_run_goes_on(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    huge = dict(tables["appointment"][1], Pattern="X" * (10 * 1024 * 1024))
    write_table(export, "appointment", [tables["appointment"][0], huge])

    report, tasks, stored = _night(config, NIGHT_2)
    appointments = _entry(report, "appointment")
    assert appointments.error is None and appointments.quarantined == 1 and appointments.removed == 0
    [row] = _quarantined(config, report.run_id)
    assert (row.source, row.line, row.source_id, row.field) == ("appointment.csv", 3, "501", "Pattern")
    assert row.reason.startswith("column Pattern holds 10,485,760 characters, over the 1,000,000")
    assert stored["appointment"] == {"500", "501"} and set(tasks) == TASKS
    assert report.status == "partial" and report.tasks is not None


def test_a_ten_megabyte_cell_in_a_column_nothing_reads_is_fine(tmp_path: Path) -> None:
    tables = mini_practice()
    tables["document"][0]["RawBase64"] = "QUJD" * (3 * 1024 * 1024)  # images kept in the database
    from odexport import COLUMNS

    export = write_export(tmp_path / "exports", tables)
    write_table(export, "document", tables["document"], columns=[*COLUMNS["document"], "RawBase64"])
    report, _, _ = _night(csv_config(tmp_path, export), AS_OF)
    assert report.status == "ok" and _entry(report, "document").stored.inserted == 3
    assert json.dumps(report.to_summary())  # the summary stays small and serializable


# ------------------------------------------------------------------------ reference tables
def test_a_short_reference_row_is_quarantined_and_holds_the_rules_of_what_it_feeds(tmp_path: Path) -> None:
    export, config, tables = _first_night(tmp_path)
    write_table(export, "sheet", [*tables["sheet"], HEALTH_HISTORY])  # fixes FRM002 (forms use no reference table)
    _rewrite_line(export / "carrier.csv", 2, _cells(lambda c: c[:2]))  # carrier 7, cut to 2 of 4 cells

    report, tasks, _ = _night(config, NIGHT_2)
    carrier = _entry(report, "carrier")
    assert carrier.quarantined == 1 and carrier.feeds == ["claim", "coverage"]  # carrier names of plans and claims
    assert report.status == "partial"
    assert report.tasks is not None
    assert set(report.tasks.held) == {"INS001", "INS002", "INS003", "CLM001", "CLM002", "PA001"}
    assert tasks["FRM002:patient:101"].status == "resolved"  # forms were read whole
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        [row] = store.quarantined(report.run_id)
        assert (row.source, row.resource, row.line, row.source_id) == ("carrier.csv", "carrier", 2, None)
        assert store.get_cursor("lookup:carrier") is not None  # night 1's, kept: read again next time
    finally:
        store.close()
