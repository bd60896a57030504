"""Reads a PMS's own MySQL/MariaDB database (connector kind "database": Open Dental's), read only.

One connection per run and one read-only transaction with a consistent snapshot, so every table is
read as it stood at one moment while the office works; the server refuses any write inside it. The
server's clock, read just before the snapshot begins, is the cursor of every incremental table: a row
changed after it is newer than the cursor, so the next run (which reads after the cursor less an
overlap) reads it. Each table's statement is the query route's (sql_tables): the primary key and the
mapping's columns, after the change stamp or the highest key read, live rows only, ordered by the
primary key; its rows are streamed through a server-side cursor (memory stays flat) into the
(header, cells) chunks every connector yields. Values are the server's own text, as a table export
holds them: dates 2024-03-05, times 2024-03-05 08:00:00, zero dates as stored (0001-01-01,
0000-00-00), decimals as written, NULL as an empty cell.

At the start the account's grants are checked: an account that could write is warned about once, in
the run's summary, with the GRANT it should hold instead. The tables' columns and storage engines are
read then too: a statement selects only the mapping's columns the table has (its header is then what a
table export of it holds), and tables a snapshot does not cover (MyISAM) are named once in the summary
and read a page per statement, since MySQL keeps such a table locked against writes until the statement
reading it has sent its last row. Messages name the server, the account, the
database and tables, and MySQL's error numbers: never a row's values or the server's own message text.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql
import structlog
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from pms_bridge.connectors.api_client import ApiVersionTooOld
from pms_bridge.connectors.files import Chunk, SourceFileError, SourceUnavailable
from pms_bridge.connectors.rest_table import (
    as_int,
    key_cursor,
    read_cursor_key,
    time_cursor,
)
from pms_bridge.connectors.secrets import read_secret
from pms_bridge.connectors.spec import ConnectorSpec, DatabaseSpec, QueryTable
from pms_bridge.connectors.sql_tables import (
    IDENTIFIER,
    reconcile_ids,
    rows_sql,
    select_list,
    since,
)
from pms_bridge.errors import ConfigurationProblem, PmsBridgeError

log = structlog.get_logger("pms_bridge.database")

DRIVER = "mysql+pymysql"
README = "see README 'Reading Open Dental's database'"
# Privileges that read or show the server's state: an account holding only these cannot change data.
READ_PRIVILEGES = frozenset({
    "SELECT", "USAGE", "SHOW VIEW", "SHOW DATABASES", "PROCESS", "REPLICATION CLIENT", "BINLOG MONITOR",
    "SLAVE MONITOR", "REPLICA MONITOR",
})
# The driver converts nothing: every value arrives as the server's text (a zero date stays 0000-00-00).
_SERVER_TEXT = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}

# MySQL / MariaDB error numbers
_DB_ACCESS_DENIED, _ACCESS_DENIED, _UNKNOWN_DATABASE, _HOST_NOT_ALLOWED = 1044, 1045, 1049, 1130
_ACCESS_DENIED_NO_PASSWORD = 1698
_TABLE_ACCESS_DENIED, _COLUMN_ACCESS_DENIED, _NO_SUCH_TABLE, _UNKNOWN_COLUMN = 1142, 1143, 1146, 1054
_UNKNOWN_HOST, _TLS_FAILED = 2005, 2026


class DatabaseRefused(ConfigurationProblem):
    """The server refused the account, the database or the connection's settings: exit code 2."""


class DatabaseUnreachable(SourceUnavailable):
    """The server is down, refuses connections, does not answer in time or dropped the connection: exit
    code 3; every table's cursor stays where its last good read left it."""


class TableMissing(ApiVersionTooOld):
    """A table the connector reads is not in the database (an older PMS version): that resource is not
    available, which is said once and does not fail the run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None)


class DatabaseStatementFailed(SourceFileError):
    """One table's statement failed (a column the mapping reads is not there): that resource is skipped."""


