"""Where the declarative files that ship with the package live.

In a wheel they are under ``pms_bridge/_shipped/``; in a source checkout
(editable install, tests) they are the top-level ``connectors/`` and
``mappings/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def shipped_dir(kind: str) -> Path:
    for candidate in (_HERE / "_shipped" / kind, _HERE.parents[1] / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the package's {kind}/ folder is missing; reinstall pms-bridge")


def shipped_names(kind: str) -> list[str]:
    return sorted(p.stem for p in shipped_dir(kind).glob("*.toml"))
