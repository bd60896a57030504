"""The opendental-db route end to end, against a real MariaDB server holding the fake office's Open Dental
database (tests/fakes/office_db.py), read with an account that may only SELECT.

The sample practice read from the database gives what its table exports give; a second night of changes
ends where a full reload does; the server's own query log shows every statement names its columns and none
writes; the failures a user can cause exit as the README says; and a run reads one point in time while the
office keeps working.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from collections.abc import Callable, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

import pymysql
import pytest
from fakes.office_db import NEVER_SELECTED, OfficeDatabase
from fakes.opendental import FakeOpenDental
from odroutes import DB_PASSWORD_ENV, DB_ROUTE, config, night, tasks
from reliability.outcome import open_store, practice_state, snapshot
from typer.testing import CliRunner

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.connectors.database import DatabaseTable
from pms_bridge.mapping.compile import EXPORT_ALL_COLUMNS
from pms_bridge.pipeline import SyncReport, run_sync

runner = CliRunner()
TASK_CLOCKS = {"created_at", "updated_at", "resolved_at"}  # when this store's runs happened, not what they found
NEVER = sorted({column for columns in NEVER_SELECTED.values() for column in columns})
READS = ("SELECT", "SHOW", "SET", "START", "COMMIT", "ROLLBACK", "BEGIN", "USE")
MYISAM = ("appointment", "patient", "procedurelog")  # an older install's busiest tables
OFFICE_DAY_TABLES = {"appointment", "procedurelog", "document", "sheet", "refattach", "patplan", "patient"}  # changed


# ------------------------------------------------------------------ helpers
def ok(report: SyncReport) -> None:
    assert report.status == "ok" and report.quarantined == 0, [(r.resource, r.error) for r in report.failed]


def task_views(path: Path) -> dict[str, dict[str, Any]]:
    return {key: {k: v for k, v in t.to_json().items() if k not in TASK_CLOCKS} for key, t in tasks(path).items()}


def stored(path: Path, also_leave_out: Collection[str] = ()) -> dict[str, dict[str, dict[str, Any]]]:
    """The snapshot: entity -> source id -> row, without the columns that say which run wrote a row."""
    store = open_store(path)
    try:
        return {entity: {key: {k: v for k, v in row.items() if k not in also_leave_out} for key, row in rows.items()}
                for entity, rows in snapshot(store).items()}
    finally:
        store.close()


def findings(report: SyncReport) -> dict[str, dict[str, Any]]:
    assert report.checks is not None
    return {f.key: dataclasses.asdict(f) for f in report.checks.findings}


def cli_run(path: Path) -> Any:
    # --backdate: tonight's changes carry the server's real clock, later than the pinned as-of (odroutes.night)
    return runner.invoke(app, ["run", "--config", str(path), "--as-of", DEMO_AS_OF.isoformat(), "--backdate"])


def last_run(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["runs", "--config", str(path), "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]


def point_at(path: Path, url: str) -> None:
    """The config's database url changed (the store stays)."""
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'(?m)^url = ".*"$', f'url = "{url}"', text), encoding="utf-8")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scheduled(fake: FakeOpenDental) -> list[int]:
    """Appointments booked from the as-of time on (what the rules look at), by number."""
    start = DEMO_AS_OF.strftime("%Y-%m-%d %H:%M:%S")
    return sorted(n for n, a in fake.tables["appointment"].items()
                  if a["AptStatus"] == "1" and a["AptDateTime"] > start)


