"""The fake office's Open Dental database on a real MariaDB/MySQL server, for the opendental-db route.

    office = OfficeDatabase(admin_url)        # an administrator's URL with a database of its own
    office.load(fake)                         # the whole office (FakeOpenDental's tables), as Open Dental holds it
    account = office.reader()                 # a SELECT-only account: account.url, account.password
    fake.touch("appointment", "12", Confirmed="4"); fake.delete("refattach", "3")
    office.mirror(fake)                       # the next night: changed rows updated, new inserted, gone deleted
    office.close()                            # accounts and tables dropped

    office.load_export(folder)                # or a practice's table exports (one CSV a table), loaded in bulk
    office.change("patient", added, changed, gone, office.server_now())   # then a day's work on one table

Tables and columns carry Open Dental's names and types (OpenDentBusiness, branch 24_3): every *Num a bigint,
enums tinyint, dates `date` and times `datetime` that hold '0001-01-01' when unset (never NULL), money
`double`, DateTStamp/SecDateTEdit `timestamp` columns MySQL stamps itself, primary key on the table's key.
The columns no route may read (SSN, image bodies, notes, signatures: NEVER_SELECTED) are there and hold
synthetic values, so a test can see they are never selected.

Clocks: a change Open Dental makes is stamped by the office's clock, which is this server's clock here (the
route's cursor is the server's clock when its snapshot starts). `load` keeps the fake's own stamps (the office's
history); `mirror` stamps the rows it inserts or changes with the server's NOW() where the fake stamped them
(touch, insert), and leaves the stamp alone where the fake did not (change_without_stamp: a deleted sheet).
Synthetic data only.
"""

from __future__ import annotations

import copy
import csv
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odexport import COLUMNS
from sqlalchemy.engine import make_url

from pms_bridge.sample.opendental_enums import PRIMARY_KEYS, STAMP_COLUMN

from .opendental_shapes import NEVER_READ, NO_DATE, NO_DATETIME

if TYPE_CHECKING:
    import pymysql

    from .opendental import FakeOpenDental

SYNTHETIC = "SYNTHETIC-NEVER-READ"
_LOG_LOCK = "pms_bridge_tests_general_log"
# Columns an Open Dental database holds that no route may select (the connectors' never_columns).
NEVER_SELECTED: dict[str, tuple[str, ...]] = {
    **NEVER_READ,
    "document": (*NEVER_READ["document"], "Note", "Signature"),
    "appointment": ("Note",),
    "referral": ("SSN", "Note"),
}
# Columns every Open Dental database has that the test exports leave out (a single-clinic office's ClinicNum
# is 0), and those of tables the exports may leave out whole (no rows).
EXTRA_COLUMNS: dict[str, list[str]] = {
    "patient": ["ClinicNum"],
    "appointment": ["ClinicNum"],
    "clinic": ["ClinicNum", "Abbr", "Description", "IsHidden"],
    "mountitem": ["MountItemNum", "MountNum", "ItemOrder"],
    "eform": ["EFormNum", "FormType", "PatNum", "DateTimeShown", "Description", "DateTEdited", "EFormDefNum", "Status"],
    "histappointment": ["HistApptNum", "HistUserNum", "HistDateTStamp", "HistApptAction", *COLUMNS["appointment"],
                        "ClinicNum"],
}
# The column each table's changes are stamped in (histappointment: the time the history row was made).
STAMPED = {**STAMP_COLUMN, "histappointment": "HistDateTStamp"}

_DATES = {"Birthdate", "DateFirstVisit", "SecDateEntry", "ProcDate", "DateTP", "DateEffective", "DateTerm",
          "DateLastVerified", "RefDate", "DateProcComplete", "DateService", "DateSent", "DateReceived"}
_DATETIMES = {"AptDateTime", "SecDateTEntry", "DateCreated", "DateTimeSheet", "DateTSheetEdited", "DateTimeShown",
              "DateTEdited", "HistDateTStamp"}
