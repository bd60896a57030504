"""The task ledger pushed into Open Dental: task lists, or commlog notes as a fallback.

``push_tasks`` keeps one Open Dental task per ledger task in the task list of
the task's coordinator role: created when the ledger task opens, its text
updated in place, marked Done when the ledger task closes; a task a person
marks Done (or deletes) in Open Dental is dismissed in the ledger.
``push_commlogs`` writes one commlog note per open task, once.

Crash safety: Open Dental has no external-id field, so every text we write
ends with a marker line ``[pms-bridge KEY]``; a write is recorded as pending
(``sinks.pushes``) before it is sent and as sent after, and a pending record
left by a crash, or a POST whose answer was lost, is resolved by looking for
the marker before anything is sent again. Texts hold codes, dates and the fix
hint, never a patient's name; logs and errors hold keys and counts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar, get_args
from zoneinfo import ZoneInfo

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pms_bridge.config import ConfigError
from pms_bridge.config.models import Role
from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiRequestError,
    ApiUnavailable,
    RetryPolicy,
)
from pms_bridge.ledger import Ledger, Task, TaskNotFound
from pms_bridge.sinks.pushes import PushLedger, PushRecord
from pms_bridge.store import Store

log = structlog.get_logger("pms_bridge.sinks.opendental")

TASKS_SINK = "opendental-tasks"
COMMLOG_SINK = "opendental-commlog"
ROLES: tuple[str, ...] = get_args(Role)

PAGE_SIZE = 100  # Open Dental's page (Remote API); the Local API and API Service may return more
# Clock difference and time zones between us and the office's server: search this much earlier.
WINDOW_MARGIN = timedelta(days=1)
# After this many requests in a row still failing after their retries, the API is down: stop the sink.
MAX_CONSECUTIVE_UNAVAILABLE = 3

_MARKER = re.compile(r"\[pms-bridge ([^\]\r\n]+)\]")
_OD_DATETIME = "%Y-%m-%d %H:%M:%S"

T = TypeVar("T")


# ------------------------------------------------------------------ settings


class _SinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The keys every [[sinks]] table has (see config.models.SinkSection); unused here.
    type: str
    path: Any = None
    status: Any = None


TaskListRef = Annotated[int, Field(strict=True, ge=1)] | Annotated[str, Field(min_length=1)]


class TaskSinkSettings(_SinkSettings):
    """``[[sinks]] type = "opendental-tasks"``."""

    user_num: int = Field(strict=True, ge=1, description="The Open Dental user (UserNum) tasks are created as.")
    task_lists: dict[Role, TaskListRef] = Field(
        min_length=1, description="Coordinator role -> task list name or TaskListNum; roles left out are not pushed."
    )


class CommlogSinkSettings(_SinkSettings):
    """``[[sinks]] type = "opendental-commlog"``."""

    comm_type: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        description="CommType DefNum (category 27); 0 or absent: Open Dental's default.",
    )


def _where(sink: dict[str, Any], index: int | None) -> str:
    return f"sinks[{index}]" if index is not None else f"sinks[{sink.get('type', '?')}]"


def _sink_dict(sink: Any) -> dict[str, Any]:
    return sink.model_dump() if isinstance(sink, BaseModel) else dict(sink)


def _settings(model: type[T], sink: dict[str, Any], where: str) -> T:
    try:
        return model.model_validate(sink)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if loc[:1] == ["task_lists"] and len(loc) >= 2:
                role = loc[1]
                if "[key]" in loc:
                    text = f"{where}.task_lists.{role}: not a coordinator role; use one of {', '.join(ROLES)}"
                else:
                    text = f"{where}.task_lists.{role}: give a task list name or a TaskListNum (a whole number >= 1)"
            elif loc == ["task_lists"] and err["type"] == "too_short":
                text = f'{where}.task_lists: map at least one role to a task list, e.g. patient = "Patient Coordinator"'
            else:
                key = ".".join(loc) or "(table)"
                msg = err["msg"].removeprefix("Value error, ")
                hint = " (add it)" if err["type"] == "missing" else ""
                if err["type"] == "extra_forbidden":
                    allowed = ", ".join(k for k in model.model_fields if k not in _SinkSettings.model_fields)  # type: ignore[attr-defined]
                    hint = f" (check the spelling; this sink takes: {allowed})"
                text = f"{where}.{key}: {msg}{hint}"
            if text not in problems:
                problems.append(text)
        raise ConfigError("\n".join(problems)) from None


# -------------------------------------------------------------------- report


@dataclass
class PushReport:
    created: int = 0
    updated: int = 0
    closed: int = 0
    dismissed_from_pms: int = 0  # ledger tasks dismissed because a person closed (or deleted) them in Open Dental
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # "KEY: what" (no patient data)
    adopted: int = 0  # copies found by their marker after a crash or a lost answer, instead of a second write
    reopened: int = 0  # closed Open Dental tasks set back to New because the ledger task opened again
    skipped: int = 0  # open tasks of a role with no task list in the config
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------- helpers


def marker(key: str) -> str:
    """The line that lets a copy written by pms-bridge be recognised in Open Dental."""
    return f"[pms-bridge {key}]"


def marked_key(text: Any) -> str | None:
    match = _MARKER.search(str(text or ""))
    return match.group(1).strip() if match else None


def task_text(task: Task) -> str:
    """Short and without the patient's name: title - how to fix - due date - rule code, then the marker."""
    return f"{task.title} - {task.fix} - due {task.due.isoformat()} - {task.rule}\n{marker(task.key)}"


