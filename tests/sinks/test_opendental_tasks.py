"""The Open Dental task and commlog sinks against a small respx mock of the API."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from pms_bridge.config import ConfigError
from pms_bridge.config.models import SinkSection
from pms_bridge.connectors.api_client import ApiClient, ApiConfigError, RetryPolicy
from pms_bridge.connectors.rest import error_table
from pms_bridge.connectors.spec import load_connector_spec
from pms_bridge.ledger import Ledger, LedgerUpdate, Task
from pms_bridge.model import Practice
from pms_bridge.sinks.opendental import push_commlogs, push_tasks
from pms_bridge.sinks.pushes import PushLedger
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
BASE = "https://od.test/api/v1"
OD_TIME = "%Y-%m-%d %H:%M:%S"

TASK_SINK = {
    "type": "opendental-tasks",
    "user_num": 7,
    "task_lists": {"patient": "patient coordinator", "financial": 12},
}
COMMLOG_SINK = {"type": "opendental-commlog", "comm_type": 239}


# ------------------------------------------------------------------ fake API


class FakeOpenDental:
    """Just enough of Open Dental's task lists, tasks and commlogs, with its 14-day default on GET /tasks."""

    def __init__(self, clock: datetime, fail_rate: float = 0.0, seed: int = 0) -> None:
        self.clock = clock
        self.tasklists = [
            {"TaskListNum": 11, "Descript": "Patient Coordinator", "Parent": 0, "ObjectType": "None"},
            {"TaskListNum": 12, "Descript": "Financial Coordinator", "Parent": 0, "ObjectType": "None"},
            {"TaskListNum": 13, "Descript": "Front Desk", "Parent": 0, "ObjectType": "None"},
        ]
        self.tasks: dict[int, dict[str, Any]] = {}
        self.commlogs: dict[int, dict[str, Any]] = {}
        self.next_num = 9000
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.lose_answers = 0  # the next N writes succeed but their answer never arrives
        self.refuse: dict[tuple[str, str], int] = {}  # (method, path) -> status
        self.reject_key_nums: set[int] = set()  # POST /tasks with this KeyNum -> 400
        self.lost: Counter[str] = Counter()  # injected failures after the server did the work, by method

    def now(self) -> str:
        return self.clock.strftime(OD_TIME)

    def writes(self, method: str | None = None) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self.calls if m != "GET" and (method is None or m == method)]

    # -- dispatch

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path.removeprefix("/api/v1")
        params = dict(request.url.params)
        body = json.loads(request.content) if request.content else None
        self.calls.append((method, path, params, body))
        if (method, path) in self.refuse:
            return httpx.Response(self.refuse[(method, path)], text="refused")
        fail = self.fail_rate and self.rng.random() < self.fail_rate
        if fail and self.rng.random() < 0.5:
            return httpx.Response(503, text="Service Unavailable")  # failed before doing anything
        response = self._route(method, path, params, body)
        if fail:  # done on the server, but the answer is lost
            self.lost[method] += 1
            if self.rng.random() < 0.5:
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(504, text="Gateway Timeout")
        if method != "GET" and response.status_code < 300 and self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    def _route(self, method: str, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["tasklists"]:
            return self._page(self.tasklists, params)
        if method == "GET" and parts == ["tasks"]:
            return self._get_tasks(params)
        if method == "POST" and parts == ["tasks"]:
            return self._post_task(body)
        if method == "PUT" and parts[0] == "tasks" and len(parts) == 2:
            return self._put_task(int(parts[1]), body)
        if method == "GET" and parts == ["commlogs"]:
            if "PatNum" not in params:
                return httpx.Response(400, text="PatNum is required")
            return self._page([c for c in self.commlogs.values() if str(c["PatNum"]) == params["PatNum"]], params)
        if method == "POST" and parts == ["commlogs"]:
            return self._post_commlog(body)
        return httpx.Response(404, text="not found")

    def _page(self, rows: list[dict[str, Any]], params: dict[str, str]) -> httpx.Response:
        offset = int(params.get("Offset", 0))
        return httpx.Response(200, json=rows[offset : offset + 100])

    def _get_tasks(self, params: dict[str, str]) -> httpx.Response:
        since = params.get("DateTimeOriginal") or (self.clock - timedelta(days=14)).strftime(OD_TIME)
        rows = [t for t in sorted(self.tasks.values(), key=lambda t: t["TaskNum"]) if t["DateTimeOriginal"] > since]
        if "TaskListNum" in params:
            rows = [t for t in rows if str(t["TaskListNum"]) == params["TaskListNum"]]
        if "TaskStatus" in params:
            rows = [t for t in rows if t["TaskStatus"] == params["TaskStatus"]]
        return self._page(rows, params)

    def _post_task(self, body: dict[str, Any]) -> httpx.Response:
        if not all(body.get(k) for k in ("TaskListNum", "Descript", "UserNum")):
            return httpx.Response(400, text="TaskListNum, Descript and UserNum are required")
        if body["TaskListNum"] not in {t["TaskListNum"] for t in self.tasklists}:
            return httpx.Response(400, text="TaskListNum is invalid")
        if body.get("KeyNum") in self.reject_key_nums:
            return httpx.Response(400, text="KeyNum is invalid")
        self.next_num += 1
        task = {
            "TaskNum": self.next_num,
            "TaskListNum": body["TaskListNum"],
            "KeyNum": body.get("KeyNum", 0),
            "ObjectType": body.get("ObjectType", "None"),
            "Descript": body["Descript"],
            "TaskStatus": "New",
            "UserNum": body["UserNum"],
            "DateTimeOriginal": self.now(),
            "DescriptOverride": "",
        }
        self.tasks[task["TaskNum"]] = task
        return httpx.Response(201, json=task)

    def _put_task(self, num: int, body: dict[str, Any]) -> httpx.Response:
        if num not in self.tasks:
            return httpx.Response(404, text="task not found")
        if body.get("TaskStatus", "New") not in ("New", "Viewed", "Done"):
            return httpx.Response(400, text="TaskStatus is invalid")
        self.tasks[num].update(
            {k: v for k, v in body.items() if k in ("Descript", "TaskStatus", "KeyNum", "ObjectType")}
        )
        return httpx.Response(200, json=self.tasks[num])

    def _post_commlog(self, body: dict[str, Any]) -> httpx.Response:
        if not body.get("PatNum") or not body.get("Note"):
            return httpx.Response(400, text="PatNum and Note are required")
        self.next_num += 1
        row = {"CommlogNum": self.next_num, "CommDateTime": self.now(), "CommType": 0, "Mode_": "Phone"}
        row.update(body)
        self.commlogs[row["CommlogNum"]] = row
        return httpx.Response(201, json=row)

    # -- what a person does in Open Dental

    def by_marker(self, key: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks.values() if f"[pms-bridge {key}]" in t["Descript"]]

    def state(self) -> list[tuple[Any, ...]]:
        return sorted(
            (t["TaskListNum"], t["ObjectType"], t["KeyNum"], t["TaskStatus"], t["Descript"])
            for t in self.tasks.values()
        )


@pytest.fixture
def fake() -> Iterator[FakeOpenDental]:
    od = FakeOpenDental(T0)
    with respx.mock(assert_all_called=False) as router:
        router.route(host="od.test").mock(side_effect=od.handle)
        yield od


@pytest.fixture
def client() -> Iterator[ApiClient]:
    api = ApiClient(
        BASE,
        {"Authorization": "ODFHIR dev/customer"},
        retry=RetryPolicy(attempts=8, initial=0, maximum=0),
        sleep=lambda s: None,
        errors=error_table(load_connector_spec("opendental-api").rest),
    )
    yield api
    api.close()


def _store(path: Path) -> Store:
    return Store.open(
        f"sqlite:///{path / 'state' / 'store.sqlite'}", Practice(key="main", name="Main", timezone="America/Chicago")
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = _store(tmp_path)
    yield s
    s.close()


# ------------------------------------------------------------------ tasks


def make_task(
    n: int, role: str = "patient", *, appointment: str | None = None, status: str = "open", title: str = ""
) -> Task:
    rule = {"patient": "XR001", "financial": "INS003", "scheduling": "SCH003"}.get(role, "REF004")
    return Task(
        key=f"{rule}:patient:{n}",
        rule=rule,
        name="rule-name",
        status=status,  # type: ignore[arg-type]
        severity="high",
        role=role,
        patient_id=str(n),
        appointment_id=appointment,
        subject_type="patient",
        subject_id=str(n),
        title=title or f"Problem {n} found",
        detail="detail",
        fix="Fix it before the visit.",
        due=date(2026, 3, 5),
        created_at=T0,
        updated_at=T0,
        resolved_at=None if status == "open" else T0,
    )


def seed(store: Store, *tasks: Task) -> list[Task]:
    """Write tasks into the ledger as they are; returns the whole ledger."""
    Ledger(store).apply(LedgerUpdate(changed={t.key: t for t in tasks}), None, T0)
    return Ledger(store).tasks()


def standard(store: Store) -> list[Task]:
    return seed(
        store,
        make_task(101, "patient", appointment="5001"),
        make_task(102, "financial"),
        make_task(103, "scheduling"),  # no task list for the role
        make_task(104, "patient", status="resolved"),  # never pushed
    )


def push(client: ApiClient, store: Store, tasks: list[Task], now: datetime = T0, sink: Any = None, **kw: Any):
    return push_tasks(client, store, sink or TASK_SINK, tasks, now=now, run_id=1, **kw)


def test_first_push_creates_one_task_per_open_task_then_nothing(fake, client, store) -> None:
    tasks = standard(store)
    report = push(client, store, tasks)
    assert (report.created, report.skipped, report.failed, report.errors) == (2, 1, 0, [])
    patient = fake.by_marker("XR001:patient:101")
    financial = fake.by_marker("INS003:patient:102")
    assert len(patient) == len(financial) == 1 and len(fake.tasks) == 2
    assert (
        patient[0]["TaskListNum"] == 11 and patient[0]["ObjectType"] == "Appointment" and patient[0]["KeyNum"] == 5001
    )
    assert (
        financial[0]["TaskListNum"] == 12 and financial[0]["ObjectType"] == "Patient" and financial[0]["KeyNum"] == 102
    )
    assert patient[0]["UserNum"] == 7
    assert patient[0]["Descript"] == (
        "Problem 101 found - Fix it before the visit. - due 2026-03-05 - XR001\n[pms-bridge XR001:patient:101]"
    )
    records = PushLedger(store, "opendental-tasks").load()
    assert {k: (r.state, r.remote_id, r.target) for k, r in records.items()} == {
        "XR001:patient:101": ("sent", str(patient[0]["TaskNum"]), "11"),
        "INS003:patient:102": ("sent", str(financial[0]["TaskNum"]), "12"),
    }

    fake.calls.clear()
    # The pipeline may pass the validated [[sinks]] section as it is.
    again = push(
        client, store, Ledger(store).tasks(), T0 + timedelta(days=1), sink=SinkSection.model_validate(TASK_SINK)
    )
    assert fake.writes() == []
    assert (again.created, again.updated, again.closed, again.unchanged, again.skipped) == (0, 0, 0, 2, 1)
    # Every read of tasks names its list and an explicit start (the API's default is the last 14 days).
    gets = [params for m, p, params, _ in fake.calls if m == "GET" and p == "/tasks"]
    assert gets and all("DateTimeOriginal" in g and "TaskListNum" in g for g in gets)


def test_changed_title_is_one_put(fake, client, store) -> None:
    push(client, store, standard(store))
    seed(store, replace(make_task(101, "patient", appointment="5001"), title="Problem 101 changed"))
    fake.calls.clear()
    report = push(client, store, Ledger(store).tasks())
    assert fake.writes() == [("PUT", f"/tasks/{fake.by_marker('XR001:patient:101')[0]['TaskNum']}")]
    assert report.updated == 1 and report.created == 0
    body = fake.calls[-1][3]
    assert body == {"Descript": "Problem 101 changed - Fix it before the visit. - due 2026-03-05 - XR001\n"
                    "[pms-bridge XR001:patient:101]"}  # fmt: skip
    fake.calls.clear()
    push(client, store, Ledger(store).tasks())
    assert fake.writes() == []


def test_moved_appointment_updates_the_attachment(fake, client, store) -> None:
    push(client, store, standard(store))
    seed(store, make_task(101, "patient", appointment="5002"))
    report = push(client, store, Ledger(store).tasks())
    (task,) = fake.by_marker("XR001:patient:101")
    assert report.updated == 1 and (task["ObjectType"], task["KeyNum"]) == ("Appointment", 5002)


def test_resolved_task_is_marked_done(fake, client, store) -> None:
    push(client, store, standard(store))
    seed(store, make_task(102, "financial", status="resolved"))
    fake.calls.clear()
    report = push(client, store, Ledger(store).tasks())
    (task,) = fake.by_marker("INS003:patient:102")
    assert fake.writes() == [("PUT", f"/tasks/{task['TaskNum']}")] and fake.calls[-1][3] == {"TaskStatus": "Done"}
    assert task["TaskStatus"] == "Done" and report.closed == 1
    fake.calls.clear()
    push(client, store, Ledger(store).tasks())
    assert fake.writes() == []  # closed once


def test_done_in_open_dental_dismisses_the_ledger_task_even_after_14_days(fake, client, store) -> None:
    push(client, store, standard(store))
    later = T0 + timedelta(days=20)
    fake.clock = later  # the API's default window no longer reaches the task
    fake.by_marker("XR001:patient:101")[0]["TaskStatus"] = "Done"
    fake.calls.clear()
    report = push(client, store, Ledger(store).tasks(), later)
    assert report.dismissed_from_pms == 1 and fake.writes() == []
    task = next(t for t in Ledger(store).tasks() if t.key == "XR001:patient:101")
    assert task.status == "dismissed" and task.reason == "marked Done in Open Dental"
    assert Ledger(store).history(task.key)[-1].cause == "dismissed: marked Done in Open Dental"
    fake.calls.clear()
    push(client, store, Ledger(store).tasks(), later)
    assert fake.writes() == []


def test_reopened_ledger_task_reopens_its_open_dental_task(fake, client, store) -> None:
    push(client, store, standard(store))
    seed(store, make_task(102, "financial", status="resolved"))
    push(client, store, Ledger(store).tasks())
    seed(store, make_task(102, "financial", title="Problem 102 back"))
    report = push(client, store, Ledger(store).tasks())
    (task,) = fake.by_marker("INS003:patient:102")
    assert report.reopened == 1 and task["TaskStatus"] == "New" and task["Descript"].startswith("Problem 102 back")
    assert len(fake.tasks) == 2


def test_deleted_in_open_dental_dismisses_and_moved_is_followed(fake, client, store) -> None:
    push(client, store, standard(store))
    del fake.tasks[fake.by_marker("XR001:patient:101")[0]["TaskNum"]]
    moved = fake.by_marker("INS003:patient:102")[0]
    moved["TaskListNum"] = 13  # a person moved it to another list
    seed(store, make_task(102, "financial", title="Problem 102 changed"))
    report = push(client, store, Ledger(store).tasks())
    assert report.dismissed_from_pms == 1 and report.updated == 1 and report.created == 0
    assert next(t for t in Ledger(store).tasks() if t.key == "XR001:patient:101").reason == "deleted in Open Dental"
    assert moved["Descript"].startswith("Problem 102 changed") and moved["TaskListNum"] == 13
    assert PushLedger(store, "opendental-tasks").load()["INS003:patient:102"].target == "13"


def test_crash_between_post_and_record_adopts_the_copy(fake, client, store, monkeypatch) -> None:
    tasks = standard(store)
    real_save = PushLedger.save

    def crash_when_sent(self, record):
        if record.state == "sent":
            raise RuntimeError("power cut")
        return real_save(self, record)

    monkeypatch.setattr(PushLedger, "save", crash_when_sent)
    with pytest.raises(RuntimeError):
        push(client, store, tasks)
    monkeypatch.setattr(PushLedger, "save", real_save)
    assert len(fake.tasks) == 1  # the server has it; our record says pending
    (pending,) = PushLedger(store, "opendental-tasks").load().values()
    assert pending.state == "pending" and pending.remote_id is None

    fake.clock = T0 + timedelta(days=20)  # and the API's default window no longer reaches it
    report = push(client, store, tasks, T0 + timedelta(days=20))
    assert report.adopted == 1 and report.created == 1  # the other task
    assert all(
        len(fake.by_marker(t.key)) == 1 for t in tasks if t.role in ("patient", "financial") and t.status == "open"
    )
    assert len(fake.tasks) == 2
    record = PushLedger(store, "opendental-tasks").load()[pending.key]
    assert record.state == "sent" and record.remote_id == str(fake.by_marker(pending.key)[0]["TaskNum"])


def test_lost_answer_to_a_post_writes_no_second_copy(fake, client, store) -> None:
    fake.lose_answers = 1
    report = push(client, store, standard(store))
    assert report.created == 2 and report.failed == 0
    assert len(fake.tasks) == 2 and len(fake.writes("POST")) == 2


def test_request_error_for_one_task_is_reported_and_retried_next_run(fake, client, store) -> None:
    fake.reject_key_nums = {5001}
    tasks = standard(store)
    report = push(client, store, tasks)
    assert report.created == 1 and report.failed == 1
    assert report.errors == ["XR001:patient:101: POST /tasks -> 400"]
    assert PushLedger(store, "opendental-tasks").load()["XR001:patient:101"].state == "pending"
    fake.reject_key_nums = set()
    again = push(client, store, tasks)
    assert again.created == 1 and again.failed == 0 and len(fake.tasks) == 2


def _scenario(client: ApiClient, store: Store, fake: FakeOpenDental) -> list[Any]:
    """First push, then a changed title, a resolved task and a person's Done, then more changes, then a quiet run."""

    def day(n: int) -> datetime:  # the office's clock runs with ours
        fake.clock = T0 + timedelta(days=n)
        return fake.clock

    many = [
        make_task(n, ("patient", "financial")[n % 2], appointment=str(7000 + n) if n % 3 else None)
        for n in range(200, 216)
    ]
    reports = [push(client, store, seed(store, *standard(store), *many), day(0))]
    seed(
        store,
        replace(make_task(101, "patient", appointment="5001"), title="Problem 101 changed"),
        make_task(105, "financial"),
        make_task(106, "patient"),
    )
    fake.by_marker("INS003:patient:102")[0]["TaskStatus"] = "Done"
    reports.append(push(client, store, Ledger(store).tasks(), day(1)))
    seed(
        store,
        make_task(106, "patient", status="resolved"),
        *[replace(t, title=f"{t.title}, still") for t in many[:8]],
        *[replace(t, status="resolved", resolved_at=T0) for t in many[8:]],
    )
    reports.append(push(client, store, Ledger(store).tasks(), day(2)))
    reports.append(push(client, store, Ledger(store).tasks(), day(3)))
    return reports


@pytest.mark.parametrize("seed_", [3, 7, 9, 12])  # seeds whose failures hit POSTs and PUTs after the server acted
def test_transient_failures_end_in_the_clean_state(client, tmp_path, seed_) -> None:
    results = []
    for fail_rate in (0.0, 0.2):
        od = FakeOpenDental(T0, fail_rate=fail_rate, seed=seed_)
        folder = tmp_path / f"run-{fail_rate}"
        folder.mkdir()
        store = _store(folder)
        with respx.mock(assert_all_called=False) as router:
            router.route(host="od.test").mock(side_effect=od.handle)
            reports = _scenario(client, store, od)
        assert all(r.failed == 0 and r.errors == [] for r in reports)
        if fail_rate:
            assert od.lost["POST"] and od.lost["PUT"]  # the interesting failures did happen
        markers = Counter(m for t in od.tasks.values() for m in [t["Descript"].rsplit("\n", 1)[-1]])
        assert set(markers.values()) == {1}  # no duplicates
        results.append((od.state(), sorted((t.key, t.status) for t in Ledger(store).tasks())))
        store.close()
    clean, flaky = results
    assert flaky == clean
    assert ("INS003:patient:102", "dismissed") in clean[1]


# ------------------------------------------------------------ configuration


def test_unknown_task_list_name_is_a_config_error(fake, client, store) -> None:
    sink = {**TASK_SINK, "task_lists": {"patient": "Patient Coordinator", "clinical": "Clinical Coordinator"}}
    with pytest.raises(ConfigError) as err:
        push(client, store, standard(store), sink=sink, index=2)
    message = str(err.value)
    assert "sinks[2].task_lists.clinical" in message and "'Clinical Coordinator'" in message
    assert "'Patient Coordinator', 'Financial Coordinator'" not in message  # sorted list of what exists
    assert "'Financial Coordinator', 'Front Desk', 'Patient Coordinator'" in message
    assert fake.writes() == []


@pytest.mark.parametrize(
    ("sink", "where"),
    [
        ({"type": "opendental-tasks", "task_lists": {"patient": 11}}, "sinks[0].user_num"),
        ({**TASK_SINK, "task_lists": {"patients": 11}}, "sinks[0].task_lists.patients"),
        ({**TASK_SINK, "task_lists": {"patient": 0}}, "sinks[0].task_lists.patient"),
        ({**TASK_SINK, "tasklist": 3}, "sinks[0].tasklist"),
    ],
)
def test_bad_settings_name_the_key(fake, client, store, sink, where) -> None:
    with pytest.raises(ConfigError, match=re.escape(where)):
        push(client, store, standard(store), sink=sink, index=0)
    assert fake.calls == []


def test_refused_keys_stop_the_sink(fake, client, store) -> None:
    fake.refuse[("GET", "/tasklists")] = 401
    with pytest.raises(ApiConfigError, match="401"):
        push(client, store, standard(store))
    fake.refuse = {("POST", "/tasks"): 403}
    sink = {**TASK_SINK, "task_lists": {"patient": 11}}
    with pytest.raises(ApiConfigError, match="AllOthers"):
        push(client, store, Ledger(store).tasks(), sink=sink)
    assert fake.tasks == {}


# ------------------------------------------------------------------ commlogs


def test_commlog_fallback_notes_each_open_task_once(fake, client, store) -> None:
    tasks = standard(store)
    report = push_commlogs(client, store, COMMLOG_SINK, tasks, now=T0, run_id=1)
    assert report.created == 3 and report.failed == 0  # every role: 101, 102, 103
    notes = sorted(fake.commlogs.values(), key=lambda c: c["PatNum"])
    assert [c["PatNum"] for c in notes] == [101, 102, 103]
    assert all(c["Mode_"] == "None" and c["CommType"] == 239 for c in notes)
    assert notes[0]["Note"].endswith("\n[pms-bridge XR001:patient:101]")

    seed(store, make_task(101, "patient", status="resolved"))
    push_commlogs(client, store, COMMLOG_SINK, Ledger(store).tasks(), now=T0, run_id=2)
    seed(store, make_task(101, "patient", title="back again"))
    fake.calls.clear()
    again = push_commlogs(client, store, COMMLOG_SINK, Ledger(store).tasks(), now=T0, run_id=3)
    assert fake.writes() == [] and again.created == 0 and len(fake.commlogs) == 3


def test_commlog_lost_answer_and_crash_write_no_second_note(fake, client, store, monkeypatch) -> None:
    tasks = standard(store)
    fake.lose_answers = 1
    real_save = PushLedger.save
    saves = Counter()

    def crash_on_second_sent(self, record):
        if record.state == "sent":
            saves["sent"] += 1
            if saves["sent"] == 2:
                raise RuntimeError("power cut")
        return real_save(self, record)

    monkeypatch.setattr(PushLedger, "save", crash_on_second_sent)
    with pytest.raises(RuntimeError):
        push_commlogs(client, store, {"type": "opendental-commlog"}, tasks, now=T0, run_id=1)
    monkeypatch.setattr(PushLedger, "save", real_save)
    report = push_commlogs(client, store, {"type": "opendental-commlog"}, tasks, now=T0, run_id=2)
    assert report.adopted == 1 and report.created == 1
    assert sorted(c["PatNum"] for c in fake.commlogs.values()) == [101, 102, 103]
    assert all(c["CommType"] == 0 for c in fake.commlogs.values())  # none configured: none sent


def test_open_dental_down_stops_the_sink_without_losing_anything(fake, client, store) -> None:
    tasks = seed(store, *[make_task(n, "financial") for n in range(300, 306)])
    fake.refuse[("POST", "/tasks")] = 503
    report = push(client, store, tasks)
    assert report.created == 0 and report.failed == 6
    assert len(fake.writes("POST")) == 3 * 8  # three tasks tried with every retry, then the sink stopped
    assert report.errors[-1].startswith("stopped:")
    records = PushLedger(store, "opendental-tasks").load()
    assert sorted(records) == [f"INS003:patient:{n}" for n in (300, 301, 302)]  # the ones tried: pending
    assert {r.state for r in records.values()} == {"pending"}
    fake.refuse = {}
    again = push(client, store, tasks)
    assert again.created == 6 and len(fake.tasks) == 6
