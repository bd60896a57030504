"""Declarative connector files (`connectors/*.toml`, or a path to a file of your own).

A REST connector declares its auth header (``[rest.auth]``: a format naming secrets, each read from
the environment variable a ``[source]`` key names), its paging (``[rest.paging]``: offset, page
numbers or a cursor, and where the rows are in the answer), its error table (``[[rest.errors]]``:
status and body pattern -> config problem, transient, one bad item, version too old) and its
resources. The engine has no PMS's names in it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pms_bridge.errors import ConfigurationProblem
from pms_bridge.model.validation import format_validation_errors
from pms_bridge.shipped import shipped_dir, shipped_names


class ConnectorSpecError(ConfigurationProblem):
    """A connector file is missing or invalid."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestRetry(_Spec):
    """How far a request is retried after a transient failure (5xx, 429, a dropped connection or a lost answer).

    A retry waits for the pacing slot or the answer's Retry-After, whichever is later, then a jittered backoff.
    Past these bounds the request fails as unreachable (exit code 3) and the next run tries again.
    """

    attempts: int = Field(default=8, ge=1, le=20, description="Tries per request, the first included (a POST "
                          "is sent once: a lost answer is settled by looking for the copy).")
    backoff: float = Field(default=1.0, ge=0, le=600, description="Seconds of backoff before the first retry, "
                           "doubling with each retry.")
    backoff_max: float = Field(default=10.0, ge=0, le=600, description="The longest backoff, in seconds.")
    jitter: float = Field(default=0.5, ge=0, le=1, description="Each backoff is drawn at random from "
                          "[(1 - jitter) * backoff, backoff], so clients that failed together do not retry together.")
    retry_after_max: float = Field(default=120.0, ge=0, le=3600, description="The longest Retry-After a run waits, "
                                   "in seconds; an answer asking for longer fails the request at once.")
    budget: float = Field(default=0.5, ge=0, description="Retries per request over a whole run, beyond "
                          "budget_floor: once spent, the next transient failure is final (the API looks overloaded "
                          "or down).")
    budget_floor: int = Field(default=20, ge=0, description="Retries every run may make whatever its request count.")

    @model_validator(mode="after")
    def _cap_not_below_start(self) -> RestRetry:
        if self.backoff_max < self.backoff:
            raise ValueError(f"backoff_max ({self.backoff_max}) is below backoff ({self.backoff}): give a cap at "
                             "least as long as the first backoff")
        return self


class RestMode(_Spec):
    base_url: str
    page_size: int = Field(ge=1, le=10_000)
    min_request_interval: float = Field(ge=0)
    retry: RestRetry = Field(default_factory=RestRetry, description="Retries and their bounds in this mode.")
    timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds before one request gives up: a lost answer costs this much before its retry.",
    )


class RestResource(_Spec):
    path: str
    params: dict[str, str] = Field(default_factory=dict, description="Fixed query parameters.")
    incremental: str | None = Field(default=None, description="Filter parameter for rows changed since the cursor.")
    per_patient: str | None = Field(
        default=None,
        description="Required patient parameter: fetched per patient. Each patient's answer is that patient's "
        "whole list, so stored rows of a fetched patient that it lacks were deleted in the PMS.",
    )
    full_list: bool = Field(
        default=False,
        description="Listed in full on every run (no change filter): stored rows the list lacks were deleted.",
    )


class RestDeletions(_Spec):
    """An endpoint that lists deletions of a resource's rows (e.g. history rows of deleted appointments)."""

    path: str
    params: dict[str, str] = Field(default_factory=dict, description="Fixed query parameters (the deleted action).")
    key: str = Field(description="The deleted row's id field.")
    start_param: str = Field(description="First day (yyyy-MM-dd) of the deletions to list.")
    end_param: str = Field(description="Last day (inclusive) of the deletions to list.")


class RestRecheck(_Spec):
    """Rows a listing never shows once deleted, asked for one by one (bounded per run)."""

    path: str = Field(description="Single-item path with '{id}', e.g. /patients/{id}.")
    limit: int = Field(default=50, ge=0, description="At most this many single GETs per run.")


class RestWindow(_Spec):
    resource: str
    key: str  # the rows' id field
    start_param: str
    end_param: str


