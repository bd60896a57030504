"""Benchmark (issue 14): a large practice's first run and next night against the parse floor.

For each scale of the sample practice (1x = --base-patients patients), prints:

- parse floor: reading every export file with Python's csv module (all rows, in this process);
- first run: `pms-bridge run --as-of DEMO_AS_OF` as a child process into a fresh SQLite store: wall time,
  CPU time and peak RSS of that run alone;
- next night: the exports with about 1% of each table's rows changed (a column the mapping reads, and a newer
  change stamp), a few appended and a few deleted (seeded), then `pms-bridge run --as-of` one day later on the
  same store;
- the ratios to the floor, and between scales (10x / 1x);
- the same first run into PostgreSQL (a database of its own, dropped after; skipped with a line when no server
  answers) and its ratio to SQLite;
- with --history: peak RSS of a first run of the same patients with 3 and 6 years of history.

It ends with Markdown tables for benchmarks/README.md (wall-time ratios, then CPU-time ratios, steadier on a
busy machine) and the machine it ran on. Not part of the unit tests.

    python benchmarks/large_practice.py                                # 1x and 10x (3,300 and 33,000 patients)
    python benchmarks/large_practice.py --scales 1 --base-patients 300 # a quick look
    python benchmarks/large_practice.py --work-dir /tmp/pmsb-bench     # keep the generated exports for next time

PostgreSQL: PMS_BRIDGE_TEST_POSTGRES_URL (as the tests), default postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.mapping import load_mapping
from pms_bridge.sample import generate_practice

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
NEXT_NIGHT = DEMO_AS_OF + timedelta(days=1)
# What the practice changed during the day: stamped before the next night's run.
CHANGED_AT = (DEMO_AS_OF + timedelta(hours=20)).strftime("%Y-%m-%d %H:%M:%S")

# Per table: the column the mapping reads that a day's work changes, and how. Tables not listed (lookups,
# the few provider rows) stay as they were.
CHANGES: dict[str, tuple[str, str]] = {
    "procedurecode": ("Descript", "text"),
    "patient": ("LName", "text"),
    "appointment": ("SecDateTEntry", "day_earlier"),
    "procedurelog": ("ProcFee", "money"),
    "refattach": ("RefDate", "day_earlier"),
    "patplan": ("IsPending", "flip"),
    "insverify": ("DateLastVerified", "day_earlier"),
    "document": ("DateCreated", "day_earlier"),
    "mount": ("DateCreated", "day_earlier"),
    "sheet": ("DateTimeSheet", "day_earlier"),
    "eform": ("DateTimeShown", "day_earlier"),
    "claim": ("ClaimFee", "money"),
}
NEVER_DELETED = {"patient", "procedurecode"}  # Open Dental archives these; it does not delete them


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class RunResult:
    seconds: float  # wall time
    cpu_seconds: float  # user + system of the child alone (a PostgreSQL server's work is not in it)
    peak_rss_mib: float
    exit_code: int


@dataclass
class Floor:
    rows: int
    seconds: float
    cpu_seconds: float


def parse_floor(folder: Path, repeats: int) -> Floor:
    """Reading every export file with csv.reader (as sync_vs_parse.py): the best of ``repeats`` reads."""
    best = Floor(0, float("inf"), float("inf"))
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        rows = 0
        for path in sorted(folder.glob("*.csv")):
            with path.open(newline="", encoding="utf-8") as fh:
                for _row in csv.reader(fh):
                    rows += 1
        best = Floor(rows, min(best.seconds, time.perf_counter() - start),
                     min(best.cpu_seconds, time.process_time() - cpu))
    return best


def _pms_bridge() -> list[str]:
    script = Path(sys.executable).parent / "pms-bridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pms_bridge"]


# Starts the measured run and reports its wall time and resource usage. A small process of its own: Linux
# carries a process's peak RSS across fork and exec, so a run started straight from this benchmark (hundreds
# of MiB after changing the 10x exports) would report the benchmark's size, not its own.
_LAUNCHER = """
import json, os, subprocess, sys, time
with open(sys.argv[1], "w") as log:
    start = time.perf_counter()
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
peak = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024 / 1024  # KiB / bytes
print(json.dumps([seconds, usage.ru_utime + usage.ru_stime, peak, child.returncode]))
"""


def run_child(config: Path, as_of: datetime, log: Path, options: Sequence[str] = ()) -> RunResult:
    """`pms-bridge run` in a child process: wall time, CPU time and the peak RSS of that run alone.
    ``options``: more of the command's options (--backdate)."""
    command = [*_pms_bridge(), "run", "--config", str(config), "--as-of", as_of.strftime("%Y-%m-%dT%H:%M"),
               *options]
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(log), *command], cwd=config.parent,
                          capture_output=True, text=True, check=True)
    seconds, cpu, peak, code = json.loads(done.stdout)
    if code not in (0, 4):  # 4: a partial run (quarantined rows) still measures the whole path
        tail = log.read_text(errors="replace")[-3000:]
        sys.exit(f"pms-bridge run failed (exit {code}): {' '.join(command)}\n{tail}")
    return RunResult(seconds, cpu, peak, code)


