"""Generic REST engine: runs a declarative connector spec (connectors/*.toml).

Per resource: a path, Limit/Offset paging (a short page ends it; a repeated
page is an error), an incremental filter fed from the stored cursor, and
endpoints that need a patient id fetched per patient (the patients the caller
chooses: pipeline/fanout.py, whose choice the cursor remembers). A second read
route sends read-only SQL to a query endpoint and pages its database-shaped rows:
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

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiItemNotFound,
    ApiRequestError,
    ApiVersionTooOld,
    RetryPolicy,
)
from pms_bridge.connectors.files import SourceFileError
from pms_bridge.connectors.http_errors import ErrorRule, ErrorTable
from pms_bridge.connectors.opendental_versions import FLOOR_TABLES
from pms_bridge.connectors.paging import OffsetPaginator, RecordSelector, paginator_for
from pms_bridge.connectors.paging import pages as paged
from pms_bridge.connectors.rest_table import (
    RestTable,
    cell,
    read_cursor,
    read_cursor_key,
)
from pms_bridge.connectors.secrets import MissingSecret, read_secret
from pms_bridge.connectors.spec import (
    ConnectorSpec,
    QuerySpec,
    QueryTable,
    RestResource,
    RestSpec,
)
from pms_bridge.connectors.sql_tables import reconcile_ids, rows_sql, select_list, since


def auth_headers(spec: RestSpec, source: Any, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The auth header the connector declares, built from the secrets the `[source]` keys name.

    Each secret is read from the environment variable a `[source]` key names, else the OS keyring.
    """
    auth = spec.auth
    keys = {}
    for name, setting in auth.secrets.items():
        if isinstance(source, Mapping):
            var = source.get(setting)
        elif hasattr(source, "secret_variable"):  # a practice's [source] section
            var = source.secret_variable(setting)
        else:
            var = getattr(source, setting, None)
        if not var:
            raise MissingSecret(f"[source] {setting} is not set: name the environment variable that holds the {name}")
        keys[name] = read_secret(var, env=env, setting=f"[source] {setting}")
    return {auth.header: auth.format.format(**keys), "Content-Type": "application/json"}


def error_table(spec: RestSpec) -> ErrorTable:
    """The connector's declared error rules (then generic HTTP ones) and its PMS's version floors."""
    rules = tuple(
        ErrorRule(tuple(e.status), e.action, e.body, e.path, e.message,
                  frozenset(k.lower() for k in e.item_kinds), frozenset(w.lower() for w in e.not_items))
        for e in spec.errors
    )
    return ErrorTable(rules, FLOOR_TABLES[spec.version_floors]) if spec.version_floors else ErrorTable(rules)


def make_client(spec: ConnectorSpec, source: Any, env: Mapping[str, str] | None = None, **http: Any) -> ApiClient:
    """The paced, retrying client for a `[source]` section (mode defaults, then the config's own values).

    TLS certificates are verified unless `[source] insecure_local_tls = true`, which the client
    accepts only for a loopback base URL.
    """
    assert spec.rest is not None
    mode = spec.rest.modes[getattr(source, "mode", None) or next(iter(spec.rest.modes))]
    interval = source.min_request_interval if source.min_request_interval is not None else mode.min_request_interval
    headers = auth_headers(spec.rest, source, env)
    http.setdefault("verify", not getattr(source, "insecure_local_tls", False))
    http.setdefault("errors", error_table(spec.rest))
    http.setdefault("retry", RetryPolicy.from_spec(mode.retry))
    return ApiClient(source.base_url or mode.base_url, headers, min_interval=interval,
                     timeout=getattr(source, "timeout", None) or mode.timeout, **http)


