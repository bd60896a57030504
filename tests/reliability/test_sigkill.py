"""SIGKILL at many points of a run, then a normal run: the result equals a clean run's.

Each scenario forks a child that runs the pipeline on the sample practice (150 patients) and kills
itself with SIGKILL at one call of one function (first, middle or last of that function's calls in
a clean run); the parent checks it died that way, runs once more normally on what the child left,
and compares with a clean run on a fresh store: the snapshot row for row (minus which run wrote
it), the reference rows, the cursors, the task ledger, the push ledger, and for the API route the
tasks in the fake Open Dental (none twice). The CSV route also compares its JSON task list file.

Night-2 scenarios start from a clean first night and an office that changed since (API: a problem
fixed, a task closed by a person, an appointment deleted; CSV: appointments deleted, a fee
changed): the kill lands in the second night's removals, ledger update, task-list file, or between
a PUT Open Dental answered and its record.

The practice has 50 patients (not the shared 150-patient `export`) to keep ~60 scenarios, each a
killed run plus a recovery run, inside CI's time.
"""

from __future__ import annotations

import csv
import os
import pickle
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.opendental import FakeOpenDental
from odroutes import LISTS, TASK_SINK, FakeClock
from reliability.crash import (
    FakeState,
    KillPoint,
    count_calls,
    describe,
    died_by_sigkill,
    run_killed,
)
from reliability.outcome import differences, duplicate_markers, practice_state
from reliability.tally import TALLY

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import ApiClient, RetryPolicy
from pms_bridge.connectors.files import SourceTable
from pms_bridge.pipeline import SyncReport, run_sync
from pms_bridge.sample import generate_practice
from pms_bridge.sinks import opendental_tasks
from pms_bridge.sinks.pushes import PushLedger
from pms_bridge.store import Store

KEY = "crash-dental"
PATIENTS = 50
JSON_SINK = '[[sinks]]\ntype = "json"\npath = "out/tasks.json"\n'


def _is(state: str):
    return lambda _self, record: record.state == state


def _method(method: str):
    return lambda _self, first, *args, **kw: getattr(first, "method", first) == method


FETCH_CSV = KillPoint("fetch", SourceTable, "chunks", generator=True)
FETCH_API = KillPoint("fetch", FakeOpenDental, "_handle", when=_method("GET"))  # the GET asked, not answered
STORE = KillPoint("store", Store, "upsert_records", after=True)  # a batch committed, nothing after it
CURSOR = KillPoint("cursor", Store, "set_cursor")  # rows stored, cursor not yet advanced
REFERENCES = KillPoint("references", Store, "save_references", after=True)
REMOVE = KillPoint("remove", Store, "remove", after=True)  # deletions applied, cursor/ledger not yet
LEDGER_BEFORE = KillPoint("ledger-before", Store, "save_tasks")
LEDGER_AFTER = KillPoint("ledger-after", Store, "save_tasks", after=True)  # tasks saved, not yet pushed
FILE_SINK = KillPoint("file-sink", os, "replace", when=lambda src, dst: str(dst).endswith("tasks.json"))
PENDING = KillPoint("pending", PushLedger, "save", after=True, when=_is("pending"))  # recorded, not sent
POSTED = KillPoint("posted", opendental_tasks, "create_checked", after=True)  # Open Dental has it; no record
SENT = KillPoint("sent", PushLedger, "save", after=True, when=_is("sent"))
PUT_ANSWERED = KillPoint("put-answered", ApiClient, "request", after=True, when=_method("PUT"))
CLOSED = KillPoint("closed-record", PushLedger, "save", when=_is("closed"))
FINISH = KillPoint("finish", Store, "finish_run")  # everything done but the run's own record