class RestAuth(_Spec):
    """A header built from named secrets: ``format`` names them in braces, e.g. "Bearer {token}"."""

    header: str = "Authorization"
    format: str
    secrets: dict[str, str] = Field(
        description="Secret name in 'format' -> the [source] key naming the environment variable (or keyring "
        "entry) that holds it, e.g. customer_key = \"customer_key_env\". Secrets never go in a file."
    )

    @model_validator(mode="after")
    def _names_secrets(self) -> RestAuth:
        used = set(re.findall(r"{(\w+)}", self.format))
        if used != set(self.secrets):
            raise ValueError(f"auth.format names {sorted(used)} but auth.secrets declares {sorted(self.secrets)}")
        return self


class RestPaging(_Spec):
    """How a list comes in pages (see connectors.paging): offset/limit, page numbers or a cursor."""

    kind: Literal["offset", "page", "cursor"] = "offset"
    records: str = Field(default="", description="Where the rows are in the JSON answer: a dotted path; '' = the "
                         "answer is the list.")
    limit_param: str | None = "Limit"
    offset_param: str = "Offset"
    page_param: str = "page"
    first_page: int = 1
    cursor_path: str = Field(default="next", description="cursor: the dotted path of the next cursor in the answer.")
    cursor_param: str = Field(default="cursor", description="cursor: the query parameter that sends it back.")


class RestErrorSpec(_Spec):
    """One row of the connector's error table; rows are tried in order, then generic HTTP rules."""

    status: list[int] = Field(min_length=1)
    action: Literal["config", "transient", "item", "version", "request"]
    body: str | None = Field(default=None, description="Regular expression searched in the answer (ignoring case); "
                             "an item rule's (?P<item>...) group names the item's kind.")
    path: str | None = Field(default=None, description="Regular expression searched in the request's path.")
    message: str | None = Field(default=None, description="config: what to fix; version: the fallback message.")
    item_kinds: list[str] = Field(default_factory=list, description="Kinds a message may name (others could be PHI).")
    not_items: list[str] = Field(default_factory=list, description="Words that mean the body names no item.")


class RestSpec(_Spec):
    auth: RestAuth
    paging: RestPaging = Field(default_factory=RestPaging)
    errors: list[RestErrorSpec] = Field(default_factory=list)
    version_floors: Literal["opendental"] | None = Field(
        default=None, description="Known version floors of the PMS's calls (named tables in the engine).")
    server_time_field: str | None = None
    time_format: str = "%Y-%m-%d %H:%M:%S"
    cursor_overlap_seconds: int = Field(default=300, ge=0)
    modes: dict[str, RestMode]
    window: RestWindow | None = None
    resources: dict[str, RestResource]
    deletions: dict[str, RestDeletions] = Field(default_factory=dict, description="Resource -> its deletion list.")
    recheck: dict[str, RestRecheck] = Field(default_factory=dict, description="Resource -> single-item re-check.")


class QueryTable(_Spec):
    table: str | None = None  # default: the resource name
    pk: str = Field(description="Primary key: every query orders by it, so Offset paging never skips or repeats.")
    incremental: str | None = Field(default=None, description="Change stamp column: later runs read rows after it.")
    incremental_key: bool = Field(
        default=False,
        description="No change stamp: later runs read only rows whose key is above the highest read so far "
        "(new rows; edits of old rows are not seen).",
    )
    deletes: Literal["hard", "soft"] | None = Field(
        default=None,
        description="How the PMS deletes rows: 'hard' (the row goes) or 'soft' (the 'live' condition turns false "
        "without touching the change stamp). Either way each run reconciles the stored ids with the table's.",
    )
    live: str | None = Field(default=None, description="SQL condition a row that is not (soft-)deleted meets.")
    since: str | None = Field(
        default=None,
        description="The PMS version that added the table: a query refused on an older version says so, and the "
        "resource counts as not available there rather than as failed.",
    )

    @model_validator(mode="after")
    def _soft_needs_live(self) -> QueryTable:
        if self.deletes == "soft" and not self.live:
            raise ValueError("deletes = 'soft' needs 'live', the condition rows that are not deleted meet")
        if self.incremental and self.incremental_key:
            raise ValueError("give either 'incremental' (a change stamp) or 'incremental_key', not both")
        return self


class QuerySpec(_Spec):
    path: str
    method: str = "PUT"
    sql_field: str
    page_size: int = Field(default=100, ge=1)
    now_sql: str
    bucket_size: int = Field(
        default=1000, ge=10, description="Ids per bucket when stored ids are reconciled with a table's."
    )
    never_columns: list[str] = Field(
        default_factory=list,
        description="Columns no query may select (image bodies, data the model does not keep such as SSNs).",
    )
    tables: dict[str, QueryTable]