@dataclass
class _PatientLists(RestTable):
    """Per-patient lists: the cursor stored once they are stored says whom they were fetched for (fanout.py)."""

    after: str | None = None

    def fingerprint(self) -> str:
        return self.after if self.after is not None else super().fingerprint()


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
        return since(cursor, self.rest.time_format, self.rest.cursor_overlap_seconds)

    def _get_pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        paging = self.rest.paging

        def fetch(page: dict[str, Any]) -> Any:
            return self.client.read_json("GET", path, params={**params, **page})

        paginator = paginator_for(paging.kind, self.page_size, paging)
        return paged(fetch, paginator, RecordSelector(paging.records), f"GET {path}")

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
            return self._open_per_patient(names, resource, cursor, patients)
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

    def _open_per_patient(
        self, names: list[str], resource: RestResource, cursor: str | None, patients: Iterable[str] | None
    ) -> RestTable:
        """Each patient's whole list. A ``patients`` that chooses (pipeline/fanout.py) names the patients this
        resource asks for this run and the cursor that remembers them; else every patient given is asked."""
        choose = getattr(patients, "choose", None)
        after = None
        if choose is not None:
            choice = choose(names, cursor)
            ids, after = list(choice.patients), choice.cursor
        else:
            ids = sorted(set(patients or ()), key=lambda p: (len(p), p))
        pages = self._per_patient(resource, ids)
        return _PatientLists(f"GET {resource.path} ({len(ids)} patients)", pages, self.spec.batch_rows, cursor,
                             patients=ids, after=after)

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
                    data = self.client.read_json("GET", path)
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

    def _open_query(self, names: list[str], cursor: str | None, columns: Iterable[str] | None) -> RestTable | None:
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        found = self._query_table(names)
        if found is None:
            return None
        name, table = found
        db_table = table.table or name
        selected = select_list("query", db_table, table, columns, query.never_columns)
        after_stamp = self._since(cursor) if table.incremental else None
        after_key = read_cursor_key(cursor) if table.incremental_key else None
        sql = rows_sql(db_table, table, selected, after_stamp, after_key)
        server_now = None
        if table.incremental:  # the server's clock before the read: the next run's starting point
            now = self._query_rows(query, query.now_sql)
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

    def reconcile(self, names: list[str], stored: Collection[int]) -> set[int] | None:
        """Which of the ``stored`` ids the table no longer holds (deleted, or soft-deleted: not 'live').

        Counts and id sums per bucket of ids first; a bucket that differs from the stored ids is split
        tenfold until its ids fit a page, and only then are ids listed. An unchanged table costs one
        query (a page per 100 buckets). None: the table declares no deletions.
        """
        if not self.reconciles(names):
            return None
        name, table = self._query_table(names)  # type: ignore[misc]
        query: QuerySpec = self.spec.query  # type: ignore[assignment]
        return reconcile_ids("query", table.table or name, table, stored, query.bucket_size, query.page_size,
                             lambda sql: self._query_pages(query, sql))

    def _server_time(self, value: Any) -> str | None:
        """The server's clock in the cursor's format (the query route returns ISO 'T' times)."""
        try:
            return datetime.fromisoformat(cell(value)).strftime(self.rest.time_format)
        except ValueError:
            return None

    def _query_fetch(self, query: QuerySpec, sql: str) -> Callable[[dict[str, Any]], Any]:
        def fetch(page: dict[str, Any]) -> Any:
            return self.client.read_json(query.method, query.path, params=page, json={query.sql_field: sql})

        return fetch

    def _query_rows(self, query: QuerySpec, sql: str) -> list[dict[str, Any]]:
        """The first page of a query's rows."""
        return next(self._query_pages(query, sql), [])

    def _query_pages(self, query: QuerySpec, sql: str) -> Iterator[list[dict[str, Any]]]:
        paginator = OffsetPaginator(query.page_size, self.rest.paging.offset_param, limit_param=None)
        return paged(self._query_fetch(query, sql), paginator, RecordSelector(), f"{query.method} {query.path}")


__all__ = ["ApiRequestError", "MissingSecret", "RestConnector", "RestTable", "cell", "make_client", "read_cursor"]
