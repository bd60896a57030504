"""The office database's bulk path (OfficeDatabase.load_export, change) against its row-by-row one (load):
the benchmark of the opendental-db route loads a million rows with it, so it must hold what load holds."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from fakes.office_db import NEVER_SELECTED, SYNTHETIC, OfficeDatabase
from fakes.opendental import FakeOpenDental


def contents(office: OfficeDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, the columns no route reads left out (their synthetic text
    names the table and column, or not, by who filled them in)."""
    out = {}
    for table in sorted(office.tables()):
        columns = [c for (c,) in office.query(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION", (office.database, table)) if c not in NEVER_SELECTED.get(table, ())]
        out[table] = office.query(f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM `{table}` ORDER BY 1")
    return out


def unset_cells(export: Path, into: Path) -> Path:
    """A copy of the export with a few cells blank (a date, a number, a datetime): Open Dental's unset values."""
    shutil.copytree(export, into)
    for table, columns in {"inssub": ("DateTerm",), "patient": ("PriProv", "Birthdate"),
                           "appointment": ("AptDateTime",)}.items():
        with (into / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        for row in rows[:3]:
            for column in columns:
                row[header.index(column)] = ""
        with (into / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    return into


def test_a_bulk_loaded_export_holds_what_loading_its_rows_one_by_one_holds(export: Path, tmp_path: Path,
                                                                            office_db: OfficeDatabase) -> None:
    folder = unset_cells(export, tmp_path / "exports")
    fake = FakeOpenDental.from_export(folder)
    office_db.load(fake)
    one_by_one = contents(office_db)

    loaded = office_db.load_export(folder)

    assert loaded == {table: len(rows) for table, rows in fake.tables.items()}
    assert contents(office_db) == one_by_one
    assert loaded["procedurelog"] > 1000  # the sample's rows, not an empty practice
    assert office_db.query("SELECT COUNT(*) FROM patient WHERE PriProv = 0 AND Birthdate = '0001-01-01'") == [(3,)]
    unscheduled = sum(a["AptDateTime"] in ("", "0001-01-01 00:00:00") for a in fake.tables["appointment"].values())
    assert office_db.query("SELECT COUNT(*) FROM appointment WHERE AptDateTime = '0001-01-01 00:00:00'") == [
        (unscheduled,)]
    never = office_db.query("SELECT DISTINCT LEFT(SSN, %s) FROM patient UNION SELECT DISTINCT LEFT(RawBase64, %s) "
                            "FROM document", (len(SYNTHETIC), len(SYNTHETIC)))
    assert never == [(SYNTHETIC,)]


def test_a_day_of_work_on_a_bulk_loaded_table_moves_the_stamps_of_the_rows_it_touched(
        export: Path, office_db: OfficeDatabase) -> None:
    office_db.load_export(export)
    fake = FakeOpenDental.from_export(export)
    rows = fake.tables["appointment"]
    first, second, third = sorted(rows)[:3]
    before = rows[first]
    after = {**before, "Confirmed": "99", "DateTStamp": "2026-03-02 20:00:00"}  # the export's newer stamp
    added = {**rows[second], "AptNum": str(max(rows) + 1), "DateTStamp": "2026-03-02 20:00:00"}
    now = office_db.server_now()

    office_db.change("appointment", [added], [(before, after)], [third], now)

    stamped = dict(office_db.query("SELECT AptNum, CAST(DateTStamp AS CHAR) FROM appointment WHERE AptNum IN "
                                   "(%s, %s, %s, %s)", (first, second, third, max(rows) + 1)))
    assert stamped == {first: now, second: rows[second]["DateTStamp"], max(rows) + 1: now}
    assert office_db.query("SELECT Confirmed FROM appointment WHERE AptNum = %s", (first,)) == [(99,)]
