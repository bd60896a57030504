"""Declarative connector files (`connectors/*.toml`)."""

from __future__ import annotations

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pms_bridge.shipped import shipped_dir, shipped_names


class ConnectorSpecError(Exception):
    """A connector file is missing or invalid."""


class ConnectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["files", "rest"]
    description: str = ""
    default_mapping: str
    extensions: list[str] = Field(default_factory=lambda: [".csv"])
    delimiters: list[str] = Field(default_factory=lambda: [","])
    encodings: list[str] = Field(default_factory=lambda: ["utf-8-sig"])
    batch_rows: int = Field(default=5000, ge=1, le=100_000)


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
