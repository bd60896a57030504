"""Errors that mean one task, not the whole office: stale references and an office too old for a call.

Against the fake Open Dental (tests/fakes), which answers 404 "Patient not found." / "Appointment
not found." for a stale KeyNum and 400 for a call the office's version does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakes.opendental import FakeOpenDental

from pms_bridge.connectors.api_client import ApiClient, RetryPolicy
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
OLD_OFFICE = (23, 1, 0)


def office(patients: list[int], appointments: dict[int, int], version: tuple[int, int, int] | None = None):
    tables = {
        "patient": [{"PatNum": str(p), "LName": "Test", "FName": "Patient"} for p in patients],
        "appointment": [{"AptNum": str(a), "PatNum": str(p)} for a, p in appointments.items()],
    }
    kw: dict[str, Any] = {"version": version} if version else {}
    fake = FakeOpenDental(tables, base_url=BASE, now=T0.replace(tzinfo=None), **kw)
    fake.add_tasklist("Patient Coordinator")  # TaskListNum 1
    fake.add_tasklist("Financial Coordinator")  # 2
    return fake


SINK = {"type": "opendental-tasks", "user_num": 7, "task_lists": {"patient": 1, "financial": 2}}


@pytest.fixture
def client() -> Iterator[ApiClient]:
    api = ApiClient(BASE, {"Authorization": "ODFHIR dev-key/cust-key", "Content-Type": "application/json"},
                    retry=RetryPolicy(attempts=3, initial=0, maximum=0), sleep=lambda s: None,
                    errors=error_table(load_connector_spec("opendental-api").rest))
    yield api
    api.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}",
                   Practice(key="main", name="Main", timezone="America/Chicago"))
    yield s
    s.close()


def make_task(n: int, role: str = "patient", *, appointment: int | None = None, status: str = "open",
              title: str = "") -> Task:
    rule = {"patient": "XR001", "financial": "INS003"}[role]
    return Task(
        key=f"{rule}:patient:{n}", rule=rule, name="rule-name", status=status,  # type: ignore[arg-type]
        severity="high", role=role, patient_id=str(n),
        appointment_id=str(appointment) if appointment else None, subject_type="patient", subject_id=str(n),
        title=title or f"Problem {n} found", detail="detail", fix="Fix it before the visit.",
        due=date(2026, 3, 5), created_at=T0, updated_at=T0, resolved_at=None if status == "open" else T0,
    )


def seed(store: Store, *tasks: Task) -> list[Task]:
    Ledger(store).apply(LedgerUpdate(changed={t.key: t for t in tasks}), None, T0)
    return Ledger(store).tasks()


def push(fake: FakeOpenDental, client: ApiClient, store: Store, tasks: list[Task]):
    with fake.mock():
        return push_tasks(client, store, SINK, tasks, now=T0, run_id=1)


def od_task(fake: FakeOpenDental, key: str) -> dict[str, Any]:
    (task,) = [t for t in fake.tasks.values() if t["Descript"].endswith(f"[pms-bridge {key}]")]
    return task


def writes(fake: FakeOpenDental) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path, r.json) for r in fake.requests if r.method != "GET"]


# ------------------------------------------------------------ stale references


def test_a_task_whose_appointment_is_gone_is_attached_to_the_patient(client, store) -> None:
    fake = office(patients=[101, 102, 103], appointments={5003: 103})  # appointment 5001 deleted since the sync
    tasks = seed(store, make_task(101, appointment=5001), make_task(102, "financial"), make_task(103, appointment=5003))
    report = push(fake, client, store, tasks)
    assert (report.created, report.attached_to_patient, report.failed, report.errors) == (3, 1, 0, [])
    gone = od_task(fake, "XR001:patient:101")
    assert (gone["ObjectType"], gone["KeyNum"]) == ("Patient", 101)
    assert (od_task(fake, "XR001:patient:103")["ObjectType"], od_task(fake, "XR001:patient:103")["KeyNum"]) == (
        "Appointment", 5003)
    assert [(m, p, b["ObjectType"]) for m, p, b in writes(fake) if b.get("KeyNum") in (5001, 101)] == [
        ("POST", "/tasks", "Appointment"), ("POST", "/tasks", "Patient")]  # one retry, attached to the patient

    fake.requests.clear()
    again = push(fake, client, store, Ledger(store).tasks())
    assert writes(fake) == [] and again.unchanged == 3  # not rewritten every night


def test_a_task_whose_patient_is_gone_fails_alone(client, store) -> None:
    fake = office(patients=[101, 103], appointments={5003: 103})
    tasks = seed(
        store,
        make_task(101),
        make_task(102, "financial"),  # patient 102 is gone
        make_task(104, appointment=5004),  # appointment and patient both gone
        make_task(103, appointment=5003),
    )
    report = push(fake, client, store, tasks)
    assert report.created == 2 and report.failed == 2
    assert sorted(report.errors) == [
        "INS003:patient:102: stale patient reference: Open Dental has no patient 102 any more "
        "(POST /tasks -> 404 (no such patient)); not written to Open Dental; the next run tries again",
        "XR001:patient:104: stale patient reference: Open Dental has no patient 104 any more "
        "(POST /tasks -> 404 (no such patient)); not written to Open Dental; the next run tries again",
    ]
    assert "Test" not in " ".join(report.errors)  # ids and keys only, never a name
    assert {t["Descript"].rsplit("[pms-bridge ", 1)[1] for t in fake.tasks.values()} == {
        "XR001:patient:101]", "XR001:patient:103]"}
    # Nothing was written for them: the next run tries again, and succeeds once Open Dental has the patient.
    fake.insert("patient", {"PatNum": "102"})
    again = push(fake, client, store, Ledger(store).tasks())
    assert again.created == 1 and again.failed == 1
    assert PushLedger(store, "opendental-tasks").load()["INS003:patient:102"].state == "sent"


def test_an_update_that_relinks_to_a_gone_appointment_attaches_the_patient(client, store) -> None:
    fake = office(patients=[101, 102], appointments={5001: 101, 5002: 102})
    push(fake, client, store, seed(store, make_task(101, appointment=5001), make_task(102, appointment=5002)))
    # The ledger moved both tasks to appointments Open Dental no longer has; patient 102 is gone too.
    fake.delete("patient", "102")
    tasks = seed(store, make_task(101, appointment=5009, title="Moved 101"),
                 make_task(102, appointment=5008, title="Moved 102"))
    fake.requests.clear()
    report = push(fake, client, store, tasks)
    assert (report.updated, report.attached_to_patient, report.failed) == (1, 1, 1)
    moved = od_task(fake, "XR001:patient:101")
    assert (moved["ObjectType"], moved["KeyNum"]) == ("Patient", 101) and moved["Descript"].startswith("Moved 101")
    assert report.errors == [
        "XR001:patient:102: stale patient reference: Open Dental has no patient 102 any more "
        f"(PUT /tasks/{od_task(fake, 'XR001:patient:102')['TaskNum']} -> 404 (no such patient)); "
        "not changed in Open Dental; the next run tries again"
    ]
    assert od_task(fake, "XR001:patient:102")["Descript"].startswith("Problem 102")  # left as it was


def test_a_commlog_whose_patient_is_gone_fails_alone(client, store) -> None:
    fake = office(patients=[101, 103], appointments={})
    tasks = seed(store, make_task(101), make_task(102, "financial"), make_task(103))
    with fake.mock():
        report = push_commlogs(client, store, {"type": "opendental-commlog"}, tasks, now=T0, run_id=1)
    assert report.created == 2 and report.failed == 1
    assert report.errors == [
        "INS003:patient:102: stale patient reference: Open Dental has no patient 102 any more "
        "(POST /commlogs -> 404 (no such patient)); no note written; the next run tries again"
    ]
    assert sorted(c["PatNum"] for c in fake.commlogs.values()) == [101, 103]
    assert "INS003:patient:102" not in PushLedger(store, "opendental-commlog").load()  # 404: nothing to look for


# ---------------------------------------------------------- an office too old


def test_an_old_office_gets_tasks_created_and_updated_and_one_warning_for_closing(client, store) -> None:
    fake = office(patients=[101, 102, 103], appointments={}, version=OLD_OFFICE)
    first = push(fake, client, store, seed(store, make_task(101), make_task(102, "financial"), make_task(103)))
    assert first.created == 3 and first.warnings == []

    tasks = seed(store, make_task(101, status="resolved"), make_task(102, "financial", status="resolved"),
                 make_task(103, title="Problem 103 changed"))
    fake.requests.clear()
    report = push(fake, client, store, tasks)
    assert (report.updated, report.closed, report.failed, report.errors) == (1, 0, 0, [])
    assert report.warnings == [
        "marking tasks Done in Open Dental needs Open Dental 24.2.10 or newer (the office's version is older): "
        "pms-bridge's own list still resolves them; they stay open in Open Dental until a person closes them or "
        "the office upgrades (2 task(s) left open there this run)"
    ]
    status_puts = [w for w in writes(fake) if w[0] == "PUT" and "TaskStatus" in w[2]]
    assert len(status_puts) == 1  # asked once, not once per task
    assert od_task(fake, "XR001:patient:103")["Descript"].startswith("Problem 103 changed")
    assert {t["TaskStatus"] for t in fake.tasks.values()} == {"New"}

    fake.version = (24, 2, 10)  # the office upgrades: the next run closes them
    later = push(fake, client, store, Ledger(store).tasks())
    assert later.closed == 2 and later.warnings == []
    assert od_task(fake, "XR001:patient:101")["TaskStatus"] == "Done"


def test_an_old_office_reopens_a_task_as_a_new_copy(client, store) -> None:
    fake = office(patients=[101], appointments={}, version=OLD_OFFICE)
    push(fake, client, store, seed(store, make_task(101)))
    first = od_task(fake, "XR001:patient:101")
    fake.mark_task_done(first["TaskNum"])  # a person closes it: the ledger task is dismissed
    push(fake, client, store, Ledger(store).tasks())
    report = push(fake, client, store, seed(store, make_task(101, title="Problem 101 back")))
    assert (report.created, report.reopened, report.failed) == (1, 0, 0) and len(report.warnings) == 1
    copies = sorted(fake.tasks.values(), key=lambda t: t["TaskNum"])
    assert [t["TaskStatus"] for t in copies] == ["Done", "New"] and copies[1]["Descript"].startswith("Problem 101 back")
    assert PushLedger(store, "opendental-tasks").load()["XR001:patient:101"].remote_id == str(copies[1]["TaskNum"])
