"""Run one practice through each Open Dental read route in tests: table exports (a folder of CSV
files written from the fake's tables), the API's resources route and its query route (the fake API),
and the office's own database (the "db" route: the fake's tables in MariaDB, see fakes/office_db.py).

    fake = FakeOpenDental(tables)            # the office: change it between nights
    path = config(tmp_path, "query")         # or config(tmp_path, "db", office=office_db)
    night(fake, path)                        # -> SyncReport; the store stays per route

Synthetic data only.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fakes.office_db import Account, OfficeDatabase
from fakes.opendental import FakeOpenDental
from fakes.opendental_shapes import NEVER_READ
from odexport import COLUMNS, TS

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import RetryPolicy
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline import SyncReport, run_sync
from pms_bridge.store import Store

ROUTES = ("exports", "resources", "query")
# The database route needs a MariaDB server (the office_db fixture): not in ROUTES, which tests run without one.
DB_ROUTE = "db"
DB_PASSWORD_ENV = "OD_DB_PASSWORD"  # the office_db fixture puts its SELECT-only account's password there
_OFFICES: dict[str, OfficeDatabase] = {}  # a db config's url -> the office database its nights mirror into
# The opendental-tasks sink with one task list per role, as an office sets it up.
TASK_SINK = """
[[sinks]]
type = "opendental-tasks"
user_num = 1
[sinks.task_lists]
patient = "Patient Coordinator"
scheduling = "Scheduling Coordinator"
treatment = "Treatment Coordinator"
financial = "Financial Coordinator"
clinical = "Clinical Coordinator"
"""
LISTS = ("Patient Coordinator", "Scheduling Coordinator", "Treatment Coordinator", "Financial Coordinator",
         "Clinical Coordinator")
_STAMPS = {"DateTStamp", "SecDateTEdit", "DateTSheetEdited"}


class FakeClock:
    """A clock the API client paces by, so tests never sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def on_request(self, method: str, path: str) -> None:
        self.now += 0.3


def full_rows(tables: Mapping[str, list[dict[str, str]]]) -> dict[str, list[dict[str, str]]]:
    """Rows with every column odexport knows for their table (as an export or the database has them)."""
    out: dict[str, list[dict[str, str]]] = {}
    for table, rows in tables.items():
        columns = COLUMNS.get(table) or list(dict.fromkeys(c for r in rows for c in r))
        out[table] = [{**{c: row.get(c, TS if c in _STAMPS else "") for c in columns}, **row} for row in rows]
    return out


def dump_export(fake: FakeOpenDental, folder: Path) -> Path:
    """The office's tables as a full raw-mode export, one CSV per table (what Open Dental holds now)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    for table, rows in fake.tables.items():
        never = set(NEVER_READ.get(table, ()))
        columns = [c for c in dict.fromkeys(c for r in rows.values() for c in r) if c not in never]
        if not columns:
            columns = COLUMNS.get(table, [])
        if not columns:
            continue  # an empty table whose columns nobody knows: left out of the export
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for key in sorted(rows):
                writer.writerow([rows[key].get(c, "") for c in columns])
    return folder


def config(tmp: Path, route: str, key: str | None = None, extra: str = "", office: OfficeDatabase | None = None,
           account: Account | None = None) -> Path:
    """A practice config for one route; its store is a SQLite file next to it. The db route reads ``office``
    with ``account`` (default: its SELECT-only one), the password in OD_DB_PASSWORD."""
    key = key or f"od-{route}"
    head = f'[practice]\nname = "Route Dental"\nkey = "{key}"\ntimezone = "America/Chicago"\n'
    if route == "exports":
        source = f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "{(tmp / key).as_posix()}-exports"\n'
    elif route == DB_ROUTE:
        if office is None:
            raise ValueError("the db route reads an office database: pass office= (the office_db fixture)")
        url = (account or office.reader()).url
        _OFFICES[url] = office
        source = f'[source]\nconnector = "opendental-db"\nurl = "{url}"\npassword_env = "{DB_PASSWORD_ENV}"\n'
    else:
        source = (f'[source]\nconnector = "opendental-api"\nmode = "cloud"\nread_route = "{route}"\n'
                  'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n')
    path = tmp / f"{key}.toml"
    path.write_text(f'{head}{source}[store]\npath = "{key}.sqlite"\n{extra}', encoding="utf-8")
    return path


def night(fake: FakeOpenDental, config_path: Path, as_of: datetime = DEMO_AS_OF, check: bool = True) -> SyncReport:
    """One nightly run of a config against the office as it is now."""
    cfg = load_config(config_path)
    if cfg.source.connector == "csv":
        dump_export(fake, cfg.source_path())
        return run_sync(cfg, as_of, check=check)
    if cfg.source.connector == "opendental-db":
        _OFFICES[cfg.source.url].mirror(fake)
        # The office stamps tonight's changes with the server's real clock, later than the pinned as-of.
        return run_sync(cfg, as_of, check=check, backdate=True)
    clock = FakeClock()
    http: dict[str, Any] = {"clock": clock, "sleep": clock.sleep, "on_request": clock.on_request,
                            "retry": RetryPolicy(attempts=3, initial=0.1, maximum=1.0)}
    with fake.mock():
        return run_sync(cfg, as_of, check=check, http=http)


def open_store(config_path: Path) -> Store:
    cfg = load_config(config_path)
    return Store.open(cfg.store_url(), cfg.practice.practice())


def rows(config_path: Path, entity: str) -> dict[str, dict[str, Any]]:
    store = open_store(config_path)
    try:
        return {r["source_id"]: r for r in store.rows(entity)}
    finally:
        store.close()


def tasks(config_path: Path) -> dict[str, Any]:
    """The ledger's tasks by key."""
    store = open_store(config_path)
    try:
        return {t.key: t for t in Ledger(store).tasks()}
    finally:
        store.close()