class _Account:
    """Who connects where, as messages show it (no password)."""

    def __init__(self, url_text: str, password_env: str | None) -> None:
        url = make_url(url_text)
        self.url = url
        self.user = url.username or ""
        self.host = url.host or ""
        self.database = url.database or ""
        self.password_env = password_env
        self.shown = url.render_as_string(hide_password=True)

    def grant(self, user: str | None = None, host: str | None = None) -> str:
        """The one privilege pms-bridge needs, as the statement that gives it."""
        return f"GRANT SELECT ON `{self.database}`.* TO '{user or self.user}'@'{host or '%'}';"


# ------------------------------------------------------------------------------------- failures
def _error_code(exc: BaseException) -> int | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _os_cause(exc: BaseException) -> BaseException | None:
    """The socket error under a driver error (PyMySQL raises its own inside the OSError's handler)."""
    seen = exc.orig if isinstance(exc, DBAPIError) else exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _refused(account: _Account, code: int | None, cause: BaseException | None) -> str | None:
    """What to fix, when the failure is the configuration's (None: it is not)."""
    where = f"{account.host} ({account.shown})"
    if code in (_ACCESS_DENIED, _ACCESS_DENIED_NO_PASSWORD):
        secret = (f"check the password in the environment variable {account.password_env} (named by [source] "
                  "password_env)" if account.password_env else
                  "no password was given: name the environment variable that holds it in [source] password_env")
        return (f"the server {where} refused user {account.user} ({secret}, and that the account's host lets "
                f"this computer in); {README}")
    if code == _DB_ACCESS_DENIED:
        return (f"user {account.user} may not read database {account.database} on {account.host}: give it "
                f"{account.grant()} ({README})")
    if code == _UNKNOWN_DATABASE:
        return (f"database {account.database} does not exist on {account.host}: check the name at the end of "
                f"[source] url (Open Dental's is usually opendental); {README}")
    if code == _HOST_NOT_ALLOWED:
        return (f"the server {account.host} does not let user {account.user} connect from this computer: create "
                f"the account for this computer's address or network; {README}")
    if code == _UNKNOWN_HOST or (isinstance(cause, socket.gaierror) and cause.errno != socket.EAI_AGAIN):
        return f"the host name {account.host} is not known: check the host in [source] url ({account.shown})"
    if code == _TLS_FAILED or isinstance(cause, ssl.SSLError):
        what = ("its certificate is not trusted" if isinstance(cause, ssl.SSLCertVerificationError) else
                "it does not offer TLS" if code == _TLS_FAILED else "the TLS handshake failed")
        return (f"the server {account.host} refused a TLS connection ({what}): check [source] ssl_ca (the "
                f"authority that signed the server's certificate) and the server's TLS setup; {README}")
    return None


def _unreachable(account: _Account, code: int | None, cause: BaseException | None, timeout: float) -> str:
    if isinstance(cause, ConnectionRefusedError):
        why = "the connection was refused (is MySQL/MariaDB running, on this port?)"
    elif isinstance(cause, TimeoutError):
        why = f"no answer within {timeout:g} s"
    else:
        why = f"MySQL error {code}" if code else (type(cause).__name__ if cause else "connection lost")
    return (f"the database server {account.host} ({account.shown}) could not be read: {why}. Nothing was "
            "removed; the next run picks up where the last good one ended")


def failure(exc: BaseException, account: _Account, timeout: float, table: str | None = None,
            added_in: str | None = None) -> PmsBridgeError:
    """The failure a driver error means: the configuration's (exit 2), the server's (exit 3), one table's."""
    code = _error_code(exc)
    cause = _os_cause(exc)
    fix = _refused(account, code, cause)
    if fix is not None:
        return DatabaseRefused(fix)
    if table is not None and code in (_TABLE_ACCESS_DENIED, _COLUMN_ACCESS_DENIED):
        return DatabaseRefused(f"user {account.user} may not read table {table}: give it {account.grant()} "
                               f"({README})")
    if table is not None and code == _NO_SUCH_TABLE:
        added = f"Open Dental {added_in} added it: the office runs an older version" if added_in else "an older version?"
        return TableMissing(f"the {table} table is not in database {account.database} ({added}): its rows are "
                            "not read")
    if table is not None and code == _UNKNOWN_COLUMN:
        named = re.search(r"Unknown column '([A-Za-z0-9_]+)'", str(getattr(exc, "orig", exc)))
        column = f" {named.group(1)}" if named else ""
        return DatabaseStatementFailed(f"{account.database}.{table}: the column{column} the mapping reads is not in "
                                       "the table (MySQL error 1054); the table was not read")
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if table is not None and isinstance(orig, pymysql.err.ProgrammingError | pymysql.err.DataError
                                        | pymysql.err.IntegrityError | pymysql.err.NotSupportedError):
        return DatabaseStatementFailed(f"{account.database}.{table}: the server refused the statement (MySQL error "
                                       f"{code}); the table was not read")
    return DatabaseUnreachable(_unreachable(account, code, cause, timeout))


