"""Open Dental task lists kept in line with the ledger (``[[sinks]] type = "opendental-tasks"``).

One Open Dental task per ledger task, in the task list of the task's coordinator role: created
when the ledger task opens, its text updated in place, marked Done when the ledger task closes;
a task a person marks Done (or deletes) in Open Dental is dismissed in the ledger.

Crash safety: Open Dental has no external-id field, so every text we write ends with a marker
line ``[pms-bridge KEY]``; a write is recorded as pending (``sinks.pushes``) before it is sent
and as sent after, and a pending record left by a crash, or a POST whose answer was lost, is
resolved by looking for the marker before anything is sent again.

Per-item errors stay per item: a stale appointment reference is attached to the patient, a stale
patient fails that task alone, and an office too old to set a task's status (before 24.2.10)
is one warning while tasks are still created and updated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel

from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiRequestError,
    ApiUnavailable,
    ApiVersionTooOld,
)
from pms_bridge.connectors.opendental_versions import version_floor
from pms_bridge.ledger import Ledger, Task, TaskNotFound
from pms_bridge.sinks.opendental_links import send_linked, task_link
from pms_bridge.sinks.opendental_outcomes import Calls, PushReport, with_hint
from pms_bridge.sinks.opendental_remote import (
    Remote,
    best_copy,
    read_back,
    resolve_task_lists,
    window_start,
)
from pms_bridge.sinks.opendental_requests import (
    create_checked,
    get_all,
    marked_key,
    od_datetime,
    od_num,
    parse_od_datetime,
    task_text,
)
from pms_bridge.sinks.opendental_settings import (
    TaskSinkSettings,
    parse_settings,
    sink_table,
    sink_where,
)
from pms_bridge.sinks.pushes import PushLedger, PushRecord
from pms_bridge.store import Store

log = structlog.get_logger("pms_bridge.sinks.opendental")

TASKS_SINK = "opendental-tasks"
NOT_WRITTEN = "not written to Open Dental; the next run tries again"
NOT_CHANGED = "not changed in Open Dental; the next run tries again"

T = TypeVar("T")


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
        self.calls = Calls(report)
        self.tz = store.practice.tz
        self.pushes = PushLedger(store, TASKS_SINK)
        self.records = self.pushes.load()
        self.tasks = {t.key: t for t in tasks}
        self.status = {t.key: t.status for t in tasks}
        self.status_refused: ApiVersionTooOld | None = None  # the office is older than 24.2.10
        self.left_open = 0  # resolved here, still open in Open Dental because of that

    # -------------------------------------------------------------- plan

    def run(self) -> None:
        watched = [
            r
            for r in self.records.values()
            if r.key in self.tasks and (r.state != "closed" or self.status[r.key] == "open")
        ]
        remote = read_back(self.client, self.tz, watched, self.report)
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
        warning = self.status_warning()
        if warning:
            self.report.warn(warning)

    def _reconcile(
        self,
        rec: PushRecord,
        remote: Remote,
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
            row = best_copy(remote.by_marker.get(key, []))
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
        if row.get("TaskListNum") is not None and od_num(row.get("TaskListNum")) != rec.target:
            self._save(rec, target=od_num(row.get("TaskListNum")))  # a person moved it: follow it
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
        return {
            "TaskListNum": list_num,
            "UserNum": self.settings.user_num,
            "Descript": task_text(task),
            **task_link(task),
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
            remote_id=od_num(row.get("TaskNum")),
            state="sent",
            target=od_num(row.get("TaskListNum")) or rec.target,
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
        params = {"TaskListNum": list_num, "DateTimeOriginal": od_datetime(window_start([rec]), self.tz)}
        rows = [r for r in get_all(self.client, "/tasks", params) if marked_key(r.get("Descript")) == rec.key]
        return best_copy(rows)

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

        def create(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            return create_checked(self.client, "/tasks", body, lambda: self._find(list_num, rec), "TaskNum")

        ok, result = self.calls.run(key, lambda: send_linked(create, payload, task, NOT_WRITTEN))
        if not ok or result is None:
            return
        (row, _found), sent = result
        # The record keeps the hash of what the ledger asked for (the appointment), so a copy attached
        # to the patient instead is not rewritten every night; the next real change tries the link again.
        if sent is not payload:
            self.report.attached_to_patient += 1
        self._save(
            rec,
            state="sent",
            remote_id=od_num(row.get("TaskNum")),
            target=od_num(row.get("TaskListNum")) or str(list_num),
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
        if reopen and self.status_refused is not None:
            self._post(key)  # the office cannot set a task back to New: a new copy instead
            return
        body: dict[str, Any] = {"Descript": payload["Descript"]}
        if od_num(row.get("KeyNum")) != str(payload["KeyNum"]) or str(row.get("ObjectType")) != payload["ObjectType"]:
            body.update(KeyNum=payload["KeyNum"], ObjectType=payload["ObjectType"])
        if reopen:
            body["TaskStatus"] = "New"
        task = self.tasks[key]
        ok, answer = self.calls.run(
            key, lambda: self._put_status(lambda b: send_linked(self._sender(rec), b, task, NOT_CHANGED), body)
        )
        if not ok:
            return
        if isinstance(answer, ApiVersionTooOld):
            self._status_refused(answer)
            self._post(key)
            return
        _, sent = answer  # type: ignore[misc]
        if sent.get("ObjectType") == "Patient" and payload["ObjectType"] == "Appointment":
            self.report.attached_to_patient += 1
        self._save(rec, state="sent", text_hash=new_hash)
        if reopen:
            self.report.reopened += 1
        else:
            self.report.updated += 1

    def _close(self, rec: PushRecord) -> None:
        if self.status_refused is not None:
            self.left_open += 1
            return
        body = {"TaskStatus": "Done"}
        ok, answer = self.calls.run(rec.key, lambda: self._put_status(self._sender(rec), body))
        if not ok:
            return
        if isinstance(answer, ApiVersionTooOld):
            self._status_refused(answer)
            self.left_open += 1
            return
        self._save(rec, state="closed")
        self.report.closed += 1

    # ------------------------------------------------------ task status (24.2.10+)

    def _sender(self, rec: PushRecord) -> Callable[[dict[str, Any]], httpx.Response]:
        return lambda body: self.client.request("PUT", f"/tasks/{rec.remote_id}", json=body)

    @staticmethod
    def _put_status(send: Callable[[dict[str, Any]], T], body: dict[str, Any]) -> T | ApiVersionTooOld:
        """Send a PUT; an office too old for the TaskStatus it carries is an answer, not a failure."""
        try:
            return send(body)
        except ApiVersionTooOld as exc:
            if "TaskStatus" not in body:
                raise
            return exc

    def _status_refused(self, exc: ApiVersionTooOld) -> None:
        if self.status_refused is None:
            self.status_refused = exc
            log.warning("sink.version_too_old", sink=TASKS_SINK, feature="TaskStatus")

    def status_warning(self) -> str | None:
        """Once per run, however many tasks it touched: the office's version cannot set a task's status."""
        if self.status_refused is None:
            return None
        floor = self.status_refused.floor or version_floor("PUT", "/tasks/0", None, {"TaskStatus": "Done"})
        text = floor.message() if floor else str(self.status_refused)
        return f"{text} ({self.left_open} task(s) left open there this run)" if self.left_open else text


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
    table = sink_table(sink)
    where = sink_where(table, index)
    settings = parse_settings(TaskSinkSettings, table, where)
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
        raise with_hint(exc, where, hint) from None
    roles_without_list = sorted({t.role for t in tasks if t.status == "open"} - set(lists))
    log.info(
        "sink.pushed",
        sink=TASKS_SINK,
        **{k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")},
        warnings=len(report.warnings),
        roles_without_list=roles_without_list,
    )
    return report