_AUTO_STAMPS = {"DateTStamp", "SecDateTEdit"}  # MySQL sets them on every change (timestamp ... ON UPDATE)
_MONEY = {"ProcFee", "ClaimFee", "InsPayEst", "InsPayAmt"}
_ENUMS = {"AptStatus", "PatStatus", "Gender", "ProcStatus", "Category", "Ordinal", "Relationship", "VerifyType",
          "RefType", "RefToStatus", "ImgType", "FormType", "Status", "HistApptAction", "ProvStatus"}
_INTS = {"ItemOrder", "SheetType"}
_TEXT_NUMS = {"GroupNum", "ToothNum"}  # end in Num, hold text
_KEYS = {"Op", "Confirmed", "Specialty", "PriProv", "ProvHyg", "ProvTreat", "Subscriber", "FKey", "DocCategory"}
_LONG_TEXT = {"RawBase64": "mediumtext", "Thumbnail": "text", "Note": "text", "Signature": "text"}
# What Open Dental holds where a cell is unset, by column kind (a stamp: the time the row was written).
UNSET: dict[str, Any] = {"date": NO_DATE, "datetime": NO_DATETIME, "number": 0, "text": ""}


def column_type(column: str) -> tuple[str, str]:
    """(MySQL type with its default, kind) of an Open Dental column; kind says how a text cell is written."""
    if column in _AUTO_STAMPS:
        return "timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp()", "stamp"
    if column in _DATES:
        return f"date NOT NULL DEFAULT '{NO_DATE}'", "date"
    if column in _DATETIMES:
        return f"datetime NOT NULL DEFAULT '{NO_DATETIME}'", "datetime"
    if column in _MONEY:
        return "double NOT NULL DEFAULT 0", "number"
    if column in _ENUMS or column.startswith("Is"):
        return "tinyint NOT NULL DEFAULT 0", "number"
    if column in _INTS:
        return "int NOT NULL DEFAULT 0", "number"
    if (column.endswith("Num") and column not in _TEXT_NUMS) or column in _KEYS:  # a key of another row
        return "bigint NOT NULL DEFAULT 0", "number"
    if column in _LONG_TEXT:
        return f"{_LONG_TEXT[column]} NOT NULL", "text"
    return "varchar(255) NOT NULL DEFAULT ''", "text"


def _unset_sql(column: str) -> str:
    """What an unset cell of ``column`` becomes, as SQL (a stamp: the server's clock, as _cell's ``now``)."""
    kind = column_type(column)[1]
    if kind == "stamp":
        return "NOW()"
    value = UNSET[kind]
    return "'" + value + "'" if isinstance(value, str) else str(value)


def _export_header(path: Path) -> tuple[list[str], str]:
    """An export file's header row and its line ending."""
    with path.open(newline="", encoding="utf-8") as fh:
        first = fh.readline()
    ending = "\r\n" if first.endswith("\r\n") else "\n"
    return (next(csv.reader([first]), []), ending)


@dataclass(frozen=True)
class Account:
    """A database account: its URL (mysql://user@host:port/database, no password) and its password."""

    user: str
    password: str
    url: str


def connect(url: str, **kw: Any) -> pymysql.Connection:
    """A PyMySQL connection to the server and database of a mysql:// URL (``kw`` adds or overrides
    pymysql.connect's arguments, e.g. database=None for none)."""
    import pymysql

    u = make_url(url)
    params = {"host": u.host or "127.0.0.1", "port": u.port or 3306, "user": u.username or "",
              "password": u.password or "", "database": u.database, "connect_timeout": 3, "charset": "utf8mb4"}
    return pymysql.connect(**{**params, **kw})


