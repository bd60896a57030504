"""What Open Dental holds for the tasks sink: task lists by name, and the tasks of the lists we
wrote to, read back (with each copy's marker) before anything is sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pms_bridge.config import ConfigError
from pms_bridge.connectors.api_client import ApiClient, ApiRequestError, ApiUnavailable
from pms_bridge.sinks.opendental_outcomes import PushReport
from pms_bridge.sinks.opendental_requests import (
    get_all,
    marked_key,
    od_datetime,
    od_num,
)
from pms_bridge.sinks.opendental_settings import TaskSinkSettings
from pms_bridge.sinks.pushes import PushRecord

# Clock difference and time zones between us and the office's server: search this much earlier.
WINDOW_MARGIN = timedelta(days=1)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def window_start(records: Iterable[PushRecord]) -> datetime:
    """Earliest time a record's remote copy can have been created (GET /tasks defaults to the last 14 days)."""
    times = [_wall_clock()]
    for rec in records:
        times.append(rec.created_at)
        if rec.remote_created is not None:
            times.append(rec.remote_created)
    return min(times) - WINDOW_MARGIN


def best_copy(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Of several copies carrying one marker, the one to keep: not Done first, then the oldest."""
    if not rows:
        return None
    return min(rows, key=lambda r: (str(r.get("TaskStatus")) == "Done", int(od_num(r.get("TaskNum")) or 0)))


def resolve_task_lists(client: ApiClient, settings: TaskSinkSettings, where: str) -> dict[str, int]:
    """Role -> TaskListNum; names are looked up (case-insensitive) in GET /tasklists."""
    resolved = {role: ref for role, ref in settings.task_lists.items() if isinstance(ref, int)}
    named = {role: ref for role, ref in settings.task_lists.items() if isinstance(ref, str)}
    if not named:
        return resolved
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in get_all(client, "/tasklists", {}):
        if od_num(row.get("TaskListNum")):
            found[str(row.get("Descript") or "").strip().casefold()].append(row)
    names = sorted({str(r.get("Descript") or "").strip() for rows in found.values() for r in rows} - {""})
    for role, name in named.items():
        rows = found.get(name.strip().casefold(), [])
        active = [r for r in rows if str(r.get("TaskListStatus") or "Active") != "Archived"]
        rows = active or rows
        if not rows:
            listed = ", ".join(repr(n) for n in names) if names else "none"
            raise ConfigError(
                f"{where}.task_lists.{role}: Open Dental has no task list named {name!r} "
                f"(task lists found: {listed}); give an existing name or its TaskListNum"
            )
        if len(rows) > 1:
            nums = ", ".join(sorted(str(od_num(r.get("TaskListNum"))) for r in rows))
            raise ConfigError(
                f"{where}.task_lists.{role}: {len(rows)} Open Dental task lists are named {name!r} "
                f"(TaskListNum {nums}); give the TaskListNum instead"
            )
        resolved[role] = int(od_num(rows[0].get("TaskListNum")) or 0)
    return resolved


@dataclass
class Remote:
    """What Open Dental holds for the watched push records."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # TaskNum -> task
    by_marker: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unread_lists: set[str] = field(default_factory=set)  # lists whose tasks could not be read this run
    gone: set[str] = field(default_factory=set)  # TaskNums in no task list any more (deleted)
    unknown: set[str] = field(default_factory=set)  # TaskNums whose fate could not be checked

    def add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            num = od_num(row.get("TaskNum"))
            if num is None or num in self.rows:
                continue
            self.rows[num] = row
            key = marked_key(row.get("Descript")) or marked_key(row.get("DescriptOverride"))
            if key:
                self.by_marker[key].append(row)


def read_back(client: ApiClient, tz: ZoneInfo, watched: list[PushRecord], report: PushReport) -> Remote:
    """Every task of the lists we wrote to, since the oldest watched push (explicitly: the default is 14 days)."""
    remote = Remote()
    by_list: dict[str, list[PushRecord]] = defaultdict(list)
    for rec in watched:
        if rec.target is not None:
            by_list[rec.target].append(rec)
    for list_num in sorted(by_list, key=int):
        params = {
            "TaskListNum": list_num,
            "DateTimeOriginal": od_datetime(window_start(by_list[list_num]), tz),
        }
        try:
            remote.add(get_all(client, "/tasks", params))
        except (ApiRequestError, ApiUnavailable) as exc:
            remote.unread_lists.add(list_num)
            report.errors.append(f"task list {list_num}: {exc}")
    missing = [
        r for r in watched if r.remote_id and r.target not in remote.unread_lists and r.remote_id not in remote.rows
    ]
    if missing:
        # Moved to another list, or deleted: one look across all lists tells which.
        params = {"DateTimeOriginal": od_datetime(window_start(missing), tz)}
        try:
            remote.add(get_all(client, "/tasks", params))
            remote.gone = {r.remote_id for r in missing if r.remote_id not in remote.rows}  # type: ignore[misc]
        except (ApiRequestError, ApiUnavailable) as exc:
            remote.unknown.update(r.remote_id for r in missing if r.remote_id)
            report.errors.append(f"all task lists: {exc}")
    remote.unknown.update(r.remote_id for r in watched if r.remote_id and r.target in remote.unread_lists)
    return remote
