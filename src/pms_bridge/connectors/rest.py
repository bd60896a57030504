"""Generic REST engine: runs a declarative connector spec (connectors/*.toml).

Per resource: a path, Limit/Offset paging (a short page ends it; a repeated
page is an error), an incremental filter fed from the stored cursor, and
endpoints that need a patient id fetched per patient. A second read route
sends read-only SQL to a query endpoint and pages its database-shaped rows.
Rows come out as the same (header, cells) chunks the file connector yields,
so the mapping stage does not care where they came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pms_bridge.connectors.api_client import ApiClient, ApiRequestError
from pms_bridge.connectors.files import Chunk, SourceFileError
from pms_bridge.connectors.secrets import MissingSecret, read_secret
from pms_bridge.connectors.spec import ConnectorSpec, QuerySpec, RestResource, RestSpec


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


def read_cursor(value: str | None) -> str | None:
    """The server time stored by an earlier run (None: first run, or another connector's cursor)."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data.get("server_time") if isinstance(data, dict) else None


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
    _newest_change: str | None = field(default=None, repr=False)
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

    def fingerprint(self) -> str:
        """The cursor to store once this resource's rows are stored."""
        since = self.new_cursor or self._newest_change or read_cursor(self.old_cursor)
        return json.dumps({"server_time": since}) if since else json.dumps({"server_time": None})


class RestConnector:
    """Reads a PMS through its REST API (resources route) or its query endpoint (query route)."""

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

    def open(self, names: list[str], cursor: str | None = None, patients: Iterable[str] | None = None) -> RestTable | None:
        """The first of ``names`` this connector serves, as a table of rows (None: it serves none)."""
        if self.route == "query":
            return self._open_query(names, cursor)
        name = next((n for n in names if n in self.rest.resources), None)
        if name is None:
            return None
        resource = self.rest.resources[name]
        if resource.per_patient:
            ids = sorted(set(patients or ()), key=lambda p: (len(p), p))
            pages = self._per_patient(resource, ids)
            return RestTable(f"GET {resource.path} ({len(ids)} patients)", pages, self.spec.batch_rows, cursor)
        params: dict[str, Any] = dict(resource.params)
        since = self._since(cursor) if resource.incremental else None
        if since:
            params[resource.incremental] = since
        return RestTable(
            f"GET {resource.path}", self._get_pages(resource.path, params), self.spec.batch_rows, cursor,
            server_time_field=self.rest.server_time_field if resource.incremental else None,
            change_field=resource.incremental,
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

    # ------------------------------------------------------------------- query

    def _open_query(self, names: list[str], cursor: str | None) -> RestTable | None:
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        name = next((n for n in names if n in query.tables), None)
        if name is None:
            return None
        table = query.tables[name]
        sql = f"SELECT * FROM {table.table or name}"
        since = self._since(cursor) if table.incremental else None
        if since:
            sql += f" WHERE {table.incremental} > '{since}'"
        now = self._query_rows(query, query.now_sql, 0)
        server_now = self._server_time(next(iter(now[0].values()))) if now and now[0] else None
        result = RestTable(f"query {table.table or name}", self._query_pages(query, sql), self.spec.batch_rows, cursor)
        result.new_cursor = server_now if table.incremental else None
        return result

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
