"""Groups end to end: real broker (RabbitMQ, Redis), the shared PostgreSQL store, worker processes.

A group of sample practices run by two workers ends exactly as each location run alone; a worker
SIGKILLed mid-job loses nothing and leaves no trace in the end state; two overlapping group runs never
run one location twice at once; a broker that is down is exit 3; the broker carries ids and keys only.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from group.harness import AS_OF, SampleGroup, delete_queue, make_group, summary
from reliability.outcome import differences, store_state

from pms_bridge.config import load_config
from pms_bridge.config.group import load_group
from pms_bridge.pipeline import parse_as_of, run_sync
from pms_bridge.store import Store
from pms_bridge.store.group_book import GroupBook

pytestmark = [pytest.mark.group, pytest.mark.postgres]


@pytest.fixture
def group_factory(tmp_path: Path, fresh_postgres_url: str) -> Iterator:
    made: list[SampleGroup] = []

    def factory(broker: str, locations: int = 3, patients: int = 40, **queue: object) -> SampleGroup:
        group = make_group(tmp_path / f"group-{len(made) + 1}", fresh_postgres_url, broker, locations, patients,
                           **queue)
        made.append(group)
        return group

    yield factory
    for group in made:
        group.stop_workers()
        delete_queue(group)


def location_states(group: SampleGroup) -> dict[str, dict]:
    loaded = load_group(group.file)
    states = {}
    for key, location in loaded.locations.items():
        store = Store.open(group.store_url, location.config.practice.practice())
        try:
            states[key] = store_state(store)
        finally:
            store.close()
    return states


def reference_states(group: SampleGroup) -> dict[str, dict]:
    """Each location run alone, in-process, into the same database under a practice key of its own."""
    loaded = load_group(group.file)
    states = {}
    for key, location in loaded.locations.items():
        config = load_config(location.config_path, store_url=group.store_url)
        alone = config.model_copy(update={"practice": config.practice.model_copy(update={"key": f"{key}-alone"})})
        run_sync(alone, parse_as_of(AS_OF, alone), check=True)
        store = Store.open(group.store_url, alone.practice.practice())
        try:
            states[key] = store_state(store)
        finally:
            store.close()
    return states


def assert_same_end_state(group: SampleGroup) -> None:
    expected, actual = reference_states(group), location_states(group)
    assert set(actual) == set(expected)
    for key in expected:
        assert expected[key]["tasks"], f"{key}: the sample location should have tasks"
        assert differences(expected[key], actual[key]) == [], key


def location_runs(group: SampleGroup, key: str) -> list:
    location = load_group(group.file).locations[key]
    store = Store.open(group.store_url, location.config.practice.practice())
    try:
        return sorted(store.list_runs(100), key=lambda r: r.started_at)
    finally:
        store.close()


def assert_never_overlapped(runs: list) -> None:
    """Each finished run ended before the next began (a killed run has no end: the next run marked it)."""
    for before, after in itertools.pairwise(runs):
        if before.status == "interrupted":
            assert before.finished_at is None
            continue
        assert before.finished_at is not None and before.finished_at <= after.started_at, (before, after)


def test_group_of_locations_ends_as_each_run_alone(group_factory, rabbitmq_url: str) -> None:
    group = group_factory(rabbitmq_url, locations=3)
    group.start_worker()
    group.start_worker()

    result = group.run()

    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary(result)["locations"]
    assert [r["state"] for r in rows] == ["succeeded"] * 3
    assert all(r["attempts"] == 1 and r["tasks_open"] > 0 and r["rows_read"] > 0 for r in rows)
    assert "[3/3]" in result.stderr  # progress as locations finish
    assert_same_end_state(group)
    for r in rows:
        assert [run.status for run in location_runs(group, r["location"])] == ["ok"]

    # group status: every location's data is from the sample's 2026-03-02, older than 30 hours: flagged (exit 4).
    status = subprocess.run([sys.executable, "-m", "pms_bridge", "group", "status", "--group", str(group.file),
                             "--json"], check=False, capture_output=True, text=True, timeout=60)
    assert status.returncode == 4, status.stderr
    found = json.loads(status.stdout)
    assert [s["location"] for s in found] == [r["location"] for r in rows]
    assert all(any("old" in flag for flag in s["flags"]) and s["runs"][0]["status"] == "ok" for s in found)
    assert all(s["last_job"]["state"] == "succeeded" for s in found)


def test_redis_broker(group_factory, redis_url: str) -> None:
    group = group_factory(redis_url, locations=2)
    group.start_worker(concurrency=2)

    result = group.run()

    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["state"] for r in summary(result)["locations"]] == ["succeeded"] * 2
    assert_same_end_state(group)


def _wait_for(path_glob: Path, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(path_glob.parent.glob(path_glob.name))
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"nothing matched {path_glob} within {timeout} s")


@pytest.mark.parametrize("killed", ["worker", "pool process"])
def test_worker_killed_mid_job(group_factory, rabbitmq_url: str, tmp_path: Path, killed: str) -> None:
    """SIGKILL in the middle of a location's sync (some chunks stored, not all): the job runs again on a
    worker that lives, the group completes, and every location ends as a clean run. Killing only the
    worker's main process is the first case on Linux (Celery has pool processes die with their parent);
    were one orphaned, the location's lock would keep it and the job's next run apart, as two overlapping
    group runs are kept apart below."""
    pause = tmp_path / "pause-hook"
    pause.mkdir()
    (pause / "pause").touch()
    group = group_factory(rabbitmq_url, locations=3)
    hooks = {"PMSB_TEST_PAUSE_DIR": str(pause), "PMSB_TEST_PAUSE_AT": "4"}
    workers = [group.start_worker(env=hooks), group.start_worker(env=hooks)]
    running = group.start_run()

    paused = _wait_for(pause / "paused-*")
    child = int(paused.name.split("-")[1])
    location = paused.read_text(encoding="utf-8")
    (holder,) = [w for w in workers if os.getpgid(child) == w.pid]
    if killed == "worker":  # the machine's worker dies whole: the broker connection drops
        os.killpg(holder.pid, signal.SIGKILL)
    else:  # the OOM killer takes the pool process; the worker's main process lives on
        os.kill(child, signal.SIGKILL)

    out, err = running.communicate(timeout=300)
    assert running.returncode == 0, err[-3000:]
    rows = {r["location"]: r for r in json.loads(out)["locations"]}
    assert all(r["state"] == "succeeded" for r in rows.values())
    assert rows[location]["lost_workers"] == 1 and rows[location]["attempts"] >= 2
    assert_same_end_state(group)
    runs = location_runs(group, location)
    assert [r.status for r in runs] == ["interrupted", "ok"]  # the killed run, marked by the next one
    assert_never_overlapped(runs)


def test_overlapping_group_runs_never_run_a_location_twice_at_once(group_factory, rabbitmq_url: str) -> None:
    group = group_factory(rabbitmq_url, locations=2)
    slow = {"PMSB_TEST_SLOW_SECONDS": "2"}
    group.start_worker(env=slow, concurrency=2)
    group.start_worker(env=slow, concurrency=2)

    first, second = group.start_run(), group.start_run()  # four jobs, four pool processes: they meet
    outcomes = [p.communicate(timeout=300) for p in (first, second)]

    assert [p.returncode for p in (first, second)] == [0, 0], [err[-2000:] for _, err in outcomes]
    group_runs = [json.loads(out)["group_run"] for out, _ in outcomes]
    book = GroupBook.open(group.store_url)
    try:
        jobs = [job for run_id in group_runs for job in book.jobs(run_id)]
    finally:
        book.close()
    assert all(job.state == "succeeded" for job in jobs)
    assert any(job.attempts > 1 for job in jobs), "no job found its location busy: the runs did not meet"
    for key in load_group(group.file).locations:
        runs = location_runs(group, key)
        assert [r.status for r in runs] == ["ok", "ok"]
        assert_never_overlapped(runs)


@pytest.mark.parametrize("broker", ["amqp://guest:guest@127.0.0.1:1//", "redis://127.0.0.1:1/0"])
def test_broker_down_is_exit_3(group_factory, postgres_url: str, broker: str) -> None:
    group = group_factory(broker, locations=1)

    result = group.run(timeout=60)

    assert result.returncode == 3, result.stderr
    assert "broker" in result.stderr and "not reachable" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "guest:guest" not in result.stderr  # the password is never shown
    book = GroupBook.open(group.store_url)
    try:
        assert book.run(1) is None  # nothing was queued or recorded
    finally:
        book.close()


def test_messages_carry_ids_and_keys_only(group_factory, rabbitmq_url: str) -> None:
    from kombu import Connection

    group = group_factory(rabbitmq_url, locations=2)
    result = group.run("--no-wait")
    assert result.returncode == 0, result.stderr

    loaded = load_group(group.file)
    with Connection(rabbitmq_url) as conn:
        queue = conn.SimpleQueue(loaded.queue)
        messages = [queue.get(timeout=5) for _ in loaded.locations]
        raw = [m.body if isinstance(m.body, bytes) else str(m.body).encode() for m in messages]
        bodies = [m.decode() for m in messages]
        headers = [m.headers for m in messages]
        for m in messages:
            m.ack()
        queue.close()
    assert sorted(args[1] for args, _, _ in bodies) == sorted(loaded.locations)
    assert all(args == [args[0], args[1], AS_OF] and kwargs == {} for args, kwargs, _ in bodies)
    names = set()
    for location in loaded.locations.values():
        with (location.config.source_path() / "patient.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                names.update(v for k, v in row.items() if k in ("LName", "FName", "WirelessPhone", "Email") and len(v) >= 4)
    wire = b"".join(raw) + json.dumps(headers, default=str).encode()
    assert names and not [n for n in names if n.encode() in wire]


def test_one_location_failing_never_stops_the_others(group_factory, rabbitmq_url: str) -> None:
    group = group_factory(rabbitmq_url, locations=2, retries=1)
    broken = load_group(group.file).locations["sample-dental-location-02"]
    for export in broken.config.source_path().glob("*.csv"):
        export.unlink()  # the office's export job failed: nothing to read
    group.start_worker()

    result = group.run()

    assert result.returncode == 4, result.stderr[-3000:]
    rows = {r["location"]: r for r in summary(result)["locations"]}
    assert rows["sample-dental-location-01"]["state"] == "succeeded"
    failed = rows["sample-dental-location-02"]
    assert failed["state"] == "failed" and failed["tasks_open"] is None
    # Source unreachable is transient: retried as [queue] retries says (1 here), then reported with its reason.
    assert failed["attempts"] == 2 and failed["retries"] == 1
    assert "after 1 retries" in failed["error"] and "retrying" in result.stderr