CSV_POINTS = [FETCH_CSV, STORE, CURSOR, REFERENCES, LEDGER_BEFORE, LEDGER_AFTER, FILE_SINK, FINISH]
API_POINTS = [FETCH_API, STORE, CURSOR, LEDGER_AFTER, PENDING, POSTED, SENT, FINISH]
NIGHT2_POINTS = [FETCH_API, REMOVE, LEDGER_AFTER, PUT_ANSWERED, CLOSED, FINISH]
MANY = ("first", "middle", "last")
ONCE = ("last",)


def _cases(route: str, points: list[KillPoint], many: set[str]) -> list[Any]:
    return [pytest.param(route, p.name, which, id=f"{route}-{p.name}-{which}")
            for p in points for which in (MANY if p.name in many else ONCE)]


CSV_NIGHT2_POINTS = [FETCH_CSV, STORE, REMOVE, LEDGER_AFTER, FILE_SINK, FINISH]
CASES = (_cases("csv", CSV_POINTS, {"fetch", "store", "cursor", "references"})
         + _cases("api", API_POINTS, {"fetch", "store", "cursor", "pending", "posted"})
         + _cases("api-night2", NIGHT2_POINTS, {"fetch", "put-answered", "closed-record"})
         + _cases("csv-night2", CSV_NIGHT2_POINTS, {"fetch", "remove"}))
POINTS = {"csv": {p.name: p for p in CSV_POINTS}, "api": {p.name: p for p in API_POINTS},
          "api-night2": {p.name: p for p in NIGHT2_POINTS}, "csv-night2": {p.name: p for p in CSV_NIGHT2_POINTS}}


# --------------------------------------------------------------------------- a practice and its nights