def a_night_of_work(fake: FakeOpenDental) -> dict[str, str]:
    """What an office does in a day, on every kind of row the route must follow; returns the ids involved.

    Changed rows (touch), new rows, hard deletes (appointment, document, refattach, patplan) and the soft
    deletes (a sheet's IsDeleted without its stamp; a procedure's status D)."""
    fake.advance(hours=20)
    upcoming = scheduled(fake)
    confirm = str(upcoming[0])
    fake.touch("appointment", confirm, Confirmed=str(_other_confirmation(fake, confirm)))
    new_apt = dict(fake.tables["appointment"][upcoming[1]], AptNum="", AptDateTime=_days_after(3, "10:00:00"))
    fake.insert("appointment", new_apt)
    apt = str(max(fake.tables["appointment"]))
    proc = next(p for p in fake.tables["procedurelog"].values() if p["AptNum"] == str(upcoming[1]))
    fake.insert("procedurelog", dict(proc, ProcNum="", AptNum=apt))
    gone_apt = str(upcoming[2])
    for p in fake.tables["procedurelog"].values():  # Open Dental detaches a deleted appointment's procedures
        if p["AptNum"] == gone_apt:
            fake.touch("procedurelog", p["ProcNum"], AptNum="0")
    fake.delete("appointment", gone_apt)
    voided = next(p["ProcNum"] for p in fake.tables["procedurelog"].values() if p["ProcStatus"] == "1")
    fake.touch("procedurelog", voided, ProcStatus="6")  # Open Dental deletes a procedure by its status
    document = str(min(n for n, d in fake.tables["document"].items() if d["MountItemNum"] == "0"))
    fake.delete("document", document)
    fake.insert("document", dict(fake.tables["document"][max(fake.tables["document"])], DocNum=""))
    sheet = str(min(n for n, s in fake.tables["sheet"].items() if s["IsDeleted"] == "0"))
    fake.change_without_stamp("sheet", sheet, IsDeleted="1")  # Sheets.cs: DateTSheetEdited untouched
    refattach = str(min(fake.tables["refattach"]))
    fake.delete("refattach", refattach)
    patplan = str(min(fake.tables["patplan"]))
    fake.delete("patplan", patplan)
    patient = str(min(fake.tables["patient"]))
    fake.touch("patient", patient, Preferred="Kit")
    return {"confirmed": confirm, "new_appointment": apt, "deleted_appointment": gone_apt, "voided": voided,
            "document": document, "sheet": sheet, "refattach": refattach, "patplan": patplan, "patient": patient}


def to_myisam(office_db: OfficeDatabase) -> None:
    """The office's busiest tables in MyISAM, as an older install keeps them."""
    for table in MYISAM:
        office_db.execute(f"ALTER TABLE `{table}` ENGINE=MyISAM")


def _other_confirmation(fake: FakeOpenDental, apt: str) -> str:
    now = fake.tables["appointment"][int(apt)]["Confirmed"]
    return next(str(n) for n, d in fake.tables["definition"].items() if d["Category"] == "2" and str(n) != now)


def _days_after(days: int, time: str) -> str:
    return f"{(DEMO_AS_OF + timedelta(days=days)).date()} {time}"


# ------------------------------------------------------------------ the office database itself
def test_the_office_database_holds_the_office_as_open_dental_does(export: Path, office_db: OfficeDatabase) -> None:
    fake = FakeOpenDental.from_export(export)
    office_db.load(fake)
    assert {table: office_db.query(f"SELECT COUNT(*) FROM `{table}`")[0][0] for table in fake.tables} == {
        table: len(rows) for table, rows in fake.tables.items()}
    types = dict(office_db.query(
        "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), COLUMN_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s", (office_db.database,)))
    assert types["appointment.AptNum"] == types["procedurelog.AptNum"] == "bigint(20)"
    assert (types["inssub.DateTerm"], types["appointment.AptDateTime"]) == ("date", "datetime")
    assert types["patient.DateTStamp"] == types["claim.SecDateTEdit"] == "timestamp"
    assert types["insplan.GroupNum"].startswith("varchar") and types["patient.PatStatus"].startswith("tinyint")
    (unset,), = office_db.query("SELECT COUNT(*) FROM inssub WHERE DateTerm = '0001-01-01'")
    assert unset == sum(r["DateTerm"] == "0001-01-01" for r in fake.tables["inssub"].values()) > 0
    (blank,), = office_db.query("SELECT COUNT(*) FROM patient WHERE Preferred = ''")
    assert blank == sum(r["Preferred"] == "" for r in fake.tables["patient"].values()) > 0
    (nulls,), = office_db.query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                "AND IS_NULLABLE = 'YES'", (office_db.database,))
    assert nulls == 0

    # the next night: only what the office changed, stamped by the server's clock where Open Dental stamps it
    office_db.execute("UPDATE provider SET Abbr = 'Kept' WHERE ProvNum = 1")  # a reload would undo this
    ids = a_night_of_work(fake)
    now = office_db.server_now()
    changes = office_db.mirror(fake)
    assert changes["appointment"] == (1, 1, 1) and changes["histappointment"] == (1, 0, 0)
    assert changes["sheet"] == (0, 1, 0) and "provider" not in changes
    assert office_db.query("SELECT Abbr FROM provider WHERE ProvNum = 1") == [("Kept",)]
    (stamp,), = office_db.query("SELECT DateTStamp FROM appointment WHERE AptNum = %s", (ids["confirmed"],))
    assert str(stamp) >= now
    (edited, deleted), = office_db.query("SELECT DateTSheetEdited, IsDeleted FROM sheet WHERE SheetNum = %s",
                                         (ids["sheet"],))
    assert deleted == 1 and str(edited) == fake.tables["sheet"][int(ids["sheet"])]["DateTSheetEdited"] < now
    assert not office_db.query("SELECT 1 FROM appointment WHERE AptNum = %s", (ids["deleted_appointment"],))
    assert office_db.query("SELECT HistApptAction FROM histappointment WHERE AptNum = %s",
                           (ids["deleted_appointment"],)) == [(4,)]