class OfficeDatabase:
    """One office's Open Dental database, in the database ``admin_url`` names (see the module's docstring)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        u = make_url(admin_url)
        if not u.database:
            raise ValueError("the administrator's URL names no database")
        self.database, self.host, self.port = u.database, u.host or "127.0.0.1", u.port or 3306
        self._accounts: dict[str, Account] = {}
        self._mirrored: dict[str, dict[int, dict[str, str]]] = {}  # the fake's tables as last written
        self._columns: dict[str, list[str]] = {}
        self._admin = connect(admin_url, autocommit=True)

    # ------------------------------------------------------------ accounts
    def reader(self) -> Account:
        """An account that may only SELECT in the office database (what pms-bridge should be given)."""
        return self._account("r", "SELECT")

    def writer(self) -> Account:
        """An account that could change the office's data (what pms-bridge should never be given)."""
        return self._account("w", "SELECT, INSERT, UPDATE, DELETE")

    def _account(self, kind: str, privileges: str) -> Account:
        if kind not in self._accounts:
            user = f"pmsb_{kind}_{uuid.uuid4().hex[:10]}"
            password = secrets.token_urlsafe(12)
            self.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))  # %%: any host
            self.execute(f"GRANT {privileges} ON `{self.database}`.* TO '{user}'@'%'")
            url = f"mysql://{user}@{self.host}:{self.port}/{self.database}"
            self._accounts[kind] = Account(user, password, url)
        return self._accounts[kind]

    # ------------------------------------------------------------ the office's tables
    def load(self, fake: FakeOpenDental) -> None:
        """The whole office as it is now, into fresh tables (stamps as the fake has them)."""
        for table in self.tables():
            self.execute(f"DROP TABLE `{table}`")
        self._columns = {}
        now = self.server_now()
        for table in sorted(set(PRIMARY_KEYS) | set(fake.tables)):
            self._create(table, fake.tables.get(table, {}).values())
            rows = fake.tables.get(table, {})
            self._insert(table, [rows[key] for key in sorted(rows)], now, restamp=False)
        self._mirrored = copy.deepcopy(fake.tables)

    def mirror(self, fake: FakeOpenDental) -> dict[str, tuple[int, int, int]]:
        """Bring the database to the fake's state, as an office that kept working would: rows the fake
        changed are updated, new rows inserted, deleted rows deleted. Returns table -> (inserted, updated,
        deleted) for the tables that changed."""
        if not self._columns:
            self.load(fake)
            return {table: (len(rows), 0, 0) for table, rows in fake.tables.items() if rows}
        now = self.server_now()
        changes: dict[str, tuple[int, int, int]] = {}
        for table in sorted(set(fake.tables) | set(self._mirrored)):
            old, new = self._mirrored.get(table, {}), fake.tables.get(table, {})
            if table not in self._columns:
                self._create(table, new.values())
            gone = sorted(old.keys() - new.keys())
            added = [new[key] for key in sorted(new.keys() - old.keys())]
            changed = [(old[key], new[key]) for key in sorted(old.keys() & new.keys()) if old[key] != new[key]]
            self.change(table, added, changed, gone, now)
            if gone or added or changed:
                changes[table] = (len(added), len(changed), len(gone))
        self._mirrored = copy.deepcopy(fake.tables)
        return changes

    def change(self, table: str, added: list[Mapping[str, str]],
               changed: list[tuple[Mapping[str, str], Mapping[str, str]]], gone: list[int], now: str) -> None:
        """A day's work on one table: the ``gone`` ids deleted, ``added`` rows inserted and stamped ``now``,
        ``changed`` (before, after) rows updated, their stamp moved to ``now`` where ``after`` moved it."""
        if gone:
            pk = self._pk(table)
            self.execute(f"DELETE FROM `{table}` WHERE `{pk}` IN ({', '.join(['%s'] * len(gone))})", gone)
        self._insert(table, added, now, restamp=True)
        for before, after in changed:
            self._update(table, before, after, now)

    def load_export(self, folder: Path) -> dict[str, int]:
        """A practice's table exports (one CSV per table: a header row, then Open Dental's text) into fresh
        tables, read by the server itself (LOAD DATA LOCAL INFILE: a million rows in seconds, where INSERTs
        from Python take minutes). Every table Open Dental has is created, empty where the folder has no file;
        cells as ``load`` writes them (unset dates 0001-01-01, unset numbers 0, SYNTHETIC in the columns no
        route may read), stamps as the files have them. Change it with ``change`` (``mirror`` follows a fake).
        Returns table -> rows loaded."""
        for table in self.tables():
            self.execute(f"DROP TABLE `{table}`")
        self._columns, self._mirrored = {}, {}
        files = {path.stem: path for path in sorted(folder.glob("*.csv"))}
        loaded: dict[str, int] = {}
        with closing(connect(self.admin_url, autocommit=True, local_infile=True)) as conn, conn.cursor() as cur:
            for table in sorted(set(PRIMARY_KEYS) | set(files)):
                header, ending = _export_header(files[table]) if table in files else ([], "\n")
                self._create(table, [dict.fromkeys(header, "")])
                if header:
                    loaded[table] = cur.execute(self._load_sql(table, header, ending), (str(files[table]),))
        return loaded

    def _load_sql(self, table: str, header: list[str], ending: str) -> str:
        """LOAD DATA for one export file: each cell as _cell writes it, the columns no route reads synthetic."""
        cells = [f"@c{n}" for n in range(len(header))]
        sets = [f"`{column}` = IF({cell} = '', {_unset_sql(column)}, {cell})" for column, cell in zip(header, cells)]
        sets += [f"`{column}` = '{SYNTHETIC} {table}.{column}'"
                 for column in NEVER_SELECTED.get(table, ()) if column not in header]
        terminator = ending.replace("\r", "\\r").replace("\n", "\\n")
        return (f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
                f"OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '{terminator}' IGNORE 1 LINES "
                f"({', '.join(cells)}) SET {', '.join(sets)}")

    def tables(self) -> list[str]:
        return [row[0] for row in self.query("SHOW TABLES")]

    def drop_table(self, table: str) -> None:
        """As in an older Open Dental that does not have the table (eform before 24.3)."""
        self.execute(f"DROP TABLE `{table}`")

    def server_now(self) -> str:
        return str(self.query("SELECT NOW()")[0][0])

    def _pk(self, table: str) -> str:
        return PRIMARY_KEYS.get(table) or self._columns[table][0]

    def _create(self, table: str, rows: Iterable[Mapping[str, str]]) -> None:
        pk = PRIMARY_KEYS.get(table)
        columns = list(dict.fromkeys([*([pk] if pk else []), *COLUMNS.get(table, []), *EXTRA_COLUMNS.get(table, []),
                                      *(c for row in rows for c in row), *NEVER_SELECTED.get(table, ())]))
        if not columns:
            raise ValueError(f"no columns known for table {table}")
        pk = pk or columns[0]
        ddl = [f"`{c}` {'bigint NOT NULL' if c == pk else column_type(c)[0]}" for c in columns]
        self.execute(f"CREATE TABLE `{table}` ({', '.join(ddl)}, PRIMARY KEY (`{pk}`)) "
                     "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        self._columns[table] = columns

    def _insert(self, table: str, rows: list[Mapping[str, str]], now: str, restamp: bool) -> None:
        """New rows; ``restamp``: stamped ``now`` by the server's clock (a change the office makes tonight),
        else with their own stamps (the office's history; ``now`` where a row has none)."""
        if not rows:
            return
        columns = self._columns[table]
        self._check_columns(table, rows)
        stamp = STAMPED.get(table)
        values = [[now if restamp and column == stamp else self._cell(table, column, row, now)
                   for column in columns] for row in rows]
        names = ", ".join(f"`{c}`" for c in columns)
        self.executemany(f"INSERT INTO `{table}` ({names}) VALUES ({', '.join(['%s'] * len(columns))})", values)

    def _update(self, table: str, before: Mapping[str, str], after: Mapping[str, str], now: str) -> None:
        """A changed row: every column the fake holds; the stamp moves to now only where the fake moved it."""
        self._check_columns(table, [after])
        pk, stamp = self._pk(table), STAMPED.get(table)
        columns = [c for c in self._columns[table] if c != pk and c != stamp and c in after]
        sets = [f"`{c}` = %s" for c in columns]
        params: list[Any] = [self._cell(table, c, after, now) for c in columns]
        if stamp in self._columns[table]:
            moved = before.get(stamp) != after.get(stamp)
            sets.append(f"`{stamp}` = %s" if moved else f"`{stamp}` = `{stamp}`")  # the latter: no auto-stamp
            params += [now] if moved else []
        self.execute(f"UPDATE `{table}` SET {', '.join(sets)} WHERE `{pk}` = %s", [*params, int(after[pk])])

    def _check_columns(self, table: str, rows: Iterable[Mapping[str, str]]) -> None:
        unknown = {c for row in rows for c in row} - set(self._columns[table])
        if unknown:
            raise ValueError(f"table {table} has no columns {sorted(unknown)}: add them to the office's schema")

    @staticmethod
    def _cell(table: str, column: str, row: Mapping[str, str], now: str) -> Any:
        """A text cell as Open Dental stores it: unset dates '0001-01-01', unset numbers 0, text as is."""
        text = row.get(column)
        if text is None and column in NEVER_SELECTED.get(table, ()):
            return f"{SYNTHETIC} {table}.{column}"
        kind = column_type(column)[1]
        if text not in (None, ""):
            return text
        return now if kind == "stamp" else UNSET[kind]

    # ------------------------------------------------------------ statements
    def execute(self, sql: str, params: Any = None) -> int:
        with self._admin.cursor() as cur:
            return cur.execute(sql, params)

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        with self._admin.cursor() as cur:
            for start in range(0, len(rows), 500):
                cur.executemany(sql, rows[start:start + 500])

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self._admin.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    @contextmanager
    def statements_of(self, account: Account) -> Iterator[list[str]]:
        """Every statement ``account`` sent while the block ran, as the server's general query log recorded
        them (filled in when the block ends). The log is switched on for the block and restored after; a
        server-wide lock keeps test sessions sharing the server from switching it off under each other."""
        (locked,), = self.query("SELECT GET_LOCK(%s, 300)", (_LOG_LOCK,))
        if locked != 1:
            raise TimeoutError("another test session kept the general query log for 5 minutes")
        try:
            (was_on, output), = self.query("SELECT @@global.general_log, @@global.log_output")
            self.execute("SET GLOBAL log_output = %s", ("TABLE" if output.upper() == "NONE" else f"{output},TABLE",))
            self.execute("SET GLOBAL general_log = 1")
            (since,), = self.query("SELECT NOW(6)")
            sent: list[str] = []
            try:
                yield sent
            finally:
                rows = self.query(
                    "SELECT argument FROM mysql.general_log WHERE event_time >= %s AND user_host LIKE %s "
                    "AND command_type IN ('Query', 'Execute') ORDER BY event_time",
                    (since, f"{account.user}[%"),
                )
                sent.extend(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for (a,) in rows)
                if not was_on:  # nobody else wanted the log: leave the server as it was
                    self.execute("SET GLOBAL general_log = 0")
                    self.execute("TRUNCATE TABLE mysql.general_log")
                self.execute("SET GLOBAL log_output = %s", (output,))
        finally:
            self.query("SELECT RELEASE_LOCK(%s)", (_LOG_LOCK,))

    def close(self) -> None:
        """Drop the accounts and the office's tables (the database itself belongs to whoever made it)."""
        try:
            for account in self._accounts.values():
                self.execute(f"DROP USER IF EXISTS '{account.user}'@'%'")
            for table in self.tables():
                self.execute(f"DROP TABLE `{table}`")
        finally:
            self._accounts.clear()
            self._admin.close()