def write_config(folder: Path, route: str, export: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    head = f'[practice]\nname = "Crash Dental"\nkey = "{KEY}"\ntimezone = "America/Chicago"\n'
    if route.startswith("csv"):
        source = f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "{export.as_posix()}"\n'
        sinks = JSON_SINK
    else:
        source = ('[source]\nconnector = "opendental-api"\nmode = "cloud"\nread_route = "resources"\n'
                  'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n')
        sinks = TASK_SINK
    path = folder / "practice.toml"
    path.write_text(f'{head}{source}[store]\npath = "state/store.sqlite"\n{sinks}', encoding="utf-8")
    return path


def night(config: Path, fake: FakeOpenDental | None) -> SyncReport:
    cfg = load_config(config)
    if fake is None:
        return run_sync(cfg, DEMO_AS_OF, check=True)
    clock = FakeClock()
    http = {"clock": clock, "sleep": clock.sleep, "on_request": clock.on_request,
            "retry": RetryPolicy(attempts=3, initial=0.1, maximum=1.0)}
    with fake.mock():
        return run_sync(cfg, DEMO_AS_OF, check=True, http=http)


def office(export: Path) -> FakeOpenDental:
    fake = FakeOpenDental.from_export(export)
    for name in LISTS:
        fake.add_tasklist(name)
    return fake


def change_the_office(fake: FakeOpenDental) -> None:
    """What happens in the office between two nights: one problem fixed, one task closed, one visit deleted."""
    tasks = sorted(fake.tasks.values(), key=lambda t: t["TaskNum"])
    ins = next(t for t in tasks if "INS002" in t["Descript"])
    patplan = ins["Descript"].split("[pms-bridge INS002:coverage:")[1].split("]")[0]
    fake.insert("insverify", {"InsVerifyNum": "", "DateLastVerified": "2026-03-02", "VerifyType": "2",
                              "FKey": patplan, "DefNum": "0"})
    fake.mark_task_done(next(t for t in tasks if "REF004" in t["Descript"])["TaskNum"])
    upcoming = next(r["AptNum"] for r in fake.tables["appointment"].values()
                    if r["AptStatus"] == "1" and r["AptDateTime"] >= "2026-03-03")
    fake.delete("appointment", upcoming)
    fake.advance(hours=1)


def change_the_export(folder: Path) -> None:
    """The same night in table exports: three upcoming appointments deleted, one procedure's fee changed."""
    path = folder / "appointment.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    status, start = rows[0].index("AptStatus"), rows[0].index("AptDateTime")
    upcoming = [i for i, r in enumerate(rows[1:], 1) if r[status] == "1" and r[start] >= "2026-03-03"][:3]
    _write_csv(path, [r for i, r in enumerate(rows) if i not in upcoming])
    path = folder / "procedurelog.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("ProcFee")] = "123.45"
    _write_csv(path, rows)


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    path.unlink()  # the folder may hold links to another export's files
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def json_list(config: Path) -> str | None:
    path = config.parent / "out" / "tasks.json"
    return path.read_text(encoding="utf-8") if path.exists() else None


# --------------------------------------------------------------------------- clean references

@dataclass
class Reference:
    state: dict[str, Any]
    counts: dict[str, int]
    status: str
    json_list: str | None = None
    night1: Path | None = None  # night 2: the folder of the first night (store and fake state)
    export: Path | None = None  # csv night 2: the changed export


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's practice (it overrides the shared 150-patient ``export``): the sample at 50 patients,
    seed 7. At 150 patients the ~60 scenarios, each a killed run plus a recovery run, took over 4 minutes."""
    folder = tmp_path_factory.mktemp("crash-sample") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=7, patients=PATIENTS)
    return folder


@pytest.fixture(scope="module")
def env_keys() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OD_DEV", "dev-key")
        mp.setenv("OD_CUST", "cust-key")
        yield


@pytest.fixture(scope="module")
def references(export: Path, tmp_path_factory: pytest.TempPathFactory, env_keys: None) -> dict[str, Reference]:
    """One clean run per route on a fresh store, counting the calls of every kill point."""
    refs: dict[str, Reference] = {}
    base = tmp_path_factory.mktemp("clean")
    for route in ("csv", "api"):
        config = write_config(base / route, route, export)
        fake = office(export) if route == "api" else None
        with pytest.MonkeyPatch.context() as mp:
            counts = count_calls(list(POINTS[route].values()), mp)
            report = night(config, fake)
        refs[route] = Reference(practice_state(config, fake), dict(counts), report.status, json_list(config))
    # Night 2: a clean first night, saved for the scenarios to start from; then the office changes.
    first = write_config(base / "night1", "api", export)
    fake = office(export)
    night(first, fake)
    FakeState.save(fake, first.parent / "fake.pickle")
    change_the_office(fake)
    second = base / "night2"
    shutil.copytree(first.parent, second)
    with pytest.MonkeyPatch.context() as mp:
        counts = count_calls(list(POINTS["api-night2"].values()), mp)
        report = night(second / "practice.toml", fake)
    refs["api-night2"] = Reference(practice_state(second / "practice.toml", fake), dict(counts), report.status,
                                   night1=first.parent)
    # The same in table exports: a clean first night, then a changed export.
    first = write_config(base / "csv-night1", "csv", export)
    night(first, None)
    changed = base / "exports-changed"
    shutil.copytree(export, changed, copy_function=os.link)
    change_the_export(changed)
    shutil.copytree(first.parent, base / "csv-night2")
    second_config = write_config(base / "csv-night2", "csv", changed)
    with pytest.MonkeyPatch.context() as mp:
        counts = count_calls(list(POINTS["csv-night2"].values()), mp)
        report = night(second_config, None)
    refs["csv-night2"] = Reference(practice_state(second_config), dict(counts), report.status,
                                   json_list(second_config), night1=first.parent, export=changed)
    return refs


def test_the_clean_runs_reach_every_kill_point(references: dict[str, Reference]) -> None:
    """The scenarios below mean something only if a clean run passes each point (and tasks were written)."""
    for route, ref in references.items():
        assert ref.status == "ok", route
        assert all(n > 0 for n in ref.counts.values()), (route, ref.counts)
        assert ref.state["tasks"], route
    assert references["api"].state["od_tasks"] and references["csv"].json_list
    night2 = references["api-night2"].state
    assert any(t["status"] == "resolved" for t in night2["tasks"].values())
    assert any(t["status"] == "dismissed" for t in night2["tasks"].values())
    csv2 = references["csv-night2"].state
    assert len(csv2["snapshot"]["appointment"]) == len(references["csv"].state["snapshot"]["appointment"]) - 3
    assert any(t["status"] == "resolved" for t in csv2["tasks"].values())


def _nth(which: str, count: int) -> int:
    return {"first": 1, "middle": max(1, (count + 1) // 2), "last": count}[which]


@pytest.mark.parametrize(("route", "point", "which"), CASES)
def test_sigkill_then_a_normal_run_equals_a_clean_run(
    route: str, point: str, which: str, references: dict[str, Reference], export: Path, tmp_path: Path
) -> None:
    started = time.perf_counter()
    ref = references[route]
    kill = POINTS[route][point]
    nth = _nth(which, ref.counts[point])
    fake: FakeOpenDental | None = None
    if route == "api-night2":
        assert ref.night1 is not None
        shutil.copytree(ref.night1, tmp_path / "practice")
        config = tmp_path / "practice" / "practice.toml"
        fake = office(export)
        FakeState.load(fake, ref.night1 / "fake.pickle")
        change_the_office(fake)
    elif route == "csv-night2":
        assert ref.night1 is not None and ref.export is not None
        shutil.copytree(ref.night1, tmp_path / "practice")
        config = write_config(tmp_path / "practice", "csv", ref.export)
    else:
        config = write_config(tmp_path / "practice", route, export)
        fake = office(export) if route == "api" else None
    state_file = tmp_path / "fake-after-child.pickle"
    if fake is not None:
        FakeState.save(fake, state_file)  # what the office holds if the child writes nothing

    status = run_killed(kill, nth, lambda: night(config, fake), fake, state_file)
    family = f"sigkill-{route}"
    if not died_by_sigkill(status):
        TALLY.record(family, False, seconds=time.perf_counter() - started, failure=f"{point}#{nth}: {describe(status)}")
        pytest.fail(f"the child was to die by SIGKILL at call {nth} of {point}; it {describe(status)}")
    if fake is not None:
        FakeState.load(fake, state_file)
    if point == "posted":  # the child's POSTs reached Open Dental: the recovery run must adopt, not repost
        assert fake is not None and len(fake.tasks) == nth

    report = night(config, fake)
    state = practice_state(config, fake)
    problems = differences(ref.state, state)
    if report.status != ref.status:
        problems.append(f"run status {report.status!r}, a clean run's {ref.status!r}")
    if fake is not None and (dupes := duplicate_markers(fake)):
        problems.append(f"tasks twice in Open Dental: {dupes[:5]}")
    if route.startswith("csv") and json_list(config) != ref.json_list:
        problems.append("out/tasks.json differs from a clean run's")
    TALLY.record(family, not problems, seconds=time.perf_counter() - started, failure=f"{point}#{nth}: {problems}")
    assert not problems, f"after SIGKILL at call {nth}/{ref.counts[point]} of {point}: {problems}"


def test_fake_state_round_trips_through_a_file(export: Path, tmp_path: Path) -> None:
    """The harness's own check: what the child's fake held is what the parent's fake holds after loading."""
    fake = office(export)
    fake.tasks[1] = {"TaskNum": 1, "Descript": "x [pms-bridge K]"}
    FakeState.save(fake, tmp_path / "s.pickle")
    other = office(export)
    assert other.tasks == {}
    assert FakeState.load(other, tmp_path / "s.pickle")
    assert other.tasks == fake.tasks and other.tasklists == fake.tasklists
    assert pickle.loads((tmp_path / "s.pickle").read_bytes())["now"] == fake.now