# ------------------------------------------------------------------ the same practice as the exports
def test_the_database_gives_what_the_table_exports_give(export: Path, tmp_path: Path, office_db: OfficeDatabase
                                                        ) -> None:
    from_database = same_as_exports(FakeOpenDental.from_export(export), tmp_path, office_db)
    assert from_database.warnings == []  # an all-InnoDB database, read by a SELECT-only account


def same_as_exports(fake: FakeOpenDental, tmp_path: Path, office_db: OfficeDatabase) -> SyncReport:
    """One night of each route over ``fake`` (the office database as loaded, or loaded now): the same findings,
    tasks and snapshot. Returns the database route's report."""
    exports, database = config(tmp_path, "exports"), config(tmp_path, DB_ROUTE, office=office_db)
    from_exports, from_database = night(fake, exports), night(fake, database)
    ok(from_exports)
    ok(from_database)
    assert from_database.connector == "opendental-db"
    assert findings(from_database) == findings(from_exports) and findings(from_exports)
    assert task_views(database) == task_views(exports) and task_views(exports)
    # source_hash: of the raw cells a route read (an export has every column, the database route selects the
    # mapping's); every mapped value must agree.
    by_exports, by_database = stored(exports, also_leave_out={"source_hash"}), stored(database, {"source_hash"})
    # An export lists deleted sheets, marked deleted; the database route reads live rows only (IsDeleted = 0).
    deleted = {f for f, row in by_exports["form"].items() if row["is_deleted"]}
    assert deleted and not deleted & set(by_database["form"])
    by_exports["form"] = {f: row for f, row in by_exports["form"].items() if f not in deleted}
    for entity, rows in by_exports.items():
        assert by_database[entity] == rows, entity
        assert rows, entity  # every entity holds rows: the comparison compares something
    return from_database


# ------------------------------------------------------------------ real offices' schemas
def test_tables_outside_the_snapshot_are_warned_about_once_and_read_right(
    export: Path, tmp_path: Path, office_db: OfficeDatabase
) -> None:
    """An office whose busiest tables are MyISAM (an older install): the run says so once, naming them and
    the fix, in its summary and in `pms-bridge runs`, and reads what the exports give."""
    fake = FakeOpenDental.from_export(export)
    office_db.load(fake)
    to_myisam(office_db)
    from_database = same_as_exports(fake, tmp_path, office_db)
    [warning] = from_database.warnings
    assert f"3 tables of the Open Dental database are not InnoDB (MyISAM: {', '.join(sorted(MYISAM))})" in warning
    assert "nothing is lost" in warning and "InnoDb" in warning and "Reading Open Dental's database" in warning
    path = config(tmp_path, DB_ROUTE, office=office_db)
    assert last_run(path)["summary"]["warnings"] == [warning]
    listed = " ".join(runner.invoke(app, ["runs", "--config", str(path)]).stdout.split())
    assert listed.count("are not InnoDB") == 1 and "Run 1: Warning: 3 tables" in listed


