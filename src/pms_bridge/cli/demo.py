"""`pms-bridge demo`: the bundled sample practice, end to end, with no setup."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEMO_TIMEZONE = "America/Chicago"
# Pinned so that every demo run shows the same results.
DEMO_AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo(DEMO_TIMEZONE))

DEMO_CONFIG = """\
# pms-bridge config for the bundled sample practice (pms-bridge demo).
# Copy it as a starting point for a real practice: see README, "Configure a practice".

[practice]
name = "Sample Family Dental"
timezone = "{timezone}"

[source]                      # Open Dental table exports (CSV)
connector = "csv"
mapping = "opendental"
path = "exports"

[store]
path = "state/sample-family-dental.sqlite"

[roles]                       # who works each coordinator role's tasks
patient = "Front desk (patient coordinator)"
financial = "Billing (financial coordinator)"

[[sinks]]                     # the task list to open in a browser or print
type = "html"
path = "out/tasks.html"

[[sinks]]                     # the same tasks for other tools
type = "json"
path = "out/tasks.json"
"""


def prepare_demo(folder: Path, patients: int, seed: int) -> Path:
    """Write the sample practice's exports and a config into ``folder``; return the config path."""
    from pms_bridge.sample import generate_practice

    exports = folder / "exports"
    for stale in (exports, folder / "state"):
        if stale.exists():
            shutil.rmtree(stale)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    exports.mkdir(mode=0o700)
    generate_practice(exports, as_of=DEMO_AS_OF, seed=seed, patients=patients)
    config_path = folder / "practice.toml"
    config_path.write_text(DEMO_CONFIG.format(timezone=DEMO_TIMEZONE), encoding="utf-8")
    return config_path
