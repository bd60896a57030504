"""Declarative connector files (`connectors/*.toml`)."""

from __future__ import annotations

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pms_bridge.shipped import shipped_dir, shipped_names


class ConnectorSpecError(Exception):
    """A connector file is missing or invalid."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestMode(_Spec):
    base_url: str
    page_size: int = Field(ge=1, le=10_000)
    min_request_interval: float = Field(ge=0)


class RestResource(_Spec):
    path: str
    params: dict[str, str] = Field(default_factory=dict, description="Fixed query parameters.")
    incremental: str | None = Field(default=None, description="Filter parameter for rows changed since the cursor.")
    per_patient: str | None = Field(default=None, description="Required patient parameter: fetched per patient.")


class RestWindow(_Spec):
    resource: str
    key: str  # the rows' id field
    start_param: str
    end_param: str


class RestSpec(_Spec):
    auth_header: str
    auth_format: str
    limit_param: str = "Limit"
    offset_param: str = "Offset"
    server_time_field: str | None = None
    time_format: str = "%Y-%m-%d %H:%M:%S"
    cursor_overlap_seconds: int = Field(default=300, ge=0)
    modes: dict[str, RestMode]
    window: RestWindow | None = None
    resources: dict[str, RestResource]


class QueryTable(_Spec):
    table: str | None = None  # default: the resource name
    incremental: str | None = None


class QuerySpec(_Spec):
    path: str
    method: str = "PUT"
    sql_field: str
    page_size: int = Field(default=100, ge=1)
    now_sql: str
    tables: dict[str, QueryTable]


class ConnectorSpec(_Spec):
    name: str
    kind: Literal["files", "rest"]
    description: str = ""
    default_mapping: str
    extensions: list[str] = Field(default_factory=lambda: [".csv"])
    delimiters: list[str] = Field(default_factory=lambda: [","])
    encodings: list[str] = Field(default_factory=lambda: ["utf-8-sig"])
    batch_rows: int = Field(default=5000, ge=1, le=100_000)
    rest: RestSpec | None = None
    query: QuerySpec | None = None


def load_connector_spec(name: str) -> ConnectorSpec:
    path = shipped_dir("connectors") / f"{name}.toml"
    if not path.is_file():
        raise ConnectorSpecError(
            f"no connector file for {name!r}; shipped connectors: {', '.join(shipped_names('connectors'))}"
        )
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    try:
        return ConnectorSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConnectorSpecError(f"{path}: {exc.error_count()} problem(s): {exc.errors()[0]['loc']}") from None
