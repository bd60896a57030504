"""Generate a synthetic Open Dental practice as raw table exports (one CSV per table).

The background is a realistic, clean practice: nothing in it should become a
task. On top of it, ``planted.py`` adds patients with one known problem each;
``planted.json`` lists them so tests can check that every rule finds its own
and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from random import Random
from typing import Any

from pms_bridge.private_files import private_dir, private_open
from pms_bridge.sample.emit import write_household
from pms_bridge.sample.history import household
from pms_bridge.sample.planted import CASES, CONTROLS, plant
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.tables import Tables


@dataclass
class SampleReport:
    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    planted: list[dict[str, Any]] = field(default_factory=list)  # as in planted.json


def generate_practice(
    out_dir: Path,
    *,
    as_of: datetime,
    seed: int = 7,
    patients: int = 600,
    dentists: int = 2,
    hygienists: int = 2,
    specialists: int = 1,
    history_years: int = 3,
    id_offset: int = 0,
) -> SampleReport:
    """Write one practice's table exports to ``out_dir``.

    ``as_of`` is the practice's local "now" (timezone-aware); its wall-clock
    time is what the files use. ``patients`` counts every patient, the
    planted ones (one per case in ``planted.CASES`` and per control in
    ``planted.CONTROLS``) included; those are always written, so a smaller
    number gives them alone. ``id_offset`` is added
    to every table's ids.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (the practice's local time)")
    out_dir = Path(out_dir)
    now = as_of.replace(tzinfo=None, microsecond=0)
    tables = Tables(out_dir, id_offset)
    try:
        pr = Practice(
            tables,
            Random(seed),
            now,
            history_years=history_years,
            dentists=dentists,
            hygienists=hygienists,
            specialists=specialists,
            patients=patients,
        )
        budget = max(0, patients - len(CASES) - len(CONTROLS))
        while budget > 0:
            members, subs = household(pr, budget)
            write_household(pr, members, subs)
            budget -= len(members)
        planted = [item.as_dict() for item in plant(pr)]
    finally:
        tables.close()
    with private_open(out_dir / "planted.json", newline="\n") as handle:
        json.dump(planted, handle, indent=2)
        handle.write("\n")
    return SampleReport(out_dir, dict(tables.rows), planted)


def generate_group(
    out_dir: Path, *, as_of: datetime, locations: int = 20, seed: int = 7, patients: int = 600, **kw: Any
) -> list[SampleReport]:
    """Write ``locations`` practices to ``out_dir/location-01`` ...; each has its own dataset."""
    out_dir = Path(out_dir)
    private_dir(out_dir)
    reports = []
    for i in range(1, locations + 1):
        location_seed = Random(f"{seed}:location:{i}").randrange(2**31)
        reports.append(
            generate_practice(
                out_dir / f"location-{i:02d}", as_of=as_of, seed=location_seed, patients=patients, **kw
            )
        )
    return reports