def test_a_column_the_schema_lacks_reads_as_an_export_without_it(
    export: Path, tmp_path: Path, office_db: OfficeDatabase
) -> None:
    """An office without clinics on an older schema: no ClinicNum in patient and appointment, no Preferred in
    patient. The database route selects the columns there are and maps what an export without them maps."""
    fake = FakeOpenDental.from_export(export)
    for row in fake.tables["patient"].values():  # the export leaves it out too (ClinicNum it never has)
        row.pop("Preferred", None)
    office_db.load(fake)
    for table, column in [("patient", "ClinicNum"), ("appointment", "ClinicNum"), ("patient", "Preferred")]:
        office_db.execute(f"ALTER TABLE `{table}` DROP COLUMN `{column}`")
    same_as_exports(fake, tmp_path, office_db)
    held = stored(config(tmp_path, DB_ROUTE, office=office_db))
    assert held["patient"] and all(p["preferred_name"] is None for p in held["patient"].values())


def test_a_required_column_the_schema_lacks_fails_that_table_as_an_export_without_it_does(
    export: Path, tmp_path: Path, office_db: OfficeDatabase
) -> None:
    fake = FakeOpenDental.from_export(export)
    for row in fake.tables["refattach"].values():
        row.pop("RefDate")
    office_db.load(fake)
    office_db.execute("ALTER TABLE refattach DROP COLUMN RefDate")
    exports, database = config(tmp_path, "exports"), config(tmp_path, DB_ROUTE, office=office_db)
    failed = {}
    for path in (exports, database):
        report = night(fake, path, check=False)
        assert report.status == "partial"
        entry = next(r for r in report.resources if r.resource == "refattach")
        assert entry.error and entry.source and entry.rows_read == 0
        failed[path] = entry.error.replace(entry.source, "<table>")
        assert [r.resource for r in report.failed] == ["refattach"]
    # The same failure, each with the fix its source allows: export all columns, or map around the column.
    missing = "<table>: missing column(s) RefDate (for referral_date); the 'opendental' mapping needs them."
    assert failed[exports] == f"{missing} {EXPORT_ALL_COLUMNS}"
    assert failed[database] == f"{missing} {DatabaseTable.missing_column_hint}"
    assert failed[database].startswith("<table>: missing column(s) RefDate (for referral_date)")


# ------------------------------------------------------------------ the next night
@pytest.mark.parametrize("engine", ["InnoDB", "MyISAM"])
def test_a_second_night_ends_where_a_full_reload_does(export: Path, tmp_path: Path, office_db: OfficeDatabase,
                                                      engine: str) -> None:
    """MyISAM: the office's busiest tables are read outside the snapshot, and still end where a reload does."""
    fake = FakeOpenDental.from_export(export)
    office_db.load(fake)
    if engine == "MyISAM":
        to_myisam(office_db)
    path = config(tmp_path, DB_ROUTE, office=office_db)
    ok(night(fake, path))
    before = stored(path)
    ids = a_night_of_work(fake)
    later = DEMO_AS_OF + timedelta(hours=1)
    second = night(fake, path, as_of=later)
    ok(second)
    reload = config(tmp_path, DB_ROUTE, key="od-db-reload", office=office_db)
    ok(night(fake, reload, as_of=later))

    assert stored(path) == stored(reload)
    assert task_views(path) == task_views(reload)
    # ... and that is the office after its day, not the night before
    held = stored(path)
    assert ids["new_appointment"] in held["appointment"] and ids["deleted_appointment"] not in held["appointment"]
    confirmed = ids["confirmed"]
    assert held["appointment"][confirmed]["confirmation"] != before["appointment"][confirmed]["confirmation"]
    assert held["procedure"][ids["voided"]]["status"] == "deleted"
    assert ids["document"] not in held["document"] and ids["refattach"] not in held["referral"]
    assert ids["patplan"] not in held["coverage"] and ids["sheet"] not in held["form"]
    assert held["patient"][ids["patient"]]["preferred_name"] == "Kit"
    removed = {r.resource: r.removed for r in second.resources if r.removed}
    assert {"appointment", "document", "refattach", "patplan", "sheet"} <= set(removed), removed
    # read from the change stamps: the unchanged procedures were not read again
    assert next(r for r in second.resources if r.resource == "procedurelog").rows_read < 50


