"""The wheel carries the declarative connector and mapping files."""

from __future__ import annotations

import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_connectors_and_mappings(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    wheel = next(WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("connectors", "mappings"):
        for path in (REPO / folder).glob("*.toml"):
            assert f"pms_bridge/_shipped/{folder}/{path.name}" in names
    assert "pms_bridge/cli/main.py" in names
    assert not any(n.startswith("tests/") for n in names)