_DRIVER_ERRORS = (DBAPIError, pymysql.err.Error, OSError)


# --------------------------------------------------------------------------------------- grants
_GRANT = re.compile(
    r"^GRANT\s+(?P<privileges>.+?)\s+ON\s+(?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE\s+BODY|PACKAGE)\s+)?"
    r"(?P<db>`(?:[^`]|``)+`|\*|[^\s.`]+)\.(?P<object>`(?:[^`]|``)+`|\*|[^\s`]+)\s+TO\s", re.IGNORECASE | re.DOTALL)


def _names_database(pattern: str, database: str) -> bool:
    """Whether a grant's database part (`*`, a name, or a LIKE pattern with _ and %) covers ``database``."""
    if pattern == "*":
        return True
    name = pattern[1:-1].replace("``", "`") if pattern.startswith("`") else pattern
    regex = "".join(
        re.escape(token[1]) if token.startswith("\\") else ".*" if token == "%" else "." if token == "_"
        else re.escape(token)
        for token in re.findall(r"\\.|%|_|[^\\%_]+", name)
    )
    return re.fullmatch(regex, database, re.IGNORECASE) is not None


def _privileges(text: str) -> list[str]:
    """'SELECT, UPDATE (a, b), ALL PRIVILEGES' -> ['SELECT', 'UPDATE', 'ALL PRIVILEGES']."""
    bare = re.sub(r"\([^)]*\)", "", text)
    return [" ".join(p.split()).upper() for p in bare.split(",") if p.strip()]


def write_privileges(grants: Iterable[str], database: str) -> list[str]:
    """The privileges beyond reading that ``grants`` (SHOW GRANTS lines) give on ``database`` or on every
    database. Grants on other databases, of roles and of proxying are not about its data."""
    found: list[str] = []
    for line in grants:
        match = _GRANT.match(line.strip())
        if match is None or not _names_database(match["db"], database):
            continue
        held = _privileges(match["privileges"])
        if re.search(r"\bWITH\b.*\bGRANT\s+OPTION\b", line[match.end():], re.IGNORECASE):
            held.append("GRANT OPTION")
        found.extend(p for p in held if p not in READ_PRIVILEGES and p not in found)
    return found


def grants_warning(grants: Iterable[str], account: _Account, current_user: str) -> str | None:
    """The run's warning when the account could write (None: it only reads)."""
    user, _, host = current_user.rpartition("@")
    writes = write_privileges(grants, account.database)
    if not writes:
        return None
    return (f"the database account '{user or account.user}'@'{host or '%'}' can do more than read "
            f"{account.database}: it holds {', '.join(writes)}. pms-bridge only reads, but an account that can "
            f"write puts Open Dental's data at risk if its password leaks: give pms-bridge an account holding only "
            f"{account.grant(user, host)} ({README})")


# ------------------------------------------------------------------------------------ the table
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