# ------------------------------------------------------------------ what the server was asked
def test_no_statement_selects_star_a_never_read_column_or_writes(export: Path, tmp_path: Path,
                                                                 office_db: OfficeDatabase) -> None:
    fake = FakeOpenDental.from_export(export)
    office_db.load(fake)
    # the columns are there, with values, to be never asked for
    for table, columns in NEVER_SELECTED.items():
        (filled,), = office_db.query(f"SELECT COUNT(*) FROM `{table}` WHERE " +
                                     " AND ".join(f"`{c}` <> ''" for c in columns))
        assert filled == len(fake.tables[table]) > 0, table
    path = config(tmp_path, DB_ROUTE, office=office_db)
    with office_db.statements_of(office_db.reader()) as sent:
        ok(night(fake, path))
        a_night_of_work(fake)
        ok(night(fake, path, as_of=DEMO_AS_OF + timedelta(hours=1)))
    table = re.compile(r"\bFROM\s+`?(" + "|".join(office_db.tables()) + r")\b")
    reads = [s for s in sent if table.search(s)]
    assert {"patient", "appointment", "procedurelog", "document", "sheet", "claim"} <= {
        table.search(s).group(1) for s in reads}, sent
    for statement in sent:
        assert statement.split(None, 1)[0].upper() in READS, statement
        assert "*" not in re.sub(r"COUNT\(\*\)", "", statement, flags=re.IGNORECASE), statement
        assert not re.search(r"\b(" + "|".join(NEVER) + r")\b", statement, flags=re.IGNORECASE), statement
    assert all(" ORDER BY " in s for s in reads), reads  # by the primary key: an index walk
    # inside a transaction that refuses writes; the next night reads from the change stamps
    assert any(re.match(r"START TRANSACTION\b.*\bREAD ONLY\b", s, flags=re.IGNORECASE) for s in sent), sent
    assert any(re.search(r"\bFROM\s+`?appointment`?\s+WHERE\b.*\bDateTStamp\b", s) for s in reads), reads


# ------------------------------------------------------------------ what a user can get wrong, through the CLI
@pytest.mark.parametrize("mistake", ["password", "database"])
def test_a_wrong_password_or_database_is_exit_2_naming_the_fix(
    export: Path, tmp_path: Path, office_db: OfficeDatabase, monkeypatch: pytest.MonkeyPatch, mistake: str
) -> None:
    office_db.load(FakeOpenDental.from_export(export))
    path = config(tmp_path, DB_ROUTE, office=office_db)
    real = office_db.reader().password
    wrong = "not-the-password-4711"
    if mistake == "password":
        monkeypatch.setenv(DB_PASSWORD_ENV, wrong)
    else:
        point_at(path, office_db.reader().url.rsplit("/", 1)[0] + "/no_such_office_db")
    result = cli_run(path)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert DB_PASSWORD_ENV in message if mistake == "password" else "no_such_office_db" in message
    assert "Unexpected error" not in message
    assert wrong not in result.output and real not in result.output


def test_the_server_down_is_exit_3_and_the_next_run_resumes(
    export: Path, tmp_path: Path, office_db: OfficeDatabase
) -> None:
    fake = FakeOpenDental.from_export(export)
    path = config(tmp_path, DB_ROUTE, office=office_db)
    ok(night(fake, path))
    cursors = practice_state(path)["cursors"]
    a_night_of_work(fake)
    office_db.mirror(fake)
    url = office_db.reader().url
    point_at(path, re.sub(r":\d+/", f":{closed_port()}/", url))
    result = cli_run(path)
    assert result.exit_code == 3, result.output
    assert "Unexpected error" not in result.stderr and office_db.reader().password not in result.output
    assert practice_state(path)["cursors"] == cursors  # the next run picks up where the last good one ended
    assert last_run(path)["status"] == "failed"

    point_at(path, url)
    ok(night(fake, path))
    clean = config(tmp_path, DB_ROUTE, key="od-db-clean", office=office_db)
    ok(night(fake, clean))
    assert stored(path) == stored(clean) and task_views(path) == task_views(clean)