class DatabaseSpec(_Spec):
    """A PMS's own MySQL/MariaDB database, read only (connectors/database.py): its tables as the query
    route reads them, from one read-only snapshot per run."""

    tables_from: str | None = Field(
        default=None,
        description="A connector (shipped name, or a .toml path relative to this file) whose [query] tables and "
        "never_columns this route reads: one list of tables for both routes. Else give 'tables' here.",
    )
    tables: dict[str, QueryTable] = Field(default_factory=dict)
    never_columns: list[str] = Field(
        default_factory=list,
        description="Columns no statement may select, beside those of 'tables_from' (image bodies, SSNs).",
    )
    time_format: str = Field(default="%Y-%m-%d %H:%M:%S", description="How the server writes its clock.")
    cursor_overlap_seconds: int = Field(
        default=300, ge=0, description="A run reads rows changed since the last run's snapshot less this: rows "
        "written in a transaction that committed after that snapshot began are read too.")
    bucket_size: int = Field(default=1000, ge=10, description="Ids per bucket when stored ids are reconciled.")
    list_ids_at: int = Field(
        default=1000, ge=1, description="A differing range of at most this many ids has its ids listed.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the server to answer "
                                   "the connection (then the run ends as unreachable, exit code 3).")
    read_timeout: float = Field(default=600.0, gt=0, description="Seconds to wait for one answer of the server.")
    write_timeout: int = Field(
        default=600, ge=1, description="Seconds the server waits for pms-bridge to take the next rows of a "
        "streamed answer (MySQL's net_write_timeout, for this connection only) while it stores the last ones.")

    @model_validator(mode="after")
    def _one_table_list(self) -> DatabaseSpec:
        if (self.tables_from is None) == (not self.tables):
            raise ValueError("give either 'tables_from' (a connector whose [query] tables this route reads) or "
                             "'tables', not both and not neither")
        return self


class ConnectorSpec(_Spec):
    name: str
    kind: Literal["files", "rest", "database"]
    description: str = ""
    default_mapping: str
    extensions: list[str] = Field(default_factory=lambda: [".csv"])
    delimiters: list[str] = Field(default_factory=lambda: [","])
    encodings: list[str] = Field(default_factory=lambda: ["utf-8-sig"])
    batch_rows: int = Field(default=5000, ge=1, le=100_000)
    rest: RestSpec | None = None
    query: QuerySpec | None = None
    database: DatabaseSpec | None = None

    @model_validator(mode="after")
    def _database_section(self) -> ConnectorSpec:
        if (self.kind == "database") != (self.database is not None):
            raise ValueError("kind = 'database' goes with a [database] section, and a [database] section with "
                             "kind = 'database'")
        return self


def load_connector_spec(name: str | Path) -> ConnectorSpec:
    """A shipped connector by name, or a connector file by path (a PMS of your own)."""
    text = str(name)
    if isinstance(name, Path) or text.endswith(".toml"):
        path = Path(name)
        if not path.is_file():
            raise ConnectorSpecError(f"no connector file at {path}")
    else:
        path = shipped_dir("connectors") / f"{name}.toml"
    if not path.is_file():
        raise ConnectorSpecError(
            f"no connector file for {name!r}; shipped connectors: {', '.join(shipped_names('connectors'))}"
        )
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    try:
        spec = ConnectorSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConnectorSpecError(format_validation_errors(f"connector {path}", exc, model=ConnectorSpec)) from None
    return _with_shared_tables(spec, path)


def _with_shared_tables(spec: ConnectorSpec, path: Path) -> ConnectorSpec:
    """A database route whose tables come from another connector's query route, with them filled in."""
    database = spec.database
    if database is None or database.tables_from is None:
        return spec
    source = database.tables_from
    other = load_connector_spec(path.parent / source if source.endswith(".toml") else source)
    if other.query is None:
        raise ConnectorSpecError(f"connector {path}: database.tables_from names {source!r}, which has no [query] "
                                 "tables to share")
    never = list(dict.fromkeys([*other.query.never_columns, *database.never_columns]))
    shared = database.model_copy(update={"tables": dict(other.query.tables), "never_columns": never})
    return spec.model_copy(update={"database": shared})