def _num(value: Any) -> str | None:
    """Open Dental ids arrive as numbers or as strings of digits."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return str(number) if number > 0 else None


def od_datetime(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime(_OD_DATETIME)


def parse_od_datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    try:
        parsed = datetime.strptime(str(value), _OD_DATETIME)
    except (TypeError, ValueError):
        return None
    return None if parsed.year < 1900 else parsed.replace(tzinfo=tz)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _window_start(records: Iterable[PushRecord]) -> datetime:
    """Earliest time a record's remote copy can have been created (GET /tasks defaults to the last 14 days)."""
    times = [_wall_clock()]
    for rec in records:
        times.append(rec.created_at)
        if rec.remote_created is not None:
            times.append(rec.remote_created)
    return min(times) - WINDOW_MARGIN


def get_all(client: ApiClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a list method, paging with Offset until a short page."""
    rows: list[dict[str, Any]] = []
    while True:
        page_params = dict(params)
        if rows:
            page_params["Offset"] = len(rows)
        page = _json(client.request("GET", path, params=page_params))
        if not isinstance(page, list):
            raise ApiRequestError(f"GET {path}: the answer is not a list")
        rows.extend(r for r in page if isinstance(r, dict))
        if len(page) < PAGE_SIZE:
            return rows


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _request_once(client: ApiClient, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """One attempt, no retry: a retried POST whose first answer was lost would write a second copy."""
    saved = client.retry
    client.retry = RetryPolicy(attempts=1, initial=saved.initial, maximum=saved.maximum, jitter=saved.jitter)
    try:
        return client.request(method, path, json=body)
    finally:
        client.retry = saved


def create_checked(
    client: ApiClient, path: str, body: dict[str, Any], find: Callable[[], dict[str, Any] | None], id_field: str
) -> tuple[dict[str, Any], bool]:
    """POST without duplicates: after a transient failure, look for the copy (by marker) before posting again.

    Returns the created row and whether it was found rather than answered.
    """
    attempts = max(1, client.retry.attempts)
    for attempt in range(1, attempts + 1):
        try:
            row = _json(_request_once(client, "POST", path, body))
        except ApiUnavailable:
            found = find()
            if found is not None:
                return found, True
            if attempt == attempts:
                raise ApiUnavailable(
                    f"POST {path} still failing after {attempts} attempts; the office server, its eConnector "
                    "or the API may be down: the next run will try again"
                ) from None
            client.pacer.sleep(min(client.retry.maximum, client.retry.initial * 2 ** (attempt - 1)))
            continue
        if isinstance(row, dict) and _num(row.get(id_field)):
            return row, False
        # Older versions answer 201 without the object: read it back by its marker.
        found = find()
        if found is not None:
            return found, True
        raise ApiRequestError(f"POST {path}: the answer has no {id_field}")
    raise AssertionError("unreachable")


def _best(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Of several copies carrying one marker, the one to keep: not Done first, then the oldest."""
    if not rows:
        return None
    return min(rows, key=lambda r: (str(r.get("TaskStatus")) == "Done", int(_num(r.get("TaskNum")) or 0)))


class _Calls:
    """Runs one task's requests: request errors are recorded and the sink goes on; config errors propagate."""

    def __init__(self, report: PushReport) -> None:
        self.report = report
        self.consecutive_unavailable = 0
        self.stopped = False

    def fail(self, key: str, what: str) -> None:
        self.report.failed += 1
        self.report.errors.append(f"{key}: {what}")

    def halted(self) -> bool:
        """After the sink stopped, every further task counts as failed and nothing is recorded or sent."""
        if self.stopped:
            self.report.failed += 1
        return self.stopped

    def run(self, key: str, call: Callable[[], T]) -> tuple[bool, T | None]:
        if self.halted():
            return False, None
        try:
            result = call()
        except ApiUnavailable as exc:
            self.fail(key, str(exc))
            self.consecutive_unavailable += 1
            if self.consecutive_unavailable >= MAX_CONSECUTIVE_UNAVAILABLE:
                self.stopped = True
                self.report.errors.append(
                    f"stopped: Open Dental failed {self.consecutive_unavailable} tasks in a row after retries; "
                    "the rest waits for the next run"
                )
            return False, None
        except ApiRequestError as exc:
            self.consecutive_unavailable = 0
            self.fail(key, str(exc))
            return False, None
        self.consecutive_unavailable = 0
        return True, result


def _with_hint(exc: ApiConfigError, where: str, hint: str) -> ApiConfigError:
    return ApiConfigError(f"{exc}; {where}: {hint}")


# --------------------------------------------------------------------- tasks


def resolve_task_lists(client: ApiClient, settings: TaskSinkSettings, where: str) -> dict[str, int]:
    """Role -> TaskListNum; names are looked up (case-insensitive) in GET /tasklists."""
    resolved = {role: ref for role, ref in settings.task_lists.items() if isinstance(ref, int)}
    named = {role: ref for role, ref in settings.task_lists.items() if isinstance(ref, str)}
    if not named:
        return resolved
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in get_all(client, "/tasklists", {}):
        if _num(row.get("TaskListNum")):
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
            nums = ", ".join(sorted(str(_num(r.get("TaskListNum"))) for r in rows))
            raise ConfigError(
                f"{where}.task_lists.{role}: {len(rows)} Open Dental task lists are named {name!r} "
                f"(TaskListNum {nums}); give the TaskListNum instead"
            )
        resolved[role] = int(_num(rows[0].get("TaskListNum")) or 0)
    return resolved


@dataclass
class _Remote:
    """What Open Dental holds for the watched push records."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # TaskNum -> task
    by_marker: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unread_lists: set[str] = field(default_factory=set)  # lists whose tasks could not be read this run
    gone: set[str] = field(default_factory=set)  # TaskNums in no task list any more (deleted)
    unknown: set[str] = field(default_factory=set)  # TaskNums whose fate could not be checked

    def add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            num = _num(row.get("TaskNum"))
            if num is None or num in self.rows:
                continue
            self.rows[num] = row
            key = marked_key(row.get("Descript")) or marked_key(row.get("DescriptOverride"))
            if key:
                self.by_marker[key].append(row)


class _TaskPush:
    def __init__(
        self,
        client: ApiClient,
        store: Store,
        settings: TaskSinkSettings,
        lists: dict[str, int],
        tasks: list[Task],
        now: datetime,
        run_id: int | None,
        report: PushReport,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.lists = lists
        self.now = now
        self.run_id = run_id
        self.report = report
        self.calls = _Calls(report)
        self.tz = store.practice.tz
        self.pushes = PushLedger(store, TASKS_SINK)
        self.records = self.pushes.load()
        self.tasks = {t.key: t for t in tasks}
        self.status = {t.key: t.status for t in tasks}

    # -------------------------------------------------------------- plan

    def run(self) -> None:
        watched = [
            r
            for r in self.records.values()
            if r.key in self.tasks and (r.state != "closed" or self.status[r.key] == "open")
        ]
        remote = self._read_back(watched)
        posts: list[str] = []
        updates: list[tuple[PushRecord, dict[str, Any], bool]] = []
        closes: list[PushRecord] = []
        for rec in watched:
            self._reconcile(rec, remote, posts, updates, closes)
        for key in sorted(self.tasks):
            if self.status[key] == "open" and key not in self.records:
                posts.append(key)
        for key in sorted(set(posts)):
            self._post(key)
        for rec, row, reopen in updates:
            self._update(rec, row, reopen)
        for rec in closes:
            self._close(rec)

    def _read_back(self, watched: list[PushRecord]) -> _Remote:
        """Every task of the lists we wrote to, since the oldest watched push (explicitly: the default is 14 days)."""
        remote = _Remote()
        by_list: dict[str, list[PushRecord]] = defaultdict(list)
        for rec in watched:
            if rec.target is not None:
                by_list[rec.target].append(rec)
        for list_num in sorted(by_list, key=int):
            params = {
                "TaskListNum": list_num,
                "DateTimeOriginal": od_datetime(_window_start(by_list[list_num]), self.tz),
            }
            try:
                remote.add(get_all(self.client, "/tasks", params))
            except (ApiRequestError, ApiUnavailable) as exc:
                remote.unread_lists.add(list_num)
                self.report.errors.append(f"task list {list_num}: {exc}")
        missing = [
            r for r in watched if r.remote_id and r.target not in remote.unread_lists and r.remote_id not in remote.rows
        ]
        if missing:
            # Moved to another list, or deleted: one look across all lists tells which.
            params = {"DateTimeOriginal": od_datetime(_window_start(missing), self.tz)}
            try:
                remote.add(get_all(self.client, "/tasks", params))
                remote.gone = {r.remote_id for r in missing if r.remote_id not in remote.rows}  # type: ignore[misc]
            except (ApiRequestError, ApiUnavailable) as exc:
                remote.unknown.update(r.remote_id for r in missing if r.remote_id)
                self.report.errors.append(f"all task lists: {exc}")
        remote.unknown.update(r.remote_id for r in watched if r.remote_id and r.target in remote.unread_lists)
        return remote

    def _reconcile(
        self,
        rec: PushRecord,
        remote: _Remote,
        posts: list[str],
        updates: list[tuple[PushRecord, dict[str, Any], bool]],
        closes: list[PushRecord],
    ) -> None:
        key = rec.key
        is_open = self.status[key] == "open"
        if rec.remote_id is None:  # pending: a crash or a failed POST may have left a copy
            if rec.target in remote.unread_lists:
                if is_open:
                    self.calls.fail(key, "could not check Open Dental for an earlier copy; the next run will")
                return
            row = _best(remote.by_marker.get(key, []))
            if row is None:
                if is_open:
                    posts.append(key)
                else:
                    self.pushes.delete(key)
                    del self.records[key]
                return
            self._adopt(rec, row)
        assert rec.remote_id is not None
        row = remote.rows.get(rec.remote_id)
        if row is None:
            if rec.remote_id in remote.gone:
                if rec.state == "closed" and is_open:
                    posts.append(key)  # reopened, and the old copy was deleted: write a new one
                    return
                if rec.state == "sent" and is_open:
                    self._dismiss(key, "deleted in Open Dental")
                self._save(rec, state="closed")
            elif (
                (is_open and rec.state == "closed")
                or (not is_open and rec.state == "sent")
                or (is_open and self._hash(key, rec) != rec.text_hash)
            ):
                self.calls.fail(key, f"task {rec.remote_id} could not be read back from Open Dental; not changed")
            return
        if row.get("TaskListNum") is not None and _num(row.get("TaskListNum")) != rec.target:
            self._save(rec, target=_num(row.get("TaskListNum")))  # a person moved it: follow it
        done = str(row.get("TaskStatus")) == "Done"
        if rec.state == "sent":
            if done:
                if is_open:
                    self._dismiss(key, "marked Done in Open Dental")
                self._save(rec, state="closed")
            elif not is_open:
                closes.append(rec)
            elif self._hash(key, rec) != rec.text_hash:
                updates.append((rec, row, False))
            else:
                self.report.unchanged += 1
        elif is_open:  # closed here, open again in the ledger
            updates.append((rec, row, done))

    # ------------------------------------------------------------ actions

    def _payload(self, task: Task, list_num: int) -> dict[str, Any]:
        if task.appointment_id:
            object_type, key_num = "Appointment", _num(task.appointment_id)
        else:
            object_type, key_num = "Patient", _num(task.patient_id)
        if key_num is None:
            raise ValueError(f"its {object_type.lower()} id is not an Open Dental number")
        return {
            "TaskListNum": list_num,
            "UserNum": self.settings.user_num,
            "Descript": task_text(task),
            "KeyNum": int(key_num),
            "ObjectType": object_type,
        }

    @staticmethod
    def _payload_hash(payload: dict[str, Any]) -> str:
        # The list is not part of it: a task stays in the list it was written to (or a person moved it to).
        text = json.dumps({k: payload[k] for k in ("Descript", "KeyNum", "ObjectType")}, sort_keys=True)
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def _hash(self, key: str, rec: PushRecord) -> str:
        try:
            return self._payload_hash(self._payload(self.tasks[key], int(rec.target or 0)))
        except ValueError:
            return rec.text_hash

    def _save(self, rec: PushRecord, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(rec, name, value)
        rec.updated_at = self.now
        rec.run_id = self.run_id
        self.pushes.save(rec)

    def _adopt(self, rec: PushRecord, row: dict[str, Any]) -> None:
        self._save(
            rec,
            remote_id=_num(row.get("TaskNum")),
            state="sent",
            target=_num(row.get("TaskListNum")) or rec.target,
            remote_created=parse_od_datetime(row.get("DateTimeOriginal"), self.tz),
        )
        self.report.adopted += 1

    def _dismiss(self, key: str, reason: str) -> None:
        try:
            Ledger(self.store).dismiss(key, reason, self.now)
        except TaskNotFound:
            return
        self.status[key] = "dismissed"
        self.report.dismissed_from_pms += 1

    def _find(self, list_num: int, rec: PushRecord) -> dict[str, Any] | None:
        params = {"TaskListNum": list_num, "DateTimeOriginal": od_datetime(_window_start([rec]), self.tz)}
        rows = [r for r in get_all(self.client, "/tasks", params) if marked_key(r.get("Descript")) == rec.key]
        return _best(rows)

    def _post(self, key: str) -> None:
        task = self.tasks[key]
        rec = self.records.get(key)
        list_num = self.lists.get(task.role)
        if list_num is None:
            self.report.skipped += 1
            if rec is not None and rec.state == "pending":
                self.pushes.delete(key)
                del self.records[key]
            return
        try:
            payload = self._payload(task, list_num)
        except ValueError as exc:
            self.calls.fail(key, str(exc))
            return
        if self.calls.halted():
            return
        if rec is None or rec.state != "pending":
            rec = PushRecord(key=key, state="pending", text_hash="", created_at=self.now, updated_at=self.now)
            self.records[key] = rec
        # Recorded before it is sent: a crash from here on leaves a pending record, resolved by the marker.
        self._save(
            rec,
            state="pending",
            remote_id=None,
            target=str(list_num),
            text_hash=self._payload_hash(payload),
            remote_created=None,
        )
        ok, result = self.calls.run(
            key, lambda: create_checked(self.client, "/tasks", payload, lambda: self._find(list_num, rec), "TaskNum")
        )
        if not ok or result is None:
            return
        row, _found = result
        self._save(
            rec,
            state="sent",
            remote_id=_num(row.get("TaskNum")),
            target=_num(row.get("TaskListNum")) or str(list_num),
            remote_created=parse_od_datetime(row.get("DateTimeOriginal"), self.tz),
        )
        self.report.created += 1

    def _update(self, rec: PushRecord, row: dict[str, Any], reopen: bool) -> None:
        key = rec.key
        try:
            payload = self._payload(self.tasks[key], int(rec.target or 0))
        except ValueError as exc:
            self.calls.fail(key, str(exc))
            return
        new_hash = self._payload_hash(payload)
        if not reopen and rec.state == "closed" and new_hash == rec.text_hash:
            # A person set it back from Done already: nothing to write.
            self._save(rec, state="sent")
            self.report.unchanged += 1
            return
        body: dict[str, Any] = {"Descript": payload["Descript"]}
        if _num(row.get("KeyNum")) != str(payload["KeyNum"]) or str(row.get("ObjectType")) != payload["ObjectType"]:
            body.update(KeyNum=payload["KeyNum"], ObjectType=payload["ObjectType"])
        if reopen:
            body["TaskStatus"] = "New"
        ok, _ = self.calls.run(key, lambda: self.client.request("PUT", f"/tasks/{rec.remote_id}", json=body))
        if not ok:
            return
        self._save(rec, state="sent", text_hash=new_hash)
        if reopen:
            self.report.reopened += 1
        else:
            self.report.updated += 1

    def _close(self, rec: PushRecord) -> None:
        body = {"TaskStatus": "Done"}
        ok, _ = self.calls.run(rec.key, lambda: self.client.request("PUT", f"/tasks/{rec.remote_id}", json=body))
        if ok:
            self._save(rec, state="closed")
            self.report.closed += 1


def push_tasks(
    client: ApiClient,
    store: Store,
    sink: dict[str, Any] | BaseModel,
    tasks: list[Task],
    *,
    now: datetime,
    run_id: int | None,
    index: int | None = None,
) -> PushReport:
    """Bring Open Dental's task lists in line with the ledger (call once per run, after the ledger update).

    ``tasks`` is every ledger task (all statuses); ``sink`` the ``[[sinks]]`` table and ``index`` its
    position (for error messages). Raises ConfigError for bad settings or an unknown task list name,
    ApiConfigError when Open Dental refuses the keys or permissions; a request error for one task is
    counted in the report and the sink goes on.
    """
    table = _sink_dict(sink)
    where = _where(table, index)
    settings = _settings(TaskSinkSettings, table, where)
    report = PushReport()
    hint = (
        "writing Open Dental tasks needs the customer key's 'AllOthers' API permission (the $30 tier); "
        'without it use type = "opendental-commlog"'
    )
    try:
        try:
            lists = resolve_task_lists(client, settings, where)
        except (ApiRequestError, ApiUnavailable) as exc:
            report.failed += 1
            report.errors.append(f"task lists: {exc}")
            return report
        _TaskPush(client, store, settings, lists, tasks, now, run_id, report).run()
    except ApiConfigError as exc:
        raise _with_hint(exc, where, hint) from None
    roles_without_list = sorted({t.role for t in tasks if t.status == "open"} - set(lists))
    log.info(
        "sink.pushed",
        sink=TASKS_SINK,
        **{k: v for k, v in report.as_dict().items() if k != "errors"},
        roles_without_list=roles_without_list,
    )
    return report


# ------------------------------------------------------------------ commlogs


def push_commlogs(
    client: ApiClient,
    store: Store,
    sink: dict[str, Any] | BaseModel,
    tasks: list[Task],
    *,
    now: datetime,
    run_id: int | None,
    index: int | None = None,
) -> PushReport:
    """One commlog note in the patient's chart per open task, once per task key.

    The fallback for practices without the paid API tier that task writes need:
    creating or updating a task is an "AllOthers" API permission (Open Dental's
    $30 tier), while creating a commlog only needs "Comm" (the $15 tier). A
    commlog is a note, not a to-do: it is never updated or closed, and a task
    that opens again later is not noted a second time.
    """
    table = _sink_dict(sink)
    where = _where(table, index)
    settings = _settings(CommlogSinkSettings, table, where)
    report = PushReport()
    calls = _Calls(report)
    pushes = PushLedger(store, COMMLOG_SINK)
    records = pushes.load()
    tz = store.practice.tz

    def save(rec: PushRecord, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(rec, name, value)
        rec.updated_at = now
        rec.run_id = run_id
        pushes.save(rec)

    def find(pat_num: str, key: str) -> dict[str, Any] | None:
        rows = [r for r in get_all(client, "/commlogs", {"PatNum": pat_num}) if marked_key(r.get("Note")) == key]
        return min(rows, key=lambda r: int(_num(r.get("CommlogNum")) or 0)) if rows else None

    def adopt(rec: PushRecord, row: dict[str, Any]) -> None:
        remote_created = parse_od_datetime(row.get("DateTEntry") or row.get("CommDateTime"), tz)
        save(rec, state="sent", remote_id=_num(row.get("CommlogNum")), remote_created=remote_created)

    try:
        for task in sorted(tasks, key=lambda t: t.key):
            key = task.key
            rec = records.get(key)
            if rec is not None and rec.state != "pending":
                continue  # noted already: never twice
            if rec is None and task.status != "open":
                continue
            pat_num = _num(task.patient_id)
            if pat_num is None:
                calls.fail(key, "its patient id is not an Open Dental PatNum")
                continue
            if rec is not None:  # pending: a crash or a lost answer may have left the note
                ok, found = calls.run(key, lambda: find(pat_num, key))  # noqa: B023 - called at once
                if not ok:
                    continue
                if found is not None:
                    adopt(rec, found)
                    report.adopted += 1
                    continue
                if task.status != "open":
                    pushes.delete(key)
                    continue
            else:
                rec = PushRecord(key=key, state="pending", text_hash="", created_at=now, updated_at=now)
            if calls.halted():
                continue
            note = task_text(task)
            body: dict[str, Any] = {"PatNum": int(pat_num), "Note": note, "Mode_": "None", "SentOrReceived": "Neither"}
            if settings.comm_type:
                body["CommType"] = settings.comm_type
            text_hash = hashlib.sha1(note.encode(), usedforsecurity=False).hexdigest()
            save(rec, state="pending", target=pat_num, text_hash=text_hash)  # before it is sent
            ok, result = calls.run(
                key,
                lambda: create_checked(client, "/commlogs", body, lambda: find(pat_num, key), "CommlogNum"),  # noqa: B023
            )
            if not ok or result is None:
                continue
            adopt(rec, result[0])
            report.created += 1
    except ApiConfigError as exc:
        raise _with_hint(
            exc, where, "writing commlogs needs the customer key's 'Comm' API permission (the $15 tier)"
        ) from None
    log.info("sink.pushed", sink=COMMLOG_SINK, **{k: v for k, v in report.as_dict().items() if k != "errors"})
    return report