class DatabaseTable:
    """One table's rows from the run's snapshot, streamed in chunks of ``batch_rows``.

    ``next_page`` (a table the snapshot does not cover: MyISAM): the rows come a page per statement, each
    read whole as it arrives, and ``next_page(key)`` runs the statement of the page after ``key``. A MyISAM
    table is locked against the office's writes until the statement reading it has sent its last row, so it
    is never streamed while rows are stored.

    (No ``cut`` attribute: sync reads one as "the file ends in the middle of a row".)"""

    missing_column_hint = ("The database's table lacks it (an Open Dental older than the mapping expects?): map "
                           "the field to another column, or make it optional, in [mapping].")

    def __init__(self, source: str, result: CursorResult[Any], columns: list[str], batch_rows: int,
                 cursor: str, on_error: Any, keyed: bool = False, after_key: int | None = None,
                 next_page: Callable[[int], CursorResult[Any]] | None = None) -> None:
        self.source = source
        self.complete = False  # deletions are reconciled by id, not read from a whole list
        self._result: CursorResult[Any] | None = result
        self._columns = columns
        self._batch_rows = batch_rows
        self._cursor = cursor  # the cursor stored once the rows are stored
        self._keyed = keyed  # no change stamp: the highest key read is the cursor
        self._highest_key = after_key
        self._on_error = on_error
        self._first: list[Any] | None = None
        self._interrupted = False  # another statement ended the stream before its last row
        self._next_page = next_page
        self._page_after: int | None = None  # the last key of a full page: the next page's rows come after it

    def _fetch(self) -> list[Any]:
        if self._interrupted:
            raise DatabaseStatementFailed(f"{self.source}: the read was cut short by another statement; nothing "
                                          "was removed on it and the next run reads the table again")
        if self._result is None and self._next_page is not None and self._page_after is not None:
            after, self._page_after = self._page_after, None
            self._result = self._next_page(after)
        if self._result is None:
            return []
        try:
            rows = self._result.fetchmany(self._batch_rows)
        except _DRIVER_ERRORS as exc:
            self._result = None
            raise self._on_error(exc) from None
        if self._next_page is not None:  # the page is read whole: its statement ends before its rows are stored
            self.close()
            if len(rows) == self._batch_rows:
                self._page_after = as_int(rows[-1][0])
                if self._page_after is None:
                    raise DatabaseStatementFailed(f"{self.source}: a primary key that is not a number; the rest "
                                                  "of the table was not read")
        elif not rows:
            self.close()
        return list(rows)

    def header(self) -> list[str]:
        """The columns read; [] when the table has no (changed) rows."""
        if self._first is None:
            self._first = self._fetch()
        return list(self._columns) if self._first else []

    def chunks(self) -> Iterator[Chunk]:
        self.header()
        batch, self._first = self._first or [], []
        line = 0
        while batch:
            chunk = [(line + n, [v if type(v) is str else _text(v) for v in row]) for n, row in enumerate(batch, 1)]
            line += len(chunk)
            if self._keyed:
                highest = max((k for _, cells in chunk if (k := as_int(cells[0])) is not None), default=None)
                if highest is not None and (self._highest_key is None or highest > self._highest_key):
                    self._highest_key = highest
            yield chunk
            batch = self._fetch()

    def fingerprint(self) -> str:
        """The cursor to store once this table's rows are stored."""
        if self._keyed:
            return key_cursor(self._highest_key)
        return self._cursor

    def interrupt(self) -> None:
        """End the stream for another statement: rows it still held are never taken for the whole table."""
        self._interrupted = self._result is not None
        self.close()

    def close(self) -> None:
        """Stop streaming (the rest of the answer is read off the connection, so the next statement can run)."""
        result, self._result = self._result, None
        if result is not None:
            try:
                result.close()
            except _DRIVER_ERRORS:
                pass


