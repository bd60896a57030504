"""The database connector (opendental-db) against a real MariaDB/MySQL server: explicit columns,
streaming, cell text as the table exports write it, the snapshot's clock as the cursor, one consistent
read-only snapshot per run, the account's grants, and what each failure means.

Tables with Open Dental's names live in a database of this module's own beside the session's
(``mariadb_url``); accounts are created per test with unique names and dropped. Synthetic data only.
"""

from __future__ import annotations

import json
import socket
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql
import pytest
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from pms_bridge.config import load_config
from pms_bridge.config.models import SourceSection
from pms_bridge.connectors import FileConnector, SourceFileError, load_connector_spec
from pms_bridge.connectors.api_client import ApiVersionTooOld
from pms_bridge.connectors.database import (
    DatabaseConnector,
    DatabaseRefused,
    DatabaseStatementFailed,
    DatabaseUnreachable,
    connect,
    write_privileges,
)
from pms_bridge.connectors.rest_table import read_cursor
from pms_bridge.errors import ErrorKind, kind_of
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

SPEC = load_connector_spec("opendental-db")
TIME = "%Y-%m-%d %H:%M:%S"


class Office:
    """A database of the module's own on the test server, and an administrator's connection to it."""

    def __init__(self, admin_url: URL, name: str) -> None:
        self.admin_url = admin_url.set(database=name)
        self.name = name
        self.conn = pymysql.connect(host=admin_url.host, port=admin_url.port or 3306, user=admin_url.username,
                                    password=admin_url.password or "", autocommit=True)
        self.users: list[str] = []

    def sql(self, *statements: str, rows: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(f"USE `{self.name}`")
            out: list[tuple[Any, ...]] = []
            for statement in statements:
                if rows is not None:
                    cur.executemany(statement, rows)
                else:
                    cur.execute(statement)
                    out = list(cur.fetchall())
            return out

    def table(self, name: str, columns: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        self.sql(f"DROP TABLE IF EXISTS {name}", f"CREATE TABLE {name} ({columns})")
        if rows:
            marks = ", ".join(["%s"] * len(rows[0]))
            self.sql(f"INSERT INTO {name} VALUES ({marks})", rows=list(rows))

    def now(self) -> datetime:
        return self.sql("SELECT NOW()")[0][0]

    def account(self, *grants: str) -> tuple[str, str]:
        """A new account holding ``grants`` on this database ("SELECT", "INSERT, UPDATE", "ALL"): (user, password)."""
        user, password = f"pmsb_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
        self.sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        self.users.append(user)
        for grant in grants:
            self.sql(f"GRANT {grant} ON `{self.name}`.* TO '{user}'@'%'")
        return user, password

    def url(self, user: str | None = None, database: str | None = None, port: int | None = None) -> str:
        return str(URL.create("mysql", username=user or self.admin_url.username, host=self.admin_url.host,
                              port=port or self.admin_url.port or 3306, database=database or self.name))

    def close(self) -> None:
        for user in self.users:
            self.sql(f"DROP USER IF EXISTS '{user}'@'%'")
        self.sql(f"DROP DATABASE IF EXISTS `{self.name}`")
        self.conn.close()


@pytest.fixture(scope="module")
def office(mariadb_url: str) -> Iterator[Office]:
    url = make_url(mariadb_url)
    name = f"{url.database}_conn"  # the session database's prefix: a stale one is swept like it
    admin = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                            autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    admin.close()
    place = Office(url, name)
    try:
        yield place
    finally:
        place.close()


def source(office: Office, user: str | None = None, password_env: str | None = None, **settings: Any) -> SourceSection:
    return SourceSection(connector="opendental-db", url=office.url(user, settings.pop("database", None),
                                                                    settings.pop("port", None)),
                         password_env=password_env, **settings)


def open_db(office: Office, spec: Any = SPEC, **kw: Any) -> DatabaseConnector:
    return connect(spec, source(office, **kw.pop("source", {})), **kw)


def statements(connector: DatabaseConnector) -> list[str]:
    """The statements the connector sends from now on (listened for on its engine)."""
    sent: list[str] = []
    event.listen(connector._engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: sent.append(statement))
    return sent


def rows(table: Any) -> list[list[str]]:
    return [cells for chunk in table.chunks() for _, cells in chunk]


PATIENT = ("PatNum BIGINT PRIMARY KEY, LName VARCHAR(100), FName VARCHAR(100), Birthdate DATE, SSN VARCHAR(20), "
           "DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP")


# ---------------------------------------------------------------------------------------- what is read
def test_statements_name_the_key_and_the_mappings_columns_never_star_or_a_never_column(office: Office) -> None:
    office.table("patient", PATIENT, [(2, "Zed", "Ann", "1980-02-03", "000-00-0000", "2026-03-01 08:00:00"),
                                      (1, "Roe", "Bo", "1975-06-07", "000-00-0001", "2026-03-01 08:00:00")])
    connector = open_db(office)
    try:
        sent = statements(connector)
        table = connector.open(["patient"], columns=["LName", "PatNum", "Birthdate"])
        assert table is not None and table.header() == ["PatNum", "LName", "Birthdate"]
        assert rows(table) == [["1", "Roe", "1975-06-07"], ["2", "Zed", "1980-02-03"]]  # ordered by the key
        assert sent == ["SELECT PatNum, LName, Birthdate FROM patient ORDER BY PatNum"]
        with pytest.raises(SourceFileError, match="never reads"):
            connector.open(["patient"], columns=["LName", "SSN"])
        with pytest.raises(ValueError, match="never SELECT"):
            connector.open(["patient"])
        assert connector.open(["nosuchresource"], columns=["X"]) is None  # not a table this connector reads
    finally:
        connector.close()


def test_rows_are_streamed_in_chunks_and_never_held_all_at_once(office: Office) -> None:
    office.table("procedurelog", "ProcNum BIGINT PRIMARY KEY, PatNum BIGINT, ProcNote VARCHAR(600), "
                 "DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
                 [(n, n % 97, "x" * 500, "2026-03-01 08:00:00") for n in range(1, 20_001)])
    connector = open_db(office, spec=SPEC.model_copy(update={"batch_rows": 500}))
    try:
        tracemalloc.start()
        table = connector.open(["procedurelog"], columns=["PatNum", "ProcNote"])
        assert table is not None
        sizes, last = [], 0
        for chunk in table.chunks():  # about 10 MB of rows; each chunk dropped as the next comes
            sizes.append(len(chunk))
            last = chunk[-1][1][0]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert sizes == [500] * 40 and last == "20000"
        assert peak < 3_000_000, f"held {peak:,} bytes while reading ~10 MB of rows"
    finally:
        connector.close()


def test_a_stream_ended_by_another_statement_is_never_taken_for_the_whole_table(office: Office) -> None:
    office.table("patient", PATIENT, [(n, "Roe", "Bo", None, "", "2026-03-01 08:00:00") for n in range(1, 11)])
    connector = open_db(office, spec=SPEC.model_copy(update={"batch_rows": 4}))
    try:
        first = connector.open(["patient"], columns=["LName"])
        assert first is not None
        chunks = first.chunks()
        assert len(next(chunks)) == 4
        second = connector.open(["patient"], columns=["FName"])  # one statement at a time: the first ends
        assert second is not None and len(rows(second)) == 10
        with pytest.raises(DatabaseStatementFailed, match="cut short by another statement"):
            next(chunks)
    finally:
        connector.close()


def test_ssl_verify_false_is_accepted_with_a_warning(office: Office) -> None:
    office.table("patient", PATIENT)
    user, password = office.account("SELECT")
    connector = open_db(office, source={"user": user, "password_env": "PMSB_TEST_DB_PW", "ssl_verify": False},
                        env={"PMSB_TEST_DB_PW": password})
    try:
        [warning] = connector.warnings
        assert "ssl_verify = false" in warning and "ssl_ca" in warning
    finally:
        connector.close()


def test_cells_are_the_text_a_table_export_holds(office: Office, tmp_path: Path) -> None:
    office.sql("DROP TABLE IF EXISTS claim")
    office.sql("CREATE TABLE claim (ClaimNum BIGINT PRIMARY KEY, DateService DATE, DateSent DATE, "
               "SecDateTEdit DATETIME, ClaimFee DECIMAL(10,2), InsPayAmt DOUBLE, ClaimStatus CHAR(1), "
               "ClaimNote VARCHAR(50), PatNum BIGINT)")
    with office.conn.cursor() as cur:
        cur.execute(f"USE `{office.name}`")
        cur.execute("SET SESSION sql_mode = ''")  # Open Dental's databases may hold MySQL's zero dates
        cur.execute("INSERT INTO claim VALUES (1, '2024-03-05', '0001-01-01', '2024-03-05 08:30:00', 1234.50, 12.5, "
                    "'S', 'Crème brûlée', 7), (2, '0000-00-00', NULL, '0000-00-00 00:00:00', 0.00, 0, 'U', NULL, 8)")
    export = tmp_path / "claim.csv"  # the same values as a raw-mode export writes them
    export.write_text(
        "ClaimNum,DateService,DateSent,SecDateTEdit,ClaimFee,InsPayAmt,ClaimStatus,ClaimNote,PatNum\n"
        "1,2024-03-05,0001-01-01,2024-03-05 08:30:00,1234.50,12.5,S,Crème brûlée,7\n"
        "2,0000-00-00,,0000-00-00 00:00:00,0.00,0,U,,8\n", encoding="utf-8")
    exported = FileConnector(load_connector_spec("opendental-csv"), tmp_path).open(["claim"])
    connector = open_db(office)
    try:
        table = connector.open(["claim"], columns=["DateService", "DateSent", "SecDateTEdit", "ClaimFee", "InsPayAmt",
                                                   "ClaimStatus", "ClaimNote", "PatNum"])
        assert table is not None and exported is not None
        assert table.header() == exported.header()
        assert rows(table) == rows(exported)
    finally:
        connector.close()


# ---------------------------------------------------------------------------------- one point in time
def test_the_cursor_is_the_snapshots_clock_and_the_next_run_reads_after_it_less_the_overlap(office: Office) -> None:
    office.table("appointment", "AptNum BIGINT PRIMARY KEY, PatNum BIGINT, DateTStamp DATETIME")
    before = office.now()
    first = open_db(office)
    after = office.now()
    try:
        clock = datetime.strptime(first.clock, TIME)
        assert before <= clock <= after
        table = first.open(["appointment"], columns=["PatNum"])
        assert table is not None and rows(table) == []
        cursor = table.fingerprint()
        assert read_cursor(cursor) == first.clock
    finally:
        first.close()
    stamps = {1: clock - timedelta(hours=1), 2: clock - timedelta(seconds=100), 3: clock + timedelta(minutes=1)}
    office.table("appointment", "AptNum BIGINT PRIMARY KEY, PatNum BIGINT, DateTStamp DATETIME",
                 [(n, 7, stamp.strftime(TIME)) for n, stamp in stamps.items()])
    night = open_db(office)
    try:
        sent = statements(night)
        table = night.open(["appointment"], cursor=cursor, columns=["PatNum"])
        assert table is not None and [r[0] for r in rows(table)] == ["2", "3"]  # 2: inside the 5-minute overlap
        since = (clock - timedelta(seconds=SPEC.database.cursor_overlap_seconds)).strftime(TIME)
        assert sent == [f"SELECT AptNum, PatNum FROM appointment WHERE DateTStamp > '{since}' ORDER BY AptNum"]
        assert read_cursor(table.fingerprint()) == night.clock
    finally:
        night.close()


def test_a_table_without_a_change_stamp_reads_keys_above_the_last_run(office: Office) -> None:
    office.table("mount", "MountNum BIGINT PRIMARY KEY, PatNum BIGINT", [(11, 7), (12, 7), (15, 8)])
    connector = open_db(office)
    try:
        table = connector.open(["mount"], cursor='{"server_time": null, "after_key": 11}', columns=["PatNum"])
        assert table is not None and [r[0] for r in rows(table)] == ["12", "15"]
        assert json.loads(table.fingerprint()) == {"server_time": None, "after_key": 15}
        quiet = connector.open(["mount"], cursor=table.fingerprint(), columns=["PatNum"])
        assert quiet is not None and rows(quiet) == [] and json.loads(quiet.fingerprint())["after_key"] == 15
    finally:
        connector.close()


def test_a_row_committed_after_the_snapshot_began_waits_for_the_next_run(office: Office) -> None:
    office.table("patient", PATIENT, [(1, "Roe", "Bo", "1975-06-07", "", "2026-03-01 08:00:00")])
    office.table("patplan", "PatPlanNum BIGINT PRIMARY KEY, PatNum BIGINT", [(5, 1)])
    connector = open_db(office)
    try:  # the office works on, on other connections: each change committed at once
        office.sql("INSERT INTO patient (PatNum, LName) VALUES (2, 'New')", "DELETE FROM patplan WHERE PatPlanNum = 5")
        table = connector.open(["patient"], columns=["LName"])
        assert table is not None and rows(table) == [["1", "Roe"]]
        assert connector.reconcile(["patplan"], {5}) == set()  # still there, as of the snapshot
    finally:
        connector.close()
    nextnight = open_db(office)
    try:
        table = nextnight.open(["patient"], columns=["LName"])
        assert table is not None and rows(table) == [["1", "Roe"], ["2", "New"]]
        assert nextnight.reconcile(["patplan"], {5}) == {5}
    finally:
        nextnight.close()


def test_the_transaction_refuses_a_write(office: Office) -> None:
    office.table("patient", PATIENT)
    connector = open_db(office)
    try:
        with pytest.raises(Exception, match="1792") as refused:  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
            connector._connection.exec_driver_sql("INSERT INTO patient (PatNum) VALUES (9)")
        assert "READ ONLY" in str(refused.value)
    finally:
        connector.close()
    assert office.sql("SELECT COUNT(*) FROM patient") == [(0,)]


# ------------------------------------------------------------------------------------------- deletions
def test_reconcile_finds_deleted_and_soft_deleted_rows_inside_the_snapshot(office: Office) -> None:
    office.table("patplan", "PatPlanNum BIGINT PRIMARY KEY, PatNum BIGINT",
                 [(n, 1) for n in range(1, 2501) if n not in (1500, 2300)])
    office.table("sheet", "SheetNum BIGINT PRIMARY KEY, IsDeleted TINYINT",
                 [(n, 1 if n in (4, 9) else 0) for n in range(1, 11)])
    connector = open_db(office)
    try:
        sent = statements(connector)
        assert connector.reconcile(["patplan"], set(range(1, 2501))) == {1500, 2300}
        # the buckets; in each of the two that differ its ten sub-buckets, then the ids of the one that differs
        assert len(sent) == 1 + 2 * 2
        assert sent[1] == ("SELECT FLOOR(PatPlanNum/100) AS b, COUNT(*) AS n, SUM(PatPlanNum) AS s FROM patplan "
                           "WHERE PatPlanNum >= 1000 AND PatPlanNum < 2000 GROUP BY b ORDER BY b")
        assert sent[2] == "SELECT PatPlanNum FROM patplan WHERE PatPlanNum >= 1500 AND PatPlanNum < 1600 " \
                          "ORDER BY PatPlanNum"
        assert connector.reconcile(["sheet"], set(range(1, 11))) == {4, 9}
        assert connector.reconcile(["patient"], {1}) is None  # a table that declares no deletions
    finally:
        connector.close()


def test_rows_added_after_the_read_cost_the_reconciliation_nothing(office: Office) -> None:
    """A table read outside the snapshot (MyISAM) has its ids reconciled later than its rows were read: rows
    added in between (not stored, above every stored id) neither make a bucket differ nor count as deleted."""
    office.table("patplan", "PatPlanNum BIGINT PRIMARY KEY, PatNum BIGINT",
                 [(n, 1) for n in range(1, 2521) if n != 1500])  # 2501..2520 came after the stored read
    office.sql("ALTER TABLE patplan ENGINE=MyISAM")
    try:
        connector = open_db(office)
        try:
            sent = statements(connector)
            assert connector.reconcile(["patplan"], set(range(1, 2501))) == {1500}
            # the buckets, the sub-buckets of 1000-1999, the ids of 1500-1599: none of 2000-2999 though it grew
            assert len(sent) == 1 + 2, sent
            assert sent[2].endswith("PatPlanNum >= 1500 AND PatPlanNum < 1600 AND PatPlanNum <= 2500 ORDER BY "
                                    "PatPlanNum")
            assert connector.reconcile(["patplan"], set(range(1, 2501)) - {1500}) == set() and len(sent) == 4
        finally:
            connector.close()
    finally:
        office.sql("DROP TABLE patplan")  # the module's other tests see InnoDB only


# ---------------------------------------------------------------------------------------------- grants
def test_a_select_only_account_gets_no_warning(office: Office) -> None:
    office.table("patient", PATIENT)
    user, password = office.account("SELECT")
    connector = open_db(office, source={"user": user, "password_env": "PMSB_TEST_DB_PW"},
                        env={"PMSB_TEST_DB_PW": password})
    try:
        assert connector.warnings == []
        assert connector.open(["patient"], columns=["LName"]) is not None
    finally:
        connector.close()


@pytest.mark.parametrize("grant", ["SELECT, INSERT, UPDATE", "ALL PRIVILEGES"])
def test_an_account_that_could_write_is_warned_about_once_with_the_grant_it_should_have(
    office: Office, grant: str
) -> None:
    office.table("patient", PATIENT)
    user, password = office.account(grant)
    connector = open_db(office, source={"user": user, "password_env": "PMSB_TEST_DB_PW"},
                        env={"PMSB_TEST_DB_PW": password})
    try:
        [warning] = connector.warnings
        assert f"GRANT SELECT ON `{office.name}`.* TO '{user}'@'%';" in warning
        assert ("INSERT, UPDATE" if "INSERT" in grant else "ALL PRIVILEGES") in warning
        assert password not in warning
    finally:
        connector.close()


def test_which_grants_could_write() -> None:
    lines = [
        "GRANT USAGE ON *.* TO `r`@`%` IDENTIFIED BY PASSWORD '*ABC'",
        "GRANT SELECT, SHOW VIEW ON `opendental`.* TO `r`@`%`",
        "GRANT INSERT, UPDATE (Note) ON `scratch`.* TO `r`@`%`",  # another database: not about Open Dental's data
        "GRANT `office_role` TO `r`@`%`",
        "GRANT PROXY ON ''@'%' TO 'r'@'%' WITH GRANT OPTION",
    ]
    assert write_privileges(lines, "opendental") == []
    assert write_privileges([*lines, "GRANT UPDATE (LName, FName) ON `opendental`.`patient` TO `r`@`%`"],
                            "opendental") == ["UPDATE"]
    assert write_privileges(["GRANT SELECT ON *.* TO `r`@`%` WITH GRANT OPTION"], "opendental") == ["GRANT OPTION"]
    assert write_privileges(["GRANT DELETE ON `open%`.* TO `r`@`%`"], "opendental") == ["DELETE"]
    assert write_privileges(["GRANT DELETE ON `od\\_main`.* TO `r`@`%`"], "odxmain") == []  # an escaped _
    assert write_privileges(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"], "opendental") == ["ALL PRIVILEGES"]


# ---------------------------------------------------------------------------------------------- errors
def test_a_wrong_password_is_exit_2_naming_the_variable_never_the_password(office: Office) -> None:
    office.table("patient", PATIENT)
    user, _ = office.account("SELECT")
    with pytest.raises(DatabaseRefused) as refused:
        open_db(office, source={"user": user, "password_env": "PMSB_TEST_DB_PW"},
                env={"PMSB_TEST_DB_PW": "not-the-password-4711"})
    assert kind_of(refused.value) is ErrorKind.CONFIGURATION and refused.value.kind.exit_code == 2
    message = str(refused.value)
    assert "PMSB_TEST_DB_PW" in message and f"user {user}" in message and "Reading Open Dental's database" in message
    assert "not-the-password-4711" not in message


def test_an_unknown_database_is_exit_2(office: Office) -> None:
    with pytest.raises(DatabaseRefused, match="database no_such_db_here does not exist") as refused:
        open_db(office, source={"database": "no_such_db_here"})
    assert refused.value.kind.exit_code == 2
    user, password = office.account("SELECT")
    with pytest.raises(DatabaseRefused, match=f"user {user} may not read database no_such_db_here"):
        open_db(office, source={"user": user, "password_env": "PMSB_TEST_DB_PW", "database": "no_such_db_here"},
                env={"PMSB_TEST_DB_PW": password})


def test_a_database_without_any_of_the_tables_is_the_wrong_one(office: Office) -> None:
    empty = f"{office.name}_empty"
    office.sql(f"CREATE DATABASE IF NOT EXISTS `{empty}`")
    try:
        with pytest.raises(DatabaseRefused, match="holds none of the tables"):
            open_db(office, source={"database": empty})
    finally:
        office.sql(f"DROP DATABASE IF EXISTS `{empty}`")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_is_down_is_exit_3(office: Office) -> None:
    with pytest.raises(DatabaseUnreachable, match="connection was refused") as down:
        open_db(office, source={"port": _closed_port()})
    assert kind_of(down.value) is ErrorKind.SOURCE and down.value.kind.exit_code == 3
    assert "next run picks up where the last good one ended" in str(down.value)


def test_a_server_that_never_answers_times_out_as_exit_3(office: Office) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the connection is accepted; no server ever greets
    try:
        quick = SPEC.model_copy(update={"database": SPEC.database.model_copy(update={"connect_timeout": 0.5})})
        with pytest.raises(DatabaseUnreachable, match=r"no answer within 0.5 s"):
            open_db(office, spec=quick, source={"port": silent.getsockname()[1]})
        assert connector_reads_long_after_connecting(office)
    finally:
        silent.close()


def connector_reads_long_after_connecting(office: Office) -> bool:
    """The greeting is awaited for the connect timeout only; a statement's answer for the read timeout."""
    connector = open_db(office)
    try:
        driver = connector._connection.connection.dbapi_connection
        return driver._read_timeout == SPEC.database.read_timeout
    finally:
        connector.close()


def test_tls_asked_of_a_server_without_it_is_refused_not_dropped(office: Office) -> None:
    office.table("patient", PATIENT)
    have_ssl = office.sql("SHOW VARIABLES LIKE 'have_ssl'")
    if have_ssl and have_ssl[0][1] == "YES":
        pytest.skip("this server offers TLS")
    with pytest.raises(DatabaseRefused, match="does not offer TLS"):
        open_db(office, source={"ssl": True})


def test_a_missing_table_is_not_available_and_a_missing_key_column_fails_that_table_only(office: Office) -> None:
    office.table("patient", PATIENT)
    office.table("mount", "PatNum BIGINT, DocCategory BIGINT")  # not Open Dental's: its key column is missing
    office.sql("DROP TABLE IF EXISTS eform")
    connector = open_db(office)
    try:
        with pytest.raises(ApiVersionTooOld, match=r"the eform table is not in database .*\(Open Dental 24.3 added it"):
            connector.open(["eform"], columns=["PatNum"])
        with pytest.raises(DatabaseStatementFailed, match="the column MountNum the mapping reads is not in"):
            connector.open(["mount"], columns=["PatNum"])
        table = connector.open(["patient"], columns=["LName"])  # the connection goes on
        assert table is not None and rows(table) == []
    finally:
        connector.close()
        office.sql("DROP TABLE mount")


def test_columns_the_table_lacks_are_left_out_as_a_table_export_leaves_them_out(office: Office) -> None:
    """An older or odd schema lacks a column the mapping reads (ClinicNum where there are no clinics): the
    statement selects the ones the table has (any case), so the header is what an export of it holds."""
    office.table("patient", PATIENT.replace("LName", "lname"), [(1, "Roe", "Bo", "1975-06-07", "", "2026-03-01 08:00:00")])
    connector = open_db(office)
    try:
        sent = statements(connector)
        table = connector.open(["patient"], columns=["LName", "ClinicNum", "Birthdate", "DateTStamp"])
        assert table is not None and table.header() == ["PatNum", "LName", "Birthdate", "DateTStamp"]
        assert rows(table) == [["1", "Roe", "1975-06-07", "2026-03-01 08:00:00"]]
        assert sent == ["SELECT PatNum, LName, Birthdate, DateTStamp FROM patient ORDER BY PatNum"]
    finally:
        connector.close()


def test_a_table_without_its_change_stamp_is_read_whole(office: Office) -> None:
    office.table("appointment", "AptNum BIGINT PRIMARY KEY, PatNum BIGINT", [(1, 7), (2, 8)])  # no DateTStamp
    connector = open_db(office)
    try:
        sent = statements(connector)
        table = connector.open(["appointment"], cursor=json.dumps({"server_time": connector.clock}), columns=["PatNum"])
        assert table is not None and [r[0] for r in rows(table)] == ["1", "2"]
        assert sent == ["SELECT AptNum, PatNum FROM appointment ORDER BY AptNum"]
    finally:
        connector.close()


# ------------------------------------------------------------------------------ tables not in the snapshot
def test_tables_that_are_not_innodb_are_named_once_and_read_a_page_per_statement(office: Office) -> None:
    """MyISAM tables are outside the consistent snapshot: one warning names them and the fix. A MyISAM table
    is locked against writes while a statement reads it, so it is read a page per statement, each page read
    whole at once: the office's writes never wait on a run that is storing rows."""
    office.table("procedurelog", "ProcNum BIGINT PRIMARY KEY, PatNum BIGINT, ProcNote VARCHAR(600), DateTStamp DATETIME",
                 [(n, n % 7, "x" * 500, "2026-03-01 08:00:00") for n in range(1, 30_001)])  # more than a socket holds
    office.table("claim", "ClaimNum BIGINT PRIMARY KEY, PatNum BIGINT", [(1, 1)])
    office.sql("ALTER TABLE procedurelog ENGINE=MyISAM", "ALTER TABLE claim ENGINE=Aria")
    try:
        connector = open_db(office, spec=SPEC.model_copy(update={"batch_rows": 5000}))
        try:
            [engines] = [w for w in connector.warnings if "InnoDB" in w]
            assert "2 tables" in engines and "Aria/MyISAM: claim, procedurelog" in engines
            assert "InnoDb" in engines and "Reading Open Dental's database" in engines
            sent = statements(connector)
            table = connector.open(["procedurelog"], columns=["PatNum", "ProcNote"])
            assert table is not None
            chunks = table.chunks()
            first = next(chunks)
            office.sql("SET SESSION lock_wait_timeout = 2")  # the office writes while the run stores rows
            office.sql("UPDATE procedurelog SET PatNum = 99 WHERE ProcNum = 30000")  # 1205 if it had to wait
            office.sql("SET SESSION lock_wait_timeout = DEFAULT")
            read = [cells for _, cells in first] + [cells for chunk in chunks for _, cells in chunk]
            assert [r[0] for r in read] == [str(n) for n in range(1, 30_001)] and read[-1][1] == "99"
            assert sent == ["SELECT ProcNum, PatNum, ProcNote FROM procedurelog ORDER BY ProcNum LIMIT 5000",
                            *(f"SELECT ProcNum, PatNum, ProcNote FROM procedurelog WHERE ProcNum > {n} ORDER BY "
                              "ProcNum LIMIT 5000" for n in range(5000, 30_001, 5000))]  # the last: none left
            assert json.loads(table.fingerprint())["server_time"] == connector.clock  # the clock before the reads
        finally:
            connector.close()
    finally:
        office.sql("DROP TABLE procedurelog", "DROP TABLE claim")  # the module's other tests see InnoDB only


# ------------------------------------------------------------------------------------------- a run
def test_a_run_reads_the_database_warns_once_and_keeps_the_snapshot_clock(office: Office, tmp_path: Path) -> None:
    office.table("patient", "PatNum BIGINT PRIMARY KEY, DateTStamp DATETIME, FName VARCHAR(100), LName VARCHAR(100), "
                 "Preferred VARCHAR(100), Birthdate DATE, PatStatus TINYINT, PriProv BIGINT, SecDateEntry DATE, "
                 "DateFirstVisit DATE, ClinicNum BIGINT",
                 [(1, "2026-03-01 08:00:00", "Ann", "Test", "", "1980-02-03", 0, 1, "2025-01-01", "0001-01-01", 0),
                  (2, "2026-03-01 08:00:00", "Bo", "Sample", "", "1975-06-07", 0, 1, "2025-02-01", "2025-02-10", 0)])
    office.sql("DROP TABLE IF EXISTS eform")
    config_path = tmp_path / "practice.toml"
    config_path.write_text(
        '[practice]\nname = "Db Dental"\ntimezone = "America/Chicago"\n'
        f'[source]\nconnector = "opendental-db"\nurl = "{office.url()}"\n'
        '[store]\npath = "db.sqlite"\n', encoding="utf-8")
    cfg = load_config(config_path)
    report = run_sync(cfg, None)
    patient = next(r for r in report.resources if r.resource == "patient")
    assert patient.rows_read == 2 and patient.stored.inserted == 2 and patient.source == f"{office.name}.patient"
    assert patient.incomplete is None and patient.error is None and patient.warning is None
    assert next(r for r in report.resources if r.resource == "eform").unavailable
    [warning] = report.warnings  # the test's administrator account can write: said once
    assert "GRANT SELECT ON" in warning and report.to_summary()["warnings"] == [warning]
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        clock = datetime.strptime(read_cursor(store.get_cursor("patient")) or "", TIME)
        assert abs(clock - office.now()) < timedelta(minutes=1)
    finally:
        store.close()