def test_an_account_that_could_write_is_warned_about_once_with_the_grant(
    export: Path, tmp_path: Path, office_db: OfficeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    office_db.load(FakeOpenDental.from_export(export))
    reader = config(tmp_path, DB_ROUTE, office=office_db)
    result = cli_run(reader)
    assert result.exit_code == 0, result.output
    assert "GRANT" not in result.output and last_run(reader)["summary"]["warnings"] == []

    writer = office_db.writer()
    path = config(tmp_path, DB_ROUTE, key="od-db-writer", office=office_db, account=writer)
    monkeypatch.setenv(DB_PASSWORD_ENV, writer.password)
    with office_db.statements_of(writer) as sent:
        result = cli_run(path)
    assert result.exit_code == 0, result.output
    grant = f"GRANT SELECT ON `{office_db.database}`.* TO '{writer.user}'@"
    output = " ".join(result.stdout.split())
    assert output.count("GRANT SELECT ON") == 1 and grant in output, output
    summary = json.dumps(last_run(path)["summary"])
    assert summary.count("GRANT SELECT ON") == 1 and writer.password not in summary
    assert sent and all(s.split(None, 1)[0].upper() in READS for s in sent), sent  # it could write; it did not


def test_a_missing_table_skips_its_resource_with_a_note(
    export: Path, tmp_path: Path, office_db: OfficeDatabase
) -> None:
    office_db.load(FakeOpenDental.from_export(export))
    office_db.drop_table("eform")  # Open Dental before 24.3
    path = config(tmp_path, DB_ROUTE, office=office_db)
    result = cli_run(path)
    assert result.exit_code == 0, result.output
    run = last_run(path)
    assert run["status"] == "ok"
    eform = next(r for r in run["summary"]["resources"] if r["resource"] == "eform")
    assert eform["unavailable"] and not eform["error"] and eform["rows_read"] == 0
    assert "eform" in result.stdout
    forms = {r["source_id"] for r in stored(path)["form"].values()}
    assert forms and not any(f.startswith("eform-") for f in forms)


# ------------------------------------------------------------------ one point in time
def test_a_run_reads_one_point_in_time_while_the_office_works(
    export: Path, tmp_path: Path, office_db: OfficeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection books an appointment with its procedure and deletes one (detaching its procedures)
    after the run has read its first table: the run sees none of it, in any table; the next run sees all."""
    fake = FakeOpenDental.from_export(export)
    before = config(tmp_path, DB_ROUTE, key="od-db-before", office=office_db)
    ok(night(fake, before))  # the office as it was when the run began
    path = config(tmp_path, DB_ROUTE, office=office_db)
    reader = office_db.reader().user
    tables = set(office_db.tables())
    read_after: list[str] = []

    def office_works() -> None:
        a_night_of_work(fake)
        office_db.mirror(fake)

    during_run(monkeypatch, reader, tables, office_works, read_after)
    ok(run_sync(load_config(path), DEMO_AS_OF, check=True, backdate=True))
    # most tables the office changed were read after it wrote (the first table read is the run's point in time)
    assert len(set(read_after) & OFFICE_DAY_TABLES) >= 3, read_after
    assert stored(path) == stored(before) and task_views(path) == task_views(before)

    ok(night(fake, path, as_of=DEMO_AS_OF + timedelta(hours=1)))  # the writes are already in: night mirrors none
    after = config(tmp_path, DB_ROUTE, key="od-db-after", office=office_db)
    ok(night(fake, after, as_of=DEMO_AS_OF + timedelta(hours=1)))
    assert stored(path) == stored(after) and task_views(path) == task_views(after)
    assert stored(path) != stored(before)


def during_run(monkeypatch: pytest.MonkeyPatch, user: str, tables: set[str], work: Callable[[], None],
               read_after: list[str]) -> None:
    """Run ``work`` once, right after ``user``'s connection has sent its first read of an office table; list
    the tables it reads after that in ``read_after``."""
    original = pymysql.connections.Connection.query
    pattern = re.compile(r"\bFROM\s+`?(" + "|".join(sorted(tables)) + r")\b")
    worked: list[bool] = []

    def query(conn: pymysql.connections.Connection, sql: Any, unbuffered: bool = False) -> int:
        result = original(conn, sql, unbuffered)
        text = sql.decode() if isinstance(sql, bytes) else str(sql)
        table = pattern.search(text)
        if table and conn.user in (user, user.encode()):
            if worked:
                read_after.append(table.group(1))
            else:
                worked.append(True)
                work()
        return result

    monkeypatch.setattr(pymysql.connections.Connection, "query", query)
