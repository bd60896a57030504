"""`pms-bridge demo`: the bundled sample practice, end to end, with no setup."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pms_bridge.model.practice import Practice, practice_key

DEMO_TIMEZONE = "America/Chicago"
# Pinned so that every demo run shows the same results.
DEMO_AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo(DEMO_TIMEZONE))

DEMO_PRACTICE = "Sample Family Dental"
DEMO_STORE = "state/sample-family-dental.sqlite"

DEMO_CONFIG = """\
# pms-bridge config for the bundled sample practice (pms-bridge demo).
# Copy it as a starting point for a real practice: see README, "Configure a practice".

[practice]
name = "{practice}"
timezone = "{timezone}"

[source]                      # Open Dental table exports (CSV)
connector = "csv"
mapping = "opendental"
path = "exports"

[store]
path = "{store}"

[roles]                       # who works each coordinator role's tasks
patient = "Front desk (patient coordinator)"
financial = "Billing (financial coordinator)"

[[sinks]]                     # the task list to open in a browser or print
type = "html"
path = "out/tasks.html"

[[sinks]]                     # the same tasks for other tools
type = "json"
path = "out/tasks.json"

[[sinks]]                     # the morning huddle and KPI report
type = "report"
path = "out/report.html"
weeks = 26
# [sinks.targets]             # the KPI targets (docs/report.md lists them all)
# no_show_below_percent = 5
# acceptance_percent = 70
"""


def prepare_demo(folder: Path, patients: int, seed: int) -> Path:
    """Write the sample practice's exports and a config into ``folder``; return the config path."""
    from pms_bridge.sample import generate_practice

    exports = folder / "exports"
    _refuse_if_running(folder / DEMO_STORE)  # a demo still running on this folder is not pulled from under it
    for stale in (exports, folder / "state"):
        if stale.is_dir():
            shutil.rmtree(stale)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    exports.mkdir(mode=0o700)
    generate_practice(exports, as_of=DEMO_AS_OF, seed=seed, patients=patients)
    config_path = folder / "practice.toml"
    text = DEMO_CONFIG.format(practice=DEMO_PRACTICE, timezone=DEMO_TIMEZONE, store=DEMO_STORE)
    config_path.write_text(text, encoding="utf-8")
    return config_path


def _refuse_if_running(store_path: Path) -> None:
    """StoreBusy if a demo holds this store's write lock. Checked, then released before the store is
    deleted: an open database file cannot be deleted on Windows."""
    if not store_path.is_file():
        return
    from pms_bridge.store import Store, StoreError, sqlite_url

    practice = Practice(key=practice_key(DEMO_PRACTICE), name=DEMO_PRACTICE, timezone=DEMO_TIMEZONE)
    try:
        store = Store.open(sqlite_url(store_path), practice)
    except StoreError:
        return  # not a store any more: nothing can be running on it, and the demo replaces it
    try:
        with store.hold("demo"):
            pass
    finally:
        store.close()
