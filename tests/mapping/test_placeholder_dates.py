"""Placeholder dates: year 9999 and the zero dates never stop a run.

Open Dental writes "no date" as 0001-01-01 (MySQL's zero date 0000-00-00 in some databases): the
mapping reads those as no date. A time in year 9999 is no real moment and cannot be moved to UTC: the
converter refuses it, so the one row is quarantined instead of the store failing the whole run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from odexport import csv_config, mini_practice, write_export

from pms_bridge.config import load_config
from pms_bridge.mapping.convert import ConversionError, make_converter
from pms_bridge.mapping.spec import Settings
from pms_bridge.model.entities import AwareDatetime
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, tzinfo=TZ)


@pytest.mark.parametrize("text", ["9999-12-31 23:59:59", "9999-12-31", "12/31/9999 11:59:59 PM", "9999-01-01 00:00"])
def test_a_time_in_year_9999_is_refused_as_a_placeholder(text: str) -> None:
    with pytest.raises(ConversionError, match="outside years 1 to 9998"):
        make_converter(AwareDatetime, Settings(), TZ)(text)


@pytest.mark.parametrize("zone", ["America/Chicago", "Pacific/Kiritimati", "UTC"])
def test_the_last_accepted_time_can_be_moved_to_utc_from_any_zone(zone: str) -> None:
    value = make_converter(AwareDatetime, Settings(), ZoneInfo(zone))("9998-12-31 23:59:59")
    assert value.astimezone(UTC).year in (9998, 9999)


def test_a_date_in_year_9999_stays_a_date() -> None:
    assert make_converter(date, Settings(), TZ)("9999-12-31") == date(9999, 12, 31)  # e.g. an open-ended term


def _night(tmp_path: Path, tables: dict, as_of: datetime = AS_OF):
    export = write_export(tmp_path / "exports", tables)
    cfg = load_config(csv_config(tmp_path, export))
    report = run_sync(cfg, as_of, check=True)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return report, store.quarantined(), {r["source_id"]: r for r in store.rows("appointment")}, store
    finally:
        store.close()


@pytest.mark.parametrize("column", ["AptDateTime", "DateTStamp", "SecDateTEntry"])
def test_year_9999_in_a_time_column_quarantines_that_row_and_the_run_goes_on(tmp_path: Path, column: str) -> None:
    tables = mini_practice()
    tables["appointment"][0][column] = "9999-12-31 23:59:59"
    report, quarantined, appointments, _ = _night(tmp_path, tables)
    assert report.status == "partial" and report.checks is not None and report.tasks is not None
    assert [(q.source, q.line, q.source_id) for q in quarantined] == [("appointment.csv", 2, "500")]
    assert "outside years 1 to 9998" in quarantined[0].reason
    assert set(appointments) == {"501"}  # the other row is stored
    assert report.snapshot_counts["patient"] == 2  # and every other table


@pytest.mark.parametrize("value", ["0000-00-00", "0001-01-01"])
def test_a_zero_date_is_read_as_no_date(tmp_path: Path, value: str) -> None:
    tables = mini_practice()
    tables["patient"][0]["Birthdate"] = value
    tables["patient"][0]["DateFirstVisit"] = value
    tables["procedurelog"][2]["ProcDate"] = value
    report, quarantined, _, _ = _night(tmp_path, tables)
    assert quarantined == [] and report.status == "ok"


def test_year_9999_dates_in_every_date_column_never_stop_the_run(tmp_path: Path) -> None:
    tables = mini_practice()
    dated = 0
    for rows in tables.values():
        for row in rows:
            for column in list(row):
                if column.startswith("Date") and "DateT" not in column or column == "Birthdate":
                    row[column] = "9999-12-31"
                    dated += 1
    assert dated > 10
    report, quarantined, _, _ = _night(tmp_path, tables)
    assert report.checks is not None and report.tasks is not None  # checked and tasked, not crashed
    assert quarantined == []  # a date in 9999 is a date (an open-ended term date reads naturally)