def run_summaries(config: Path, last: int = 1) -> list[dict]:
    """The summaries of the config's ``last`` runs, the latest first (`pms-bridge runs --json`): rows read per
    table, snapshot counts, findings."""
    done = subprocess.run([*_pms_bridge(), "runs", "--config", str(config), "--json", "--limit", str(last)],
                          cwd=config.parent, capture_output=True, text=True, check=True)
    return [run["summary"] for run in json.loads(done.stdout)]


def rows_read(summary: dict) -> int:
    return sum(resource.get("rows_read", 0) for resource in summary.get("resources", []))


def startup_seconds() -> float:
    """Wall time of `pms-bridge --version`: the interpreter and imports every run pays before reading a row."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([*_pms_bridge(), "--version"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


# ------------------------------------------------------------------------------------------- the exports


def exports(data_dir: Path, patients: int, history_years: int = 3) -> Path:
    """The generated exports for this size, generated once (planted.json is written last: a complete folder)."""
    folder = data_dir / (f"p{patients}" if history_years == 3 else f"p{patients}-h{history_years}")
    if not (folder / "planted.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        generate_practice(folder, as_of=DEMO_AS_OF, patients=patients, history_years=history_years)
        print(f"  generated {folder} in {time.perf_counter() - start:.0f}s", flush=True)
    return folder


def write_config(run_dir: Path, source: Path, store_url: str | None = None) -> Path:
    return practice_config(run_dir, f'connector = "csv"\nmapping = "opendental"\npath = "{source.as_posix()}"\n',
                           store_url)


def practice_config(run_dir: Path, source_settings: str, store_url: str | None = None) -> Path:
    """The benchmark practice's config with these [source] settings (TOML lines), into a SQLite store in the run
    folder or ``store_url``."""
    store = f'url = "{store_url}"' if store_url else 'path = "state/store.sqlite"'
    config = run_dir / "practice.toml"
    config.write_text(
        f'[practice]\nname = "Bench"\ntimezone = "America/Chicago"\n'
        f"[source]\n{source_settings}"
        f"[store]\n{store}\n"
    )
    return config


def fresh_run_dir(work: Path, name: str, pristine: Path) -> tuple[Path, Path]:
    """A run folder with its own copy of the exports (the next night changes them in place)."""
    run_dir = work / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    source = run_dir / "exports"
    shutil.copytree(pristine, source)
    return run_dir, source


@dataclass
class Changes:
    changed: int = 0
    appended: int = 0
    deleted: int = 0
    tables: list[str] = field(default_factory=list)


def _changed_value(value: str, how: str) -> str | None:
    """The value a day's work leaves in place of ``value``; None when this row's value cannot change so."""
    if how == "text":
        return value + "e" if value else None
    if how == "money":
        try:
            return f"{float(value) + 1:.2f}"
        except ValueError:
            return None
    if how == "flip":
        return {"0": "1", "1": "0"}.get(value)
    if how == "day_earlier":
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                day = datetime.strptime(value, fmt)
            except ValueError:
                continue
            return None if day.year < 1900 else (day - timedelta(days=1)).strftime(fmt)  # 0001-01-01: unset
    return None


def next_night(folder: Path, seed: int, fraction: float) -> Changes:
    """Change the exports in ``folder`` as a day's work would: in each table of CHANGES, ``fraction`` of the
    rows get a new value in a column the mapping reads and a newer change stamp; a few rows are appended
    (copies under new ids) and a few deleted (well under the 10% removal guard)."""
    mapping = load_mapping("opendental")
    stamps = {}
    for name, spec in mapping.resources.items():
        updated = spec.fields.get("source_updated_at")
        stamps[mapping.resource_files(name)[0]] = getattr(updated, "column", None)
    rng = random.Random(seed)
    total = Changes()
    for table, (column, how) in CHANGES.items():
        path = folder / f"{table}.csv"
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        if not rows:
            continue
        at = header.index(column)
        stamp = header.index(stamps[table]) if stamps.get(table) in header else None
        to_change = round(len(rows) * fraction)
        few = max(1, len(rows) // 2000) if len(rows) >= 100 else 0
        changed = 0
        for index in rng.sample(range(len(rows)), len(rows)):
            if changed >= to_change:
                break
            new = _changed_value(rows[index][at], how)
            if new is None:
                continue
            rows[index][at] = new
            if stamp is not None:
                rows[index][stamp] = CHANGED_AT
            changed += 1
        deleted = 0 if table in NEVER_DELETED else few
        for index in sorted(rng.sample(range(len(rows)), deleted), reverse=True):
            del rows[index]
        next_id = max(int(row[0]) for row in rows if row[0].isdigit()) + 1
        for number in range(few):
            row = list(rng.choice(rows))
            row[0] = str(next_id + number)
            if stamp is not None:
                row[stamp] = CHANGED_AT
            rows.append(row)
        partial = path.with_suffix(".csv.tmp")
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        partial.replace(path)  # a new size and mtime, as a fresh export
        total.changed += changed
        total.appended += few
        total.deleted += deleted
        total.tables.append(table)
    return total


# ------------------------------------------------------------------------------------------- PostgreSQL


def postgres_database(url: str) -> tuple[str, str] | str:
    """(the URL of a new database, its name) or why there is none."""
    try:
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url
    except ImportError:
        return "psycopg is not installed (pip install 'pms-bridge[postgres]')"
    server = make_url(url)
    name = f"pmsb_bench_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(**_connect_params(server)) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except Exception as exc:  # noqa: BLE001 - any failure: no PostgreSQL figure, said why
        return f"no PostgreSQL at {server.render_as_string(hide_password=True)} ({type(exc).__name__})"
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    with psycopg.connect(**_connect_params(make_url(url))) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _connect_params(server) -> dict:  # server: a SQLAlchemy URL
    return {"host": server.host, "port": server.port or 5432, "user": server.username, "password": server.password,
            "dbname": server.database, "autocommit": True, "connect_timeout": 5}


def postgres_version(url: str) -> str | None:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        with psycopg.connect(**_connect_params(make_url(url))) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------------------------ the run


@dataclass
class ScaleResult:
    scale: int
    patients: int
    floor: Floor
    first: RunResult
    next: RunResult
    changes: Changes
    postgres: RunResult | None = None
    history: dict[int, RunResult] = field(default_factory=dict)


def measure(scale: int, args: argparse.Namespace, work: Path, data_dir: Path) -> ScaleResult:
    patients = args.base_patients * scale
    print(f"{scale}x: {patients:,} patients", flush=True)
    pristine = exports(data_dir, patients)
    floor = parse_floor(pristine, args.floor_repeats)
    print(f"  parse floor: {floor.rows:,} rows in {floor.seconds:.2f}s (CPU {floor.cpu_seconds:.2f}s)", flush=True)

    run_dir, source = fresh_run_dir(work, f"sqlite-p{patients}", pristine)
    config = write_config(run_dir, source)
    first = run_child(config, DEMO_AS_OF, run_dir / "first.log")
    print(f"  first run: {first.seconds:.1f}s (CPU {first.cpu_seconds:.1f}s), peak RSS {first.peak_rss_mib:,.0f} MiB",
          flush=True)
    changes = next_night(source, args.seed, args.change_fraction)
    print(f"  next night: {changes.changed:,} rows changed, {changes.appended} appended, {changes.deleted} deleted "
          f"in {len(changes.tables)} tables", flush=True)
    again = run_child(config, NEXT_NIGHT, run_dir / "next.log")
    print(f"  next-night run: {again.seconds:.1f}s (CPU {again.cpu_seconds:.1f}s), "
          f"peak RSS {again.peak_rss_mib:,.0f} MiB", flush=True)
    result = ScaleResult(scale, patients, floor, first, again, changes)

    if not args.no_postgres:
        created = postgres_database(args.postgres_url)
        if isinstance(created, str):
            print(f"  PostgreSQL skipped: {created}", flush=True)
        else:
            url, name = created
            try:
                pg_dir, pg_source = fresh_run_dir(work, f"postgres-p{patients}", pristine)
                result.postgres = run_child(write_config(pg_dir, pg_source, url), DEMO_AS_OF, pg_dir / "first.log")
                print(f"  PostgreSQL first run: {result.postgres.seconds:.1f}s, "
                      f"peak RSS {result.postgres.peak_rss_mib:,.0f} MiB", flush=True)
            finally:
                drop_postgres_database(args.postgres_url, name)

    if args.history:
        for years in (3, 6):
            folder = exports(data_dir, patients, history_years=years)
            h_dir, h_source = fresh_run_dir(work, f"history-p{patients}-h{years}", folder)
            result.history[years] = run_child(write_config(h_dir, h_source), DEMO_AS_OF, h_dir / "first.log")
            print(f"  {years} years of history: first run {result.history[years].seconds:.1f}s, "
                  f"peak RSS {result.history[years].peak_rss_mib:,.0f} MiB", flush=True)
    if not args.keep_runs:
        for run in work.glob(f"*-p{patients}*"):
            shutil.rmtree(run, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------------------------ output


def _x(value: float) -> str:
    return f"{value:.1f}×"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def markdown(results: list[ScaleResult]) -> str:
    lines = [
        ("| practice | rows | parse floor | first run | first / floor | peak RSS | next night | next / floor "
         "| peak RSS | PostgreSQL first | PG / SQLite |"),
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        pg = _s(r.postgres.seconds) if r.postgres else "skipped"
        pg_ratio = _x(r.postgres.seconds / r.first.seconds) if r.postgres else "–"
        partial = " (partial)" if 4 in (r.first.exit_code, r.next.exit_code) else ""
        lines.append(
            f"| {r.scale}× ({r.patients:,} patients){partial} | {r.floor.rows:,} | {_s(r.floor.seconds)} "
            f"| {_s(r.first.seconds)} | {_x(r.first.seconds / r.floor.seconds)} | {r.first.peak_rss_mib:,.0f} MiB "
            f"| {_s(r.next.seconds)} | {_x(r.next.seconds / r.floor.seconds)} | {r.next.peak_rss_mib:,.0f} MiB "
            f"| {pg} | {pg_ratio} |"
        )
    lines += ["", ("CPU time (user + system of the benchmark for the floor, of the run's process for the runs; "
              "steadier than wall time on a busy machine):"), "",
              "| practice | parse floor | first run | first / floor | next night | next / floor |",
              "|---|--:|--:|--:|--:|--:|"]
    for r in results:
        floor = r.floor.cpu_seconds
        lines.append(f"| {r.scale}× | {_s(floor)} | {_s(r.first.cpu_seconds)} | {_x(r.first.cpu_seconds / floor)} "
                     f"| {_s(r.next.cpu_seconds)} | {_x(r.next.cpu_seconds / floor)} |")
    base = results[0]
    if len(results) > 1:
        lines += ["", (f"| scaling (vs {base.scale}×) | rows | floor | first run | next night | peak RSS first "
                  "| peak RSS next |"), "|---|--:|--:|--:|--:|--:|--:|"]
        for r in results[1:]:
            lines.append(
                f"| {r.scale}× / {base.scale}× | {_x(r.floor.rows / base.floor.rows)} "
                f"| {_x(r.floor.seconds / base.floor.seconds)} | {_x(r.first.seconds / base.first.seconds)} "
                f"| {_x(r.next.seconds / base.next.seconds)} | {_x(r.first.peak_rss_mib / base.first.peak_rss_mib)} "
                f"| {_x(r.next.peak_rss_mib / base.next.peak_rss_mib)} |"
            )
    history = [r for r in results if r.history]
    if history:
        lines += ["", "| history | patients | first run, 3 years | peak RSS | first run, 6 years | peak RSS |",
                  "|---|--:|--:|--:|--:|--:|"]
        for r in history:
            three, six = r.history[3], r.history[6]
            lines.append(f"| {r.scale}× | {r.patients:,} | {_s(three.seconds)} | {three.peak_rss_mib:,.0f} MiB "
                         f"| {_s(six.seconds)} | {six.peak_rss_mib:,.0f} MiB |")
    return "\n".join(lines)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], check=False, capture_output=True, text=True, cwd=Path(__file__).parent)
    except OSError:  # no git
        return ""
    return done.stdout.strip()


def machine(postgres_url: str | None, startup: float) -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    pg = postgres_version(postgres_url) if postgres_url else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; load average {load:.1f} at the end; commit {commit}{' with local changes' if dirty else ''}; "
            f"{os.cpu_count()} cores ({platform.machine()}, {platform.system()}); Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}" + (f"; PostgreSQL {pg}" if pg else "")
            + f"; `pms-bridge --version` takes {startup:.2f} s (start-up, in every run's time)")


def add_practice_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say which practices are measured and where (shared with database_route.py)."""
    parser.add_argument("--scales", default="1,10", help="multiples of --base-patients, e.g. 1,10 (default)")
    parser.add_argument("--base-patients", type=int, default=3300, help="patients at 1x (default 3300)")
    parser.add_argument("--work-dir", type=Path, help="keep generated exports (and --keep-runs) here; "
                        "default: a temporary folder removed at the end")
    parser.add_argument("--data-dir", type=Path, help="where generated exports are kept (default WORK-DIR/data); "
                        "a folder pN that holds planted.json is reused, never changed")
    parser.add_argument("--keep-runs", action="store_true", help="keep each run's folder (store, logs)")
    parser.add_argument("--change-fraction", type=float, default=0.01, help="rows changed for the next night")
    parser.add_argument("--seed", type=int, default=14, help="seed of the next night's changes")
    parser.add_argument("--floor-repeats", type=int, default=3, help="the floor is the best of this many reads")


@contextmanager
def work_folders(args: argparse.Namespace) -> Iterator[tuple[Path, Path]]:
    """(the work folder, the folder of generated exports); without --work-dir a temporary folder, removed after."""
    temporary = None
    if args.work_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="pmsb-bench-")
        args.work_dir = Path(temporary.name)
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work, (args.data_dir or work / "data").resolve()
    finally:
        if temporary is not None:
            temporary.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_practice_arguments(parser)
    parser.add_argument("--postgres-url", default=os.environ.get("PMS_BRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--history", action="store_true", help="also peak RSS with 3 vs 6 years of history")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]

    with work_folders(args) as (work, data_dir):
        results = [measure(scale, args, work, data_dir) for scale in scales]
    print()
    print(markdown(results))
    print()
    print(f"Machine: {machine(None if args.no_postgres else args.postgres_url, startup_seconds())}")


if __name__ == "__main__":
    main()
