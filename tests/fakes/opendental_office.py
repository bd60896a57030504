"""The office side of the fake Open Dental API: task lists, tasks and commlogs (apitasklists.html,
apitasks.html, apicommlogs.html), and what people do with them in Open Dental.

A mixin of FakeOpenDental; it uses the fake's clock (``now``), tables and paging.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .opendental_shapes import (
    Reply,
    bad,
    body_datetime,
    body_int,
    fmt_datetime,
    json_object,
    parse_dt,
    parse_param_datetime,
    to_int,
)

TASK_STATUSES = ("New", "Viewed", "Done")
TASK_OBJECT_TYPES = ("None", "Patient", "Appointment")
COMM_MODES = ("None", "Email", "Mail", "Phone", "In Person", "Text", "Email and Text", "Phone and Text")
SENT_OR_RECEIVED = ("Neither", "Sent", "Received")
NO_DATE, NO_DATETIME = "0001-01-01", "0001-01-01 00:00:00"
TASK_WINDOW = timedelta(days=14)  # GET /tasks without DateTimeOriginal: "the previous 14 days"

Query = dict[str, str]
Version = tuple[int, int, int]
NEW_ENOUGH: Version = (24, 3, 10)  # the branch the fake's shapes and enums were checked against (24_3)

# Calls an older office refuses with 400 (apiimplementation.html lists 400 for a practice whose version is
# too old for the method). The floors are the version notes of apitasks.html (TaskStatus in PUT, 24.2.10),
# apiclaims.html (list without PatNum, and SecDateTEdit, 23.3.11), apiinsverifies.html (list, 23.2.23),
# apipatplans.html and apirefattaches.html (GET, 22.4.27), apiclaimprocs.html (list, 22.2.33); the engine's side of the same floors is
# src/pms_bridge/connectors/opendental_versions.py.
# Open Dental does not document the body's wording: this one is a stand-in that speaks of the version.
VERSION_GATES: tuple[tuple[str, str, Version, Callable[[Query, Any], bool]], ...] = (
    ("PUT", r"/tasks/\d+", (24, 2, 10), lambda q, body: isinstance(body, dict) and "TaskStatus" in body),
    ("GET", "/claims", (23, 3, 11), lambda q, body: not q.get("PatNum") or bool(q.get("SecDateTEdit"))),
    ("GET", "/insverifies", (23, 2, 23), lambda q, body: True),
    ("GET", "/patplans", (22, 4, 27), lambda q, body: True),
    ("GET", "/refattaches", (22, 4, 27), lambda q, body: True),
    ("GET", "/claimprocs", (22, 2, 33), lambda q, body: True),
)


class OfficeDesk:
    now: datetime
    tables: dict[str, dict[int, dict[str, str]]]
    version: Version  # the office's Open Dental version

    def __init__(self) -> None:
        self.tasklists: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.commlogs: dict[int, dict[str, Any]] = {}

    # provided by FakeOpenDental
    def _page(self, q: Query, items: list[Any], cap: int | None = None) -> list[Any]: raise NotImplementedError
    def _int(self, q: Query, name: str) -> int | None: raise NotImplementedError
    def def_name(self, def_num: str) -> str: raise NotImplementedError

    def _now(self) -> str:
        return fmt_datetime(self.now)

    def _refuse_if_too_old(self, method: str, path: str, q: Query, body: Any) -> None:
        """400 for a call the office's version is too old for."""
        for gate_method, pattern, floor, applies in VERSION_GATES:
            if (method == gate_method and re.fullmatch(pattern, path.rstrip("/")) and self.version < floor
                    and applies(q, body)):
                have, need = ".".join(map(str, self.version)), ".".join(map(str, floor))
                raise bad(f"This method requires Open Dental version {need} or later; this office runs {have}.")

    # ------------------------------------------------------------ what people do in Open Dental
    def add_tasklist(self, name: str, *, parent: int = 0, status: str = "Active") -> int:
        num = max(self.tasklists, default=0) + 1
        self.tasklists[num] = {
            "TaskListNum": num, "Descript": name, "Parent": parent, "DateTL": NO_DATE, "IsRepeating": "false",
            "DateType": "None", "FromNum": 0, "ObjectType": "None", "DateTimeEntry": self._now(),
            "TaskListStatus": status,
        }
        return num

    def mark_task_done(self, task_num: int) -> None:
        """A person marked the task Done in Open Dental."""
        self.tasks[task_num].update(TaskStatus="Done", DateTimeFinished=self._now(), SecDateTEdit=self._now())

    # ------------------------------------------------------------ endpoints
    def _get_tasklists(self, q: Query, _: Any) -> tuple[int, Any]:
        status = q.get("TaskListStatus") or "Active"
        if status not in ("Active", "Archived"):
            raise bad("Invalid TaskListStatus.")
        return 200, self._page(q, [t for _, t in sorted(self.tasklists.items()) if t["TaskListStatus"] == status])

    def _get_tasks(self, q: Query, _: Any) -> tuple[int, Any]:
        for param, allowed in (("TaskStatus", TASK_STATUSES), ("ObjectType", TASK_OBJECT_TYPES)):
            if q.get(param) and q[param] not in allowed:
                raise bad(f"{param} is invalid.")
        if q.get("KeyNum") and not q.get("ObjectType"):
            raise bad("ObjectType is required when KeyNum is specified.")
        try:
            since = (parse_param_datetime(q["DateTimeOriginal"]) if q.get("DateTimeOriginal")
                     else self.now - TASK_WINDOW)
        except ValueError:
            raise bad("DateTimeOriginal format must be yyyy-MM-dd HH:mm:ss") from None
        tasks = [t for _, t in sorted(self.tasks.items()) if (parse_dt(t["DateTimeOriginal"]) or since) >= since]
        for param in ("TaskListNum", "KeyNum"):
            if (want := self._int(q, param)) is not None:
                tasks = [t for t in tasks if t[param] == want]
        for param in ("TaskStatus", "ObjectType"):
            if q.get(param):
                tasks = [t for t in tasks if t[param] == q[param]]
        return 200, self._page(q, tasks)

    def _get_task(self, q: Query, _: Any, task_num: str) -> tuple[int, Any]:
        if int(task_num) not in self.tasks:
            raise Reply(404, "Task not found.")
        return 200, self.tasks[int(task_num)]

    def _post_task(self, q: Query, body: Any) -> tuple[int, Any]:
        body = json_object(body)
        list_num = body_int(body, "TaskListNum", required=True)
        descript = body.get("Descript")
        if not isinstance(descript, str) or not descript:
            raise bad("Descript is required.")
        user_num = body_int(body, "UserNum", required=True)
        if list_num not in self.tasklists:
            raise bad("TaskListNum is invalid.")
        key_num, object_type = self._task_link(body_int(body, "KeyNum"), body.get("ObjectType", "None"))
        override = _descript_override(body, "")
        priorities = sorted((r for r in self.tables.get("definition", {}).values() if r.get("Category") == "33"),
                            key=lambda r: to_int(r.get("ItemOrder")))
        priority = body_int(body, "PriorityDefNum") or (to_int(priorities[0]["DefNum"]) if priorities else 0)
        num = max(self.tasks, default=0) + 1
        self.tasks[num] = {
            "TaskNum": num, "TaskListNum": list_num, "DateTask": NO_DATE, "KeyNum": key_num, "Descript": descript,
            "TaskStatus": "New", "IsRepeating": "false", "DateType": "None", "FromNum": 0, "ObjectType": object_type,
            "DateTimeEntry": body_datetime(body, "DateTimeEntry") or self._now(), "UserNum": user_num,
            "DateTimeFinished": NO_DATETIME, "PriorityDefNum": priority, "ReminderGroupId": "",
            "ReminderType": "NoReminder", "ReminderFrequency": 0, "DateTimeOriginal": self._now(),
            "SecDateTEdit": self._now(), "DescriptOverride": override, "IsReadOnly": "false",
        }
        return 201, self.tasks[num]

    def _put_task(self, q: Query, body: Any, task_num: str) -> tuple[int, Any]:
        body = json_object(body)
        task = self.tasks.get(int(task_num))
        if task is None:
            raise Reply(404, "Task not found.")
        changes: dict[str, Any] = {}
        if "Descript" in body:
            if not isinstance(body["Descript"], str) or not body["Descript"]:
                raise bad("Descript is invalid.")
            changes["Descript"] = body["Descript"]
            if task["TaskStatus"] == "Done":  # documented: a new Descript turns a Done task into Viewed
                changes["TaskStatus"] = "Viewed"
        if "TaskStatus" in body:
            if body["TaskStatus"] not in TASK_STATUSES:
                raise bad("TaskStatus is invalid.")
            changes["TaskStatus"] = body["TaskStatus"]
        if "KeyNum" in body or "ObjectType" in body:
            changes["KeyNum"], changes["ObjectType"] = self._task_link(
                body_int(body, "KeyNum") if "KeyNum" in body else task["KeyNum"],
                body.get("ObjectType", task["ObjectType"]))
        if "DescriptOverride" in body:
            changes["DescriptOverride"] = _descript_override(body, task["DescriptOverride"])
        if "DateTimeEntry" in body:
            changes["DateTimeEntry"] = body_datetime(body, "DateTimeEntry") or task["DateTimeEntry"]
        if "PriorityDefNum" in body:
            changes["PriorityDefNum"] = body_int(body, "PriorityDefNum") or 0
        if changes.get("TaskStatus") == "Done" and task["TaskStatus"] != "Done":
            changes["DateTimeFinished"] = self._now()
        task.update(changes, SecDateTEdit=self._now())
        return 200, task

    def _task_link(self, key_num: int | None, object_type: Any) -> tuple[int, str]:
        if object_type not in TASK_OBJECT_TYPES:
            raise bad("ObjectType is invalid.")
        key_num = key_num or 0
        if key_num and object_type == "None":
            raise bad("ObjectType is required when KeyNum is specified.")
        table = {"Patient": "patient", "Appointment": "appointment"}.get(object_type)
        if table and key_num not in self.tables.get(table, {}):
            raise Reply(404, f"{object_type} not found.")
        return key_num, object_type

    def _get_commlogs(self, q: Query, _: Any) -> tuple[int, Any]:
        logs = [c for _, c in sorted(self.commlogs.items())]
        if (pat := self._int(q, "PatNum")) is not None:
            logs = [c for c in logs if c["PatNum"] == pat]
        if q.get("DateTStamp"):
            try:
                since = parse_param_datetime(q["DateTStamp"])
            except ValueError:
                raise bad("DateTStamp format must be yyyy-MM-dd HH:mm:ss") from None
            logs = [c for c in logs if (parse_dt(c["DateTStamp"]) or since) >= since]
        return 200, self._page(q, logs)

    def _post_commlog(self, q: Query, body: Any) -> tuple[int, Any]:
        body = json_object(body)
        pat = body_int(body, "PatNum", required=True)
        note = body.get("Note")
        if not isinstance(note, str) or not note:
            raise bad("Note is required.")
        if pat not in self.tables.get("patient", {}):
            raise Reply(404, "Patient not found.")
        types = {r["ItemName"]: r for r in self.tables.get("definition", {}).values() if r.get("Category") == "27"}
        if "commType" in body:  # the name wins over CommType
            if body["commType"] not in types:
                raise bad("commType is invalid.")
            comm_type = to_int(types[body["commType"]]["DefNum"])
        else:
            comm_type = body_int(body, "CommType") or 0
        mode, sent = body.get("Mode_", "Phone"), body.get("SentOrReceived", "Sent")
        if mode not in COMM_MODES or sent not in SENT_OR_RECEIVED:
            raise bad("Mode_ or SentOrReceived is invalid.")
        num = max(self.commlogs, default=0) + 1
        self.commlogs[num] = {  # CommType comes back as a string, as in the docs' examples
            "CommlogNum": num, "PatNum": pat, "CommDateTime": body_datetime(body, "CommDateTime") or self._now(),
            "CommType": str(comm_type), "commType": self.def_name(str(comm_type)), "Note": note, "Mode_": mode,
            "SentOrReceived": sent, "UserNum": 0, "DateTStamp": self._now(), "CommSource": "User", "ProgramNum": 0,
            "DateTEntry": self._now(), "ReferralNum": 0,
        }
        return 201, self.commlogs[num]


def _descript_override(body: dict[str, Any], default: str) -> str:
    value = body.get("DescriptOverride", default)
    if not isinstance(value, str) or len(value) > 256:
        raise bad("DescriptOverride is limited to 256 characters.")
    return value
