"""Generic REST engine: runs a declarative connector spec (connectors/*.toml).

Per resource: a path, Limit/Offset paging (a short page ends it; a repeated
page is an error), an incremental filter fed from the stored cursor, and
endpoints that need a patient id fetched per patient. A second read route
sends read-only SQL to a query endpoint and pages its database-shaped rows:
explicit columns (the ones the mapping reads), ordered by the primary key.
Rows come out as the same (header, cells) chunks the file connector yields,
so the mapping stage does not care where they came from.

A change filter never shows a row the PMS deleted, so each route also says
what was deleted: per-patient and full lists are whole lists (the sync stage
removes stored rows they lack), a deletion list names deleted ids, single
GETs re-check rows a listing hides once deleted, and on the query route the
ids of tables that delete rows are reconciled bucket by bucket.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pms_bridge.connectors.api_client import ApiClient, ApiItemNotFound, ApiRequestError, ApiVersionTooOld
from pms_bridge.connectors.files import Chunk, SourceFileError
from pms_bridge.connectors.secrets import MissingSecret, read_secret
from pms_bridge.connectors.spec import ConnectorSpec, QuerySpec, QueryTable, RestResource, RestSpec

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def cell(value: Any) -> str:
    """A JSON value as the text the mapping reads."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _cursor_data(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_cursor(value: str | None) -> str | None:
    """The server time stored by an earlier run (None: first run, or another connector's cursor)."""
    return _cursor_data(value).get("server_time")


def read_cursor_key(value: str | None) -> int | None:
    """The highest key an earlier run read from a table without a change stamp."""
    key = _cursor_data(value).get("after_key")
    return key if isinstance(key, int) and not isinstance(key, bool) else None


def _as_int(value: Any) -> int | None:
    """An id or a SUM as the query endpoint returns it (number, numeric text, 12.0)."""
    try:
        number = Decimal(cell(value))
    except (InvalidOperation, ValueError):
        return None
    return int(number) if number == number.to_integral_value() else None


