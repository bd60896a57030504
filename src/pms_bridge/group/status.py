"""`group status`: each location's last runs and the age of its data, from the shared store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pms_bridge.config.group import Group
from pms_bridge.store import RunRecord, Store
from pms_bridge.store.engine import open_engine
from pms_bridge.store.group_book import GroupBook, Job


@dataclass
class LocationStatus:
    key: str
    name: str
    runs: list[RunRecord]  # newest first
    data_as_of: datetime | None
    last_job: Job | None
    flags: list[str] = field(default_factory=list)  # why a person should look; empty: fine

    def age(self, now: datetime) -> timedelta | None:
        return None if self.data_as_of is None else now - self.data_as_of


def group_status(group: Group, now: datetime, runs: int = 3) -> list[LocationStatus]:
    """Every location of ``group``, flagged when its data is older than ``stale_after_hours``, it never ran,
    or its last run or group job failed."""
    stale_after = timedelta(hours=group.settings.group.stale_after_hours)
    engine = open_engine(group.store_url)
    try:
        book = GroupBook(engine)
        jobs = book.latest_jobs(group.key, list(group.locations))
        found = []
        for key, location in group.locations.items():
            store = Store(engine, location.config.practice.practice())
            status = LocationStatus(key, location.config.practice.name, store.list_runs(runs), store.data_as_of(),
                                    (jobs.get(key) or [None])[0])
            status.flags = _flags(status, now, stale_after)
            found.append(status)
        return found
    finally:
        engine.dispose()


def _flags(status: LocationStatus, now: datetime, stale_after: timedelta) -> list[str]:
    flags = []
    age = status.age(now)
    if age is None:
        flags.append("no data yet")
    elif age > stale_after:
        flags.append(f"data {age.total_seconds() / 3600:.0f} h old (over {stale_after.total_seconds() / 3600:g} h)")
    finished = [r for r in status.runs if r.status != "running"]
    if finished and finished[0].status in ("failed", "interrupted"):
        flags.append(f"last run {finished[0].status}")
    if status.last_job is not None and status.last_job.state == "failed":
        flags.append("last group job failed")
    return flags
