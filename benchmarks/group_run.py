"""Benchmark (issue 16): a group of sample locations on one worker process vs two.

Generates a group of sample practices once (`pms-bridge sample --locations N --group-store ...`), then for each
configuration:

- creates a PostgreSQL database of its own (dropped at the end) and gives the group a key of its own (so its
  queue is its own on a broker others may share);
- starts the workers: "one" is one `pms-bridge worker -n 1`, "two" is two `pms-bridge worker -n 1` (two
  processes, as on two machines), and waits until each says it is ready;
- times `pms-bridge group run --json --as-of ...` from start to exit (wall), and reads each location's run time
  from the summary (`seconds`: the job's run_sync) and each job's start and end from the store;
- samples the resident memory of every worker process (pool children included) every half second;
- stops the workers (SIGTERM, then SIGKILL after a grace period) and deletes the configuration's queue.

It prints a Markdown table for benchmarks/README.md and the machine line. Not part of the unit tests.

    python benchmarks/group_run.py                       # 20 locations of 600 patients
    python benchmarks/group_run.py --locations 6 --patients 100 --work-dir /tmp/pmsb-group   # a quick look

PostgreSQL: PMS_BRIDGE_TEST_POSTGRES_URL (as the tests), default postgresql://postgres@127.0.0.1:5432/test;
broker: PMS_BRIDGE_TEST_RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672//.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
AS_OF = "2026-03-02T08:00"
CONFIGURATIONS = {"one": 1, "two": 2}  # name: worker processes (each `pms-bridge worker -n 1`)
READY_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 30
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CLI = [sys.executable, "-m", "pms_bridge"]


@dataclass
class Outcome:
    name: str
    workers: int
    wall: float
    location_seconds: dict[str, float]  # the job's own figure (run_sync), from the summary
    makespan: float  # first job's start to last job's end, from the store
    states: dict[str, int]
    peak_rss_mib: float  # the largest single worker process seen (pool children included)
    cpu: float  # the workers' CPU seconds during the group run (the PostgreSQL server's are not in it)
    load_before: float  # the 1-minute load average: on a busy machine the two configurations do not compare
    load_after: float = field(default_factory=lambda: os.getloadavg()[0])


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server (dropped after, even with its connections still open)."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"pmsb_group_bench_{uuid.uuid4().hex[:10]}"
    params = {"host": server.host, "port": server.port or 5432, "user": server.username,
              "password": server.password, "dbname": server.database, "autocommit": True}
    with psycopg.connect(**params) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**params) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def group_file_for(template: Path, store_url: str, key: str) -> Path:
    """A copy of the sample group file (beside it: the location paths stay relative) with its own store and key."""
    text = template.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^url = ".*"$', f'url = "{store_url}"', text, count=1)
    text = re.sub(r"(?m)^\[group\]$", f'[group]\nkey = "{key}"', text, count=1)
    path = template.with_name(f"group-{key}.toml")
    path.write_text(text, encoding="utf-8")
    return path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system time of a process and of its children it has reaped (pool processes it replaced)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime


def workers_cpu_seconds(pids: list[int]) -> float:
    """CPU time of the workers so far: their main processes and their pool processes, live or replaced."""
    return sum(_cpu_seconds(pid) + sum(_cpu_seconds(child) for child in _children(pid)) for pid in pids)


def _rss_mib(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


class MemorySampler(threading.Thread):
    """The largest resident set of any process under the given workers, sampled every half second."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.peak, self._done = pids, 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            tree = list(self.pids)
            for pid in self.pids:
                tree += _children(pid)
            self.peak = max([self.peak, *(_rss_mib(pid) for pid in tree)])

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def start_workers(group_file: Path, count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for i in range(count):
        log = open(log_dir / f"{group_file.stem}-worker{i + 1}.log", "wb")  # noqa: SIM115 - closed with the process
        workers.append(subprocess.Popen([*CLI, "worker", "--group", str(group_file), "-n", "1"], stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    for i, proc in enumerate(workers):
        log_path = log_dir / f"{group_file.stem}-worker{i + 1}.log"
        while b" ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                sys.exit(f"worker {i + 1} did not start: see {log_path}")
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (a warm shutdown: running jobs end first), then SIGKILL to what is left of each worker's session."""
    for proc in workers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def delete_queue(broker: str, queue: str) -> None:
    """The configuration's queue, empty once its jobs ended: removed so benchmark runs leave no queues."""
    from kombu import Connection

    with Connection(broker, connect_timeout=5) as conn:
        conn.channel().queue_delete(queue)


def job_times(store_url: str, group_run_id: int) -> float:
    """First job's start to last job's end, as the workers recorded them."""
    from sqlalchemy import create_engine, func, select

    from pms_bridge.store.group_book import group_jobs

    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            first, last = conn.execute(select(func.min(group_jobs.c.started_at), func.max(group_jobs.c.finished_at))
                                       .where(group_jobs.c.group_run_id == group_run_id)).one()
    finally:
        engine.dispose()
    return (last - first).total_seconds()


def measure(name: str, workers: int, template: Path, server_url: str, broker: str, log_dir: Path) -> Outcome:
    key = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    load_before = os.getloadavg()[0]
    with fresh_database(server_url) as store_url:
        group_file = group_file_for(template, store_url, key)
        procs = start_workers(group_file, workers, log_dir)
        sampler = MemorySampler([p.pid for p in procs])
        sampler.start()
        try:
            cpu_before = workers_cpu_seconds([p.pid for p in procs])
            began = time.perf_counter()
            done = subprocess.run([*CLI, "group", "run", "--group", str(group_file), "--as-of", AS_OF, "--json"],
                                  capture_output=True, text=True, check=False)
            wall = time.perf_counter() - began
            cpu = workers_cpu_seconds([p.pid for p in procs]) - cpu_before
        finally:
            try:
                peak = sampler.stop()
            finally:
                stop_workers(procs)
                delete_queue(broker, f"pms-bridge.{key}")
        if done.returncode not in (0, 4):
            sys.exit(f"group run ({name}) exited {done.returncode}:\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout)
        makespan = job_times(store_url, summary["group_run"])
    rows = summary["locations"]
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return Outcome(name, workers, wall, {r["location"]: r["seconds"] for r in rows if r["seconds"] is not None},
                   makespan, states, peak, cpu, load_before)


def table(outcomes: list[Outcome], locations: int, patients: int) -> str:
    lines = [
        ("| workers | locations × patients | wall (`group run`) | jobs' span (store) | per location: median | "
        "min – max | sum of locations | sum / wall | workers' CPU | peak RSS of a worker process | "
         "load before → after | states |"),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for o in outcomes:
        secs = list(o.location_seconds.values())
        lines.append(
            f"| {o.workers} × `worker -n 1` | {locations} × {patients} | {o.wall:.1f} s | {o.makespan:.1f} s | "
            f"{statistics.median(secs):.1f} s | {min(secs):.1f} – {max(secs):.1f} s | {sum(secs):.1f} s | "
            f"{sum(secs) / o.wall:.2f} | {o.cpu:.1f} s | {o.peak_rss_mib:.0f} MiB | {o.load_before:.1f} → {o.load_after:.1f} | "
            + ", ".join(f"{n} {s}" for s, n in sorted(o.states.items())) + " |")
    by_name = {o.name: o for o in outcomes}
    if {"one", "two"} <= by_name.keys():
        one, two = by_name["one"], by_name["two"]
        med = statistics.median(two.location_seconds.values()) / statistics.median(one.location_seconds.values())
        lines += ["", (f"one / two: wall {one.wall / two.wall:.2f}×, jobs' span {one.makespan / two.makespan:.2f}×; "
                  f"a location's median time with two workers / with one: {med:.2f}×")]
    return "\n".join(lines)


def machine_line() -> str:
    cpus = os.cpu_count()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{datetime.now():%Y-%m-%d}, {cpus} cores ({model}), Python {platform.python_version()}, "
            f"load average at the end {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--patients", type=int, default=600, help="Patients per location.")
    parser.add_argument("--postgres-url", default=os.environ.get("PMS_BRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--broker", default=os.environ.get("PMS_BRIDGE_TEST_RABBITMQ_URL", DEFAULT_BROKER))
    parser.add_argument("--work-dir", type=Path, help="Keep the sample exports and the workers' logs here.")
    parser.add_argument("--order", default="one,two", help="Configurations in the order they run (one, two).")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="pmsb-group-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    exports = work / f"l{args.locations}-p{args.patients}"
    template = exports / "group.toml"
    if not template.is_file():
        print(f"generating {args.locations} sample locations of {args.patients} patients in {exports} ...",
              file=sys.stderr)
        subprocess.run([*CLI, "sample", "--output", str(exports), "--locations", str(args.locations),
                        "--patients", str(args.patients), "--group-store", args.postgres_url,
                        "--broker", args.broker], check=True, stdout=subprocess.DEVNULL)
    outcomes = []
    for name in args.order.split(","):
        print(f"{name}: {CONFIGURATIONS[name]} worker process(es) ...", file=sys.stderr)
        outcome = measure(name, CONFIGURATIONS[name], template, args.postgres_url, args.broker, work)
        print(f"{name}: {outcome.wall:.1f} s", file=sys.stderr)
        outcomes.append(outcome)
    print(table(outcomes, args.locations, args.patients))
    print()
    print(machine_line())


if __name__ == "__main__":
    main()