# -------------------------------------------------------------------------------- the connector
class DatabaseConnector:
    """Reads the tables of a PMS's database at one point in time, over one connection."""

    selects_columns = True  # open() takes the columns the mapping reads: statements name exactly those

    def __init__(self, spec: ConnectorSpec, engine: Engine, connection: Connection, account: _Account,
                 clock: str, warnings: list[str], schema: _Schema | None = None) -> None:
        assert spec.database is not None
        self.spec = spec
        self.database: DatabaseSpec = spec.database
        self.folder = account.shown  # for messages
        self.clock = clock  # the server's time as the snapshot began: every incremental table's new cursor
        self.warnings = warnings  # said once, in the run's summary
        self._engine = engine
        self._connection: Connection | None = connection
        self._account = account
        self._stream: DatabaseTable | None = None
        self._schema = schema or _Schema({}, {})

    # ------------------------------------------------------------------ statements
    def _error(self, table: str | None = None, added_in: str | None = None) -> Any:
        def classify(exc: BaseException) -> PmsBridgeError:
            return failure(exc, self._account, self.database.read_timeout, table, added_in)
        return classify

    def _execute(self, sql: str, table: str | None = None, added_in: str | None = None) -> CursorResult[Any]:
        """Run one statement, streamed; a stream still open is ended first (one statement at a time)."""
        if self._stream is not None:
            self._stream.interrupt()
            self._stream = None
        if self._connection is None:
            raise DatabaseUnreachable(f"the connection to {self._account.shown} is closed")
        try:
            return self._connection.exec_driver_sql(sql, execution_options={"stream_results": True})
        except _DRIVER_ERRORS as exc:
            raise self._error(table, added_in)(exc) from None

    def _pages(self, sql: str, table: str) -> Iterator[list[dict[str, Any]]]:
        """A statement's rows as pages of {column: value}, for the id reconciliation."""
        result = self._execute(sql, table)
        keys = list(result.keys())
        stream = DatabaseTable(table, result, keys, self.database.list_ids_at, "", self._error(table))
        self._stream = stream
        for chunk in stream.chunks():
            yield [dict(zip(keys, cells, strict=True)) for _, cells in chunk]

    def _table(self, names: list[str]) -> tuple[str, QueryTable] | None:
        name = next((n for n in names if n in self.database.tables), None)
        return None if name is None else (name, self.database.tables[name])

    # ----------------------------------------------------------------------- reads
    def open(
        self,
        names: list[str],
        cursor: str | None = None,
        patients: Iterable[str] | None = None,
        columns: Iterable[str] | None = None,
    ) -> DatabaseTable | None:
        """The first of ``names`` the database holds, as of the run's snapshot (None: none is a table here).

        ``columns`` are the ones the mapping reads: the statement selects those the table has, after the primary
        key, so the header is a table export's: a column the mapping needs and the table lacks fails as it does
        in an export without it; an optional one is absent, as there. A table without its change stamp (an
        older version) is read whole.
        """
        found = self._table(names)
        if found is None:
            return None
        name, table = found
        db_table = table.table or name
        wanted = select_list("database", db_table, table, columns, self.database.never_columns)
        selected = [wanted[0], *self._schema.present(db_table, wanted[1:])]  # the key: named by 1054 if missing
        reading = table
        if table.incremental and not self._schema.present(db_table, [table.incremental]):
            reading = table.model_copy(update={"incremental": None})
            log.info("database.no_change_stamp", table=db_table)
        after_stamp = (since(cursor, self.database.time_format, self.database.cursor_overlap_seconds)
                       if reading.incremental else None)
        after_key = read_cursor_key(cursor) if table.incremental_key else None
        new_cursor = time_cursor(self.clock if table.incremental else None)
        source = f"{self._account.database}.{db_table}"
        paged = db_table.lower() in self._schema.not_snapshotted()
        log.info("database.read", table=db_table, since_last_run=after_stamp is not None or after_key is not None,
                 left_out=len(wanted) - len(selected), paged=paged)
        if not paged:
            result = self._execute(rows_sql(db_table, reading, selected, after_stamp, after_key), db_table,
                                   table.since)
            stream = DatabaseTable(source, result, selected, self.spec.batch_rows, new_cursor, self._error(db_table),
                                   table.incremental_key, after_key)
            self._stream = stream
            return stream

        def page(after: int | None) -> CursorResult[Any]:
            sql = rows_sql(db_table, reading, selected, after_stamp, after_key, page=(after, self.spec.batch_rows))
            return self._execute(sql, db_table, table.since)

        paged_table = DatabaseTable(source, page(None), selected, self.spec.batch_rows, new_cursor,
                                    self._error(db_table), table.incremental_key, after_key, next_page=page)
        paged_table.header()  # the first page now: its statement ends before anything else is sent
        return paged_table

    def reconciles(self, names: list[str]) -> bool:
        """Whether reconcile() can say which stored rows of the resource the PMS deleted."""
        found = self._table(names)
        return found is not None and found[1].deletes is not None

    def reconcile(self, names: list[str], stored: Collection[int]) -> set[int] | None:
        """Which of the ``stored`` ids the table no longer holds (deleted, or soft-deleted: not 'live'), as of
        the run's snapshot. None: the table declares no deletions."""
        if not self.reconciles(names):
            return None
        name, table = self._table(names)  # type: ignore[misc]
        db_table = table.table or name
        gone = reconcile_ids("database", db_table, table, stored, self.database.bucket_size,
                             self.database.list_ids_at, lambda sql: self._pages(sql, db_table),
                             up_to_stored=db_table.lower() in self._schema.not_snapshotted())
        log.info("database.reconciled", table=db_table, stored=len(stored), gone=len(gone))
        return gone

    def close(self) -> None:
        """End the read-only transaction and the connection (nothing was written: there is nothing to keep)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(*_DRIVER_ERRORS):
                connection.exec_driver_sql("ROLLBACK")
            with suppress(*_DRIVER_ERRORS):
                connection.close()
        self._engine.dispose()


# -------------------------------------------------------------------------------------- connect
def _tls(source: Any, ca: Path | None) -> tuple[dict[str, Any], list[str]]:
    """The driver's TLS setting and the warnings it calls for. Asked for, TLS is required (never dropped)."""
    warnings: list[str] = []
    if not getattr(source, "ssl_verify", True):
        warnings.append("ssl_verify = false: the database server's certificate is not checked, so the connection "
                        "could be intercepted; give [source] ssl_ca (the authority that signed it) instead")
    if not getattr(source, "tls", False):
        return {}, warnings
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    if not getattr(source, "ssl_verify", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return {"ssl": context}, warnings


def _check_grants(connection: Connection, account: _Account) -> str | None:
    try:
        current = str(connection.exec_driver_sql("SELECT CURRENT_USER()").scalar() or "")
        grants = [str(row[0]) for row in connection.exec_driver_sql("SHOW GRANTS FOR CURRENT_USER()")]
    except _DRIVER_ERRORS as exc:
        return (f"could not read the database account's grants (MySQL error {_error_code(exc)}): make sure it holds "
                f"only {account.grant()}")
    return grants_warning(grants, account, current)


class _Schema:
    """What the database holds of the tables the connector reads, read once as the run connects: each
    table's storage engine and columns (lower-case names; MySQL's names are case-insensitive)."""

    def __init__(self, engines: dict[str, str | None], columns: dict[str, set[str]]) -> None:
        self.engines = engines
        self.columns = columns

    def not_snapshotted(self) -> dict[str, str]:
        """table -> engine, for the tables a consistent snapshot does not cover (not InnoDB: MyISAM, Aria...).
        A view (no engine) reads its tables, which are listed themselves where the connector reads them."""
        return {t: e for t, e in sorted(self.engines.items()) if e is not None and e.lower() != "innodb"}

    def present(self, db_table: str, wanted: list[str]) -> list[str]:
        """The ``wanted`` columns the table has, in order (all of them when its columns are not known)."""
        held = self.columns.get(db_table.lower())
        return list(wanted) if held is None else [c for c in wanted if c.lower() in held]


def _read_schema(connection: Connection, spec: DatabaseSpec, account: _Account) -> _Schema:
    """Engines and columns of the connector's tables. A database that holds none of them is the wrong one,
    not an old version."""
    names = sorted({(t.table or n).lower() for n, t in spec.tables.items() if IDENTIFIER.match(t.table or n)})
    listed = ", ".join(f"'{n}'" for n in names)
    engines = {str(name).lower(): None if engine is None else str(engine) for name, engine in connection.exec_driver_sql(
        "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        f"AND LOWER(TABLE_NAME) IN ({listed})")}
    if not engines:
        raise DatabaseRefused(f"database {account.database} on {account.host} holds none of the tables this "
                              f"connector reads (such as {', '.join(names[:3])}): check the database name at the "
                              f"end of [source] url; {README}")
    columns: dict[str, set[str]] = {}
    for table, column in connection.exec_driver_sql(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            f"AND LOWER(TABLE_NAME) IN ({listed})"):
        columns.setdefault(str(table).lower(), set()).add(str(column).lower())
    return _Schema(engines, columns)


def engines_warning(not_snapshotted: Mapping[str, str], batch_rows: int) -> str | None:
    """The run's warning when some tables are not InnoDB (None: every table is in the snapshot)."""
    if not not_snapshotted:
        return None
    names = list(not_snapshotted)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    engines = "/".join(sorted(set(not_snapshotted.values())))
    many = len(names) > 1
    them, they = ("them", "they are") if many else ("it", "it is")
    return (f"{len(names)} table{'s' if many else ''} of the Open Dental database {'are' if many else 'is'} not "
            f"InnoDB ({engines}: {shown}), so the run's consistent snapshot does not cover {them}: {they} read as "
            "each stands when its statement runs, not at the run's one point in time. A row changed during the run "
            "may look out of step with another table until the next night; nothing is lost (the next run reads "
            "again from the clock taken before this run's first read). Such tables are read "
            f"{batch_rows:,} rows per statement, each page at once, so the office's writes wait at most for one "
            "page, never while pms-bridge stores rows (no LOCK TABLES). Fix: convert the tables to InnoDB, after hours and after a backup, with Open "
            f"Dental's Tools > Database Maintenance > Tools tab > InnoDb ({README})")


def _begin_snapshot(connection: Connection, spec: DatabaseSpec) -> str:
    """Start the run's read-only, consistent-snapshot transaction; the server's clock just before it."""
    connection.exec_driver_sql(f"SET SESSION net_write_timeout = {int(spec.write_timeout)}")
    connection.exec_driver_sql("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    # Read before the snapshot begins, never after: a row changed in between is then in this snapshot or newer
    # than the cursor, never skipped.
    now = connection.exec_driver_sql("SELECT NOW()").scalar()
    connection.exec_driver_sql("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")
    return datetime.fromisoformat(str(now)).strftime(spec.time_format)


def _allow_long_reads(connection: Connection, seconds: float) -> None:
    """From now on wait ``seconds`` for an answer: a statement over a large table may scan a while before
    its first row. (PyMySQL sets no public way after connecting; it applies its _read_timeout on each read.)"""
    driver = connection.connection.dbapi_connection
    if hasattr(driver, "_read_timeout"):
        driver._read_timeout = seconds


def connect(spec: ConnectorSpec, source: Any, ca: Path | None = None,
            env: Mapping[str, str] | None = None) -> DatabaseConnector:
    """Connect as ``source`` says ([source] url, password_env, ssl, ssl_ca, ssl_verify), check the account's
    grants and the database's tables, and begin the run's read-only snapshot."""
    if spec.database is None:
        raise ValueError(f"connector {spec.name} has no [database] section")
    database = spec.database
    account = _Account(source.url, getattr(source, "password_env", None))
    password = (read_secret(account.password_env, env=env, setting="[source] password_env")
                if account.password_env else "")
    tls, warnings = _tls(source, ca)
    engine = create_engine(
        account.url.set(drivername=DRIVER), poolclass=NullPool,
        connect_args={"password": password, "charset": "utf8mb4", "conv": _SERVER_TEXT,
                      # PyMySQL waits for the server's greeting by the read timeout: the connect timeout until
                      # the run's snapshot has begun (_allow_long_reads)
                      "connect_timeout": database.connect_timeout, "read_timeout": database.connect_timeout, **tls},
    )
    try:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT", no_parameters=True)
    except _DRIVER_ERRORS as exc:
        engine.dispose()
        raise failure(exc, account, database.connect_timeout) from None
    try:
        schema = _read_schema(connection, database, account)
        warning = _check_grants(connection, account)
        clock = _begin_snapshot(connection, database)
        _allow_long_reads(connection, database.read_timeout)
    except BaseException as exc:
        with suppress(*_DRIVER_ERRORS):
            connection.invalidate()
        engine.dispose()
        if isinstance(exc, _DRIVER_ERRORS):
            raise failure(exc, account, database.read_timeout) from None
        raise
    warnings.extend(w for w in (warning, engines_warning(schema.not_snapshotted(), spec.batch_rows)) if w)
    log.info("database.snapshot", server=account.host, database=account.database, warnings=len(warnings),
             not_innodb=len(schema.not_snapshotted()))
    return DatabaseConnector(spec, engine, connection, account, clock, warnings, schema)


__all__ = [
    "DatabaseConnector", "DatabaseRefused", "DatabaseStatementFailed", "DatabaseTable", "DatabaseUnreachable",
    "TableMissing", "connect", "grants_warning", "write_privileges",
]
