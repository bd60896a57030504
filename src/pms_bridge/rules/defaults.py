"""The shipped procedure-code tables (data/procedure_codes.toml), read once."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def procedure_code_defaults() -> dict[str, Any]:
    text = resources.files("pms_bridge.rules").joinpath("data/procedure_codes.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def default_hygienist_codes() -> list[str]:
    return list(procedure_code_defaults()["hygienist_codes"])


def default_minutes() -> dict[str, int]:
    return dict(procedure_code_defaults()["minutes"])


def default_radiograph_needs() -> list[dict[str, Any]]:
    return [dict(need) for need in procedure_code_defaults()["radiograph_needs"]]


def default_preauth_codes() -> list[str]:
    return list(procedure_code_defaults()["preauth_codes"])