def auth_headers(
    spec: RestSpec, developer_key_env: str, customer_key_env: str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The auth header built from the keys the named variables hold (environment, then OS keyring)."""
    keys = {
        name: read_secret(var, env=env, setting=f"[source] {name}_env")
        for name, var in (("developer_key", developer_key_env), ("customer_key", customer_key_env))
    }
    return {spec.auth_header: spec.auth_format.format(**keys), "Content-Type": "application/json"}


def make_client(spec: ConnectorSpec, source: Any, env: Mapping[str, str] | None = None, **http: Any) -> ApiClient:
    """The paced, retrying client for a `[source]` section (mode defaults, then the config's own values).

    TLS certificates are verified unless `[source] insecure_local_tls = true`, which the client
    accepts only for a loopback base URL.
    """
    assert spec.rest is not None
    mode = spec.rest.modes[source.mode or "cloud"]
    interval = source.min_request_interval if source.min_request_interval is not None else mode.min_request_interval
    headers = auth_headers(spec.rest, source.developer_key_env, source.customer_key_env, env)
    http.setdefault("verify", not getattr(source, "insecure_local_tls", False))
    return ApiClient(source.base_url or mode.base_url, headers, min_interval=interval, timeout=source.timeout, **http)


@dataclass
class RestTable:
    """One resource's rows, fetched lazily page by page."""

    source: str
    pages: Iterator[list[dict[str, Any]]]
    batch_rows: int
    old_cursor: str | None
    new_cursor: str | None = None
    server_time_field: str | None = None
    change_field: str | None = None  # where rows carry no server time: the newest change stamp seen
    key_field: str | None = None  # a table without a change stamp: the highest key read is the cursor
    # What the rows are the whole of, so that stored rows they lack were deleted in the PMS:
    complete: bool = False  # the source's whole table or list
    patients: list[str] | None = None  # the whole lists of these patients (per-patient endpoints)
    _newest_change: str | None = field(default=None, repr=False)
    _highest_key: int | None = field(default=None, repr=False)
    _first: list[dict[str, Any]] | None = field(default=None, repr=False)
    _header: list[str] | None = field(default=None, repr=False)

    def _peek(self) -> list[dict[str, Any]]:
        if self._first is None:
            self._first = []
            for page in self.pages:  # the first non-empty page fixes the header
                if page:
                    self._first = page
                    break
        return self._first

    def header(self) -> list[str]:
        if self._header is None:
            first = self._peek()
            self._header = list(first[0]) if first else []
        return self._header

    def chunks(self) -> Iterator[Chunk]:
        header = self.header()
        line = 0
        batch: Chunk = []
        for page in self._all_pages():
            for row in page:
                line += 1
                if not isinstance(row, dict):
                    batch.append((line, ["<not an object>"]))  # quarantined: wrong width
                    continue
                self._note_time(row)
                batch.append((line, [cell(row.get(col)) for col in header]))
                if len(batch) >= self.batch_rows:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _all_pages(self) -> Iterator[list[dict[str, Any]]]:
        first = self._peek()
        if first:
            yield first
            yield from self.pages

    def _note_time(self, row: dict[str, Any]) -> None:
        if self.new_cursor is None and self.server_time_field and row.get(self.server_time_field):
            self.new_cursor = str(row[self.server_time_field])
        stamp = row.get(self.change_field) if self.change_field else None
        if isinstance(stamp, str) and stamp and (self._newest_change is None or stamp > self._newest_change):
            self._newest_change = stamp
        if self.key_field:
            key = _as_int(row.get(self.key_field))
            if key is not None and (self._highest_key is None or key > self._highest_key):
                self._highest_key = key

    def fingerprint(self) -> str:
        """The cursor to store once this resource's rows are stored."""
        if self.key_field:
            keys = [k for k in (self._highest_key, read_cursor_key(self.old_cursor)) if k is not None]
            return json.dumps({"server_time": None, "after_key": max(keys) if keys else None})
        since = self.new_cursor or self._newest_change or read_cursor(self.old_cursor)
        return json.dumps({"server_time": since}) if since else json.dumps({"server_time": None})


def _table_added_in(pages: Iterator[list[dict[str, Any]]], table: str, version: str) -> Iterator[list[dict[str, Any]]]:
    """The pages of a table a PMS version added: a refused first query means an older office, not a fault."""
    try:
        first = next(pages)
    except StopIteration:
        return
    except ApiVersionTooOld:
        raise
    except ApiRequestError:
        raise ApiVersionTooOld(
            f"the {table} table needs Open Dental {version} or newer (the query for it was refused, as on an older "
            "version): its rows are not read", None) from None
    yield first
    yield from pages


class RestConnector:
    """Reads a PMS through its REST API (resources route) or its query endpoint (query route)."""

    selects_columns = True  # open() takes the columns the mapping reads (the query route names them)

    def __init__(self, spec: ConnectorSpec, client: ApiClient, *, page_size: int, route: str = "resources") -> None:
        if spec.rest is None:
            raise ValueError(f"connector {spec.name} has no [rest] section")
        if route == "query" and spec.query is None:
            raise ValueError(f"connector {spec.name} has no query route")
        self.spec = spec
        self.rest: RestSpec = spec.rest
        self.client = client
        self.page_size = page_size
        self.route = route
        self.folder = client.base_url  # for messages

    # ------------------------------------------------------------------ paging

    def _since(self, cursor: str | None) -> str | None:
        stamp = read_cursor(cursor)
        if stamp is None:
            return None
        moment = datetime.strptime(stamp, self.rest.time_format) - timedelta(seconds=self.rest.cursor_overlap_seconds)
        return moment.strftime(self.rest.time_format)

    @staticmethod
    def _offset_pages(
        fetch: Callable[[int], list[dict[str, Any]]], page_size: int, what: str
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages from offset 0 until a short page; a page equal to the one before is an error."""
        offset, previous = 0, None
        while True:
            page = fetch(offset)
            if page and page == previous:
                raise SourceFileError(f"{what}: the page at offset {offset} repeats the previous one")
            yield page
            if len(page) < page_size:
                return
            offset, previous = offset + len(page), page

    def _get_pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        def fetch(offset: int) -> list[dict[str, Any]]:
            query = {**params, self.rest.limit_param: self.page_size, self.rest.offset_param: offset}
            return self._json_list(self.client.request("GET", path, params=query), f"GET {path}", offset)

        return self._offset_pages(fetch, self.page_size, f"GET {path}")

    @staticmethod
    def _json_list(response: Any, what: str, offset: int) -> list[dict[str, Any]]:
        try:
            data = response.json()
        except ValueError:
            raise SourceFileError(f"{what}: the page at offset {offset} is not JSON") from None
        if not isinstance(data, list):
            raise SourceFileError(f"{what}: the page at offset {offset} is not a list of rows")
        return data

    # --------------------------------------------------------------- resources

    def open(
        self,
        names: list[str],
        cursor: str | None = None,
        patients: Iterable[str] | None = None,
        columns: Iterable[str] | None = None,
    ) -> RestTable | None:
        """The first of ``names`` this connector serves, as a table of rows (None: it serves none).

        ``columns`` are the ones the mapping reads: the query route selects exactly those.
        """
        if self.route == "query":
            return self._open_query(names, cursor, columns)
        name = next((n for n in names if n in self.rest.resources), None)
        if name is None:
            return None
        resource = self.rest.resources[name]
        if resource.per_patient:
            ids = sorted(set(patients or ()), key=lambda p: (len(p), p))
            pages = self._per_patient(resource, ids)
            return RestTable(f"GET {resource.path} ({len(ids)} patients)", pages, self.spec.batch_rows, cursor,
                             patients=ids)
        params: dict[str, Any] = dict(resource.params)
        incremental = None if resource.full_list else resource.incremental
        since = self._since(cursor) if incremental else None
        if since:
            params[incremental] = since
        return RestTable(
            f"GET {resource.path}", self._get_pages(resource.path, params), self.spec.batch_rows, cursor,
            server_time_field=self.rest.server_time_field if incremental else None,
            change_field=incremental,
            complete=resource.full_list,
        )

    def _per_patient(self, resource: RestResource, patient_ids: list[str]) -> Iterator[list[dict[str, Any]]]:
        for pid in patient_ids:
            yield from self._get_pages(resource.path, {**resource.params, resource.per_patient: pid})

    def window_ids(self, start: date, end: date) -> set[str] | None:
        """Ids of every appointment the API lists from ``start`` to ``end`` (inclusive dates)."""
        window = self.rest.window
        if window is None or self.route == "query":
            return None
        resource = self.rest.resources[window.resource]
        params = {window.start_param: start.isoformat(), window.end_param: end.isoformat()}
        return {cell(row.get(window.key)) for page in self._get_pages(resource.path, params) for row in page}

    def deleted_ids(self, names: list[str], start: date, end: date) -> set[str] | None:
        """Ids of the resource's rows the PMS lists as deleted from ``start`` to ``end`` (inclusive dates).

        None: this route has no deletion list for the resource.
        """
        if self.route == "query":
            return None
        name = next((n for n in names if n in self.rest.deletions), None)
        if name is None:
            return None
        listing = self.rest.deletions[name]
        params = {**listing.params, listing.start_param: start.isoformat(), listing.end_param: end.isoformat()}
        ids = {cell(row.get(listing.key)) for page in self._get_pages(listing.path, params) for row in page}
        return {i for i in ids if i}

    def recheck_limit(self, names: list[str]) -> int:
        """How many rows of the resource may be re-checked one by one this run (0: none)."""
        if self.route == "query":
            return 0
        name = next((n for n in names if n in self.rest.recheck), None)
        return self.rest.recheck[name].limit if name else 0

    def recheck(self, names: list[str], ids: Iterable[str]) -> RestTable | None:
        """The rows of ``ids``, each asked for with a single GET (rows a listing hides, e.g. deleted patients).

        An id the PMS does not know (404) is left out: only a row it returns is evidence.
        """
        if self.route == "query":
            return None
        name = next((n for n in names if n in self.rest.recheck), None)
        if name is None:
            return None
        spec = self.rest.recheck[name]
        wanted = list(ids)[: spec.limit]

        def pages() -> Iterator[list[dict[str, Any]]]:
            for item in wanted:
                if not item.isdigit():  # ids only: the path is built from it
                    continue
                path = spec.path.format(id=item)
                try:
                    data = self.client.request("GET", path).json()
                except ApiItemNotFound:
                    continue
                except ValueError:
                    raise SourceFileError(f"GET {spec.path}: the answer is not JSON") from None
                if isinstance(data, dict):
                    yield [data]

        return RestTable(f"GET {spec.path} ({len(wanted)} rechecked)", pages(), self.spec.batch_rows, None)

    # ------------------------------------------------------------------- query

    def _query_table(self, names: list[str]) -> tuple[str, QueryTable] | None:
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        name = next((n for n in names if n in query.tables), None)
        return None if name is None else (name, query.tables[name])

    def _select_list(self, db_table: str, table: QueryTable, columns: Iterable[str] | None) -> list[str]:
        """The primary key, then the mapping's columns: never '*', never a column the route must not read."""
        if columns is None:
            raise ValueError(f"query {db_table}: the query route needs the columns to read (never SELECT *)")
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        never = {c.casefold() for c in query.never_columns}
        selected: list[str] = []
        for column in [table.pk, *columns]:
            if not _IDENTIFIER.match(column):
                raise SourceFileError(f"query {db_table}: {column!r} is not a column name")
            if column.casefold() in never:
                raise SourceFileError(
                    f"query {db_table}: the mapping asks for column {column}, which the query route never reads "
                    "(image bodies and data the model does not keep, such as SSNs); remove it from the mapping"
                )
            if column not in selected:
                selected.append(column)
        return selected

    def _open_query(self, names: list[str], cursor: str | None, columns: Iterable[str] | None) -> RestTable | None:
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        found = self._query_table(names)
        if found is None:
            return None
        name, table = found
        db_table = table.table or name
        conditions: list[str] = []
        since = self._since(cursor) if table.incremental else None
        if since:
            conditions.append(f"{table.incremental} > '{since}'")
        after = read_cursor_key(cursor) if table.incremental_key else None
        if after is not None:
            conditions.append(f"{table.pk} > {after}")
        if table.live:
            conditions.append(table.live)  # soft-deleted rows are never read
        sql = f"SELECT {', '.join(self._select_list(db_table, table, columns))} FROM {db_table}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        sql += f" ORDER BY {table.pk}"
        server_now = None
        if table.incremental:  # the server's clock before the read: the next run's starting point
            now = self._query_rows(query, query.now_sql, 0)
            server_now = self._server_time(next(iter(now[0].values()))) if now and now[0] else None
        pages = self._query_pages(query, sql)
        if table.since is not None:
            pages = _table_added_in(pages, db_table, table.since)
        result = RestTable(
            f"query {db_table}", pages, self.spec.batch_rows, cursor,
            key_field=table.pk if table.incremental_key else None,
        )
        result.new_cursor = server_now
        return result

    # ------------------------------------------------------------ reconcile

    def reconciles(self, names: list[str]) -> bool:
        """Whether reconcile() can say which stored rows of the resource the PMS deleted."""
        found = self._query_table(names) if self.route == "query" else None
        return found is not None and found[1].deletes is not None

    def reconcile(self, names: list[str], stored: set[int]) -> set[int] | None:
        """Which of the ``stored`` ids the table no longer holds (deleted, or soft-deleted: not 'live').

        Counts and id sums per bucket of ids first; a bucket that differs from the stored ids is split
        tenfold until its ids fit a page, and only then are ids listed. An unchanged table costs one
        query (a page per 100 buckets). None: the table declares no deletions.
        """
        if not self.reconciles(names):
            return None
        name, table = self._query_table(names)  # type: ignore[misc]
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        gone: set[int] = set()
        self._reconcile_range(table.table or name, table, query.bucket_size, None, sorted(stored), gone)
        return gone

    def _reconcile_range(
        self, db_table: str, table: QueryTable, size: int, span: tuple[int, int] | None, stored: list[int],
        gone: set[int],
    ) -> None:
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        pk = table.pk
        conditions = [f"{pk} >= {span[0]}", f"{pk} < {span[1]}"] if span else []
        if table.live:
            conditions.append(table.live)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if span is not None and span[1] - span[0] <= query.page_size:  # fits a page: list the ids
            sql = f"SELECT {pk} FROM {db_table}{where} ORDER BY {pk}"
            listed = {_as_int(row.get(pk)) for page in self._query_pages(query, sql) for row in page}
            gone.update(i for i in stored if i not in listed)
            return
        sql = (f"SELECT FLOOR({pk}/{size}) AS b, COUNT(*) AS n, SUM({pk}) AS s FROM {db_table}{where} "
               "GROUP BY b ORDER BY b")
        theirs: dict[int, tuple[int, int]] = {}
        for page in self._query_pages(query, sql):
            for row in page:
                bucket, count, total = _as_int(row.get("b")), _as_int(row.get("n")), _as_int(row.get("s"))
                if bucket is None or count is None:
                    raise SourceFileError(f"query {db_table}: an id bucket came back malformed")
                theirs[bucket] = (count, total or 0)
        ours: dict[int, list[int]] = {}
        for i in stored:
            ours.setdefault(i // size, []).append(i)
        for bucket, ids in sorted(ours.items()):
            if theirs.get(bucket) == (len(ids), sum(ids)):
                continue
            if bucket not in theirs:  # the table holds none of them any more
                gone.update(ids)
                continue
            start = bucket * size
            self._reconcile_range(db_table, table, max(size // 10, 1), (start, start + size), ids, gone)

    def _server_time(self, value: Any) -> str | None:
        """The server's clock in the cursor's format (the query route returns ISO 'T' times)."""
        try:
            return datetime.fromisoformat(cell(value)).strftime(self.rest.time_format)
        except ValueError:
            return None

    def _query_rows(self, query: QuerySpec, sql: str, offset: int) -> list[dict[str, Any]]:
        response = self.client.request(
            query.method, query.path, params={self.rest.offset_param: offset}, json={query.sql_field: sql}
        )
        return self._json_list(response, f"{query.method} {query.path}", offset)

    def _query_pages(self, query: QuerySpec, sql: str) -> Iterator[list[dict[str, Any]]]:
        return self._offset_pages(
            lambda offset: self._query_rows(query, sql, offset), query.page_size, f"{query.method} {query.path}"
        )

__all__ = ["ApiRequestError", "MissingSecret", "RestConnector", "RestTable", "cell", "make_client", "read_cursor"]
