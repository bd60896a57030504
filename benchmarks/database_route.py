"""Benchmark (issue 15): the opendental-db route's first run and next night, beside the CSV route's.

For each scale of the sample practice (the exports large_practice.py generates and measures), in one invocation:

- the CSV route as large_practice.py measures it (parse floor, first run, next night), into SQLite;
- the same exports loaded into a MariaDB/MySQL database of the benchmark's own, with Open Dental's tables and
  column types (tests/fakes/office_db.py, in bulk: LOAD DATA LOCAL INFILE); the load is timed apart, it is not
  part of any run;
- the read floor: the connector alone (in this process) reading every table the mapping reads as the first
  run's statements select it, rows turned into text cells, nothing mapped or stored; the best of
  --floor-repeats reads, the server's cache warm;
- first run: `pms-bridge run` with an opendental-db config (a SELECT-only account the benchmark creates) into a
  fresh SQLite store, as a child process: wall time, CPU time, peak RSS; and the database server's CPU time
  while it ran (when the server runs on this machine: /proc; other sessions' queries count too);
- next night: the very changes large_practice.py makes to the exports (changed rows with a newer stamp,
  appended rows, deleted rows: the export files before and after, compared by primary key), applied to the
  database with the change stamps moved to the server's clock, so the incremental read sees them; then
  `pms-bridge run` one day later on the same store. Rows read come from the run's summary.
- whether the database route's store ends with the same snapshot counts and findings as the CSV route's.

The database, its tables and the account are dropped at the end. Without a server the database columns say
"skipped", with a line why. Not part of the unit tests.

    python benchmarks/database_route.py --work-dir /tmp/pmsb-bench           # 1x and 10x
    python benchmarks/database_route.py --scales 1 --base-patients 300        # a quick look

MariaDB/MySQL: PMS_BRIDGE_TEST_MARIADB_URL (as the tests), default mysql://root@127.0.0.1:3306/test, or
--mariadb-url: an account that may create databases and users.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import large_practice as lp
from sqlalchemy.engine import make_url

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.database import connect as connect_database
from pms_bridge.logs import configure_logging
from pms_bridge.mapping import load_mapping
from pms_bridge.pipeline.sync import mapping_columns

# The tests' office database: Open Dental's tables and column types, loaded in bulk.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fakes.office_db import OfficeDatabase, connect

DEFAULT_MARIADB_URL = "mysql://root@127.0.0.1:3306/test"
PASSWORD_ENV = "PMSB_BENCH_DB_PASSWORD"  # the SELECT-only account's password, for the runs the benchmark starts
# The runs' as-of times are the demo's (as the CSV route's), before the server's clock that stamps the data.
BACKDATE = ("--backdate",)


@dataclass
class DatabaseResult:
    load_seconds: float
    rows_loaded: int
    floor: lp.Floor
    first: lp.RunResult
    next: lp.RunResult
    next_rows_read: int
    applied: dict[str, tuple[int, int, int]]  # table -> (inserted, updated, deleted)
    server_cpu: dict[str, float] = field(default_factory=dict)  # floor / first / next -> the server's CPU seconds
    same_as_csv: dict[str, str] = field(default_factory=dict)  # first / next -> "yes" or what differs


@dataclass
class ScaleResult:
    csv: lp.ScaleResult
    csv_next_rows_read: int
    database: DatabaseResult | None
    skipped: str = ""


# ------------------------------------------------------------------------------------------------ the server


def mariadb_database(url: str) -> tuple[str, str] | str:
    """(an administrator's URL of a new database, its name) or why there is none."""
    server = make_url(url)
    name = f"pmsb_bench_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    try:
        _on_server(url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except Exception as exc:  # noqa: BLE001 - any failure: no database figures, said why
        return f"no MariaDB/MySQL at {server.render_as_string(hide_password=True)} ({type(exc).__name__})"
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_mariadb_database(url: str, name: str) -> None:
    _on_server(url, f"DROP DATABASE IF EXISTS `{name}`")


def _on_server(url: str, sql: str) -> None:
    """One statement as the administrator, outside any database."""
    conn = connect(url, database=None, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def server_version(url: str) -> str | None:
    try:
        conn = connect(url, database=None)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                return str(cur.fetchone()[0])
        finally:
            conn.close()
    except Exception:  # noqa: BLE001
        return None


class ServerClock:
    """The database server's CPU time (user + system), when it runs on this machine and /proc shows it."""

    def __init__(self, office: OfficeDatabase) -> None:
        self._stat: Path | None = None
        if office.host in ("127.0.0.1", "localhost", "::1"):
            try:
                (pid_file,), = office.query("SELECT @@pid_file")
                self._stat = Path(f"/proc/{Path(pid_file).read_text().strip()}/stat")
                self.seconds()
            except (OSError, ValueError):
                self._stat = None

    def seconds(self) -> float | None:
        if self._stat is None:
            return None
        fields = self._stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    @contextmanager
    def measure(self, into: dict[str, float], key: str) -> Iterator[None]:
        before = self.seconds()
        yield
        after = self.seconds()
        if before is not None and after is not None:
            into[key] = after - before


# ------------------------------------------------------------------------------------------- the practice


def database_config(run_dir: Path, account_url: str) -> Path:
    return lp.practice_config(run_dir, f'connector = "opendental-db"\nurl = "{account_url}"\n'
                                       f'password_env = "{PASSWORD_ENV}"\n')


def read_floor(config: Path, repeats: int) -> lp.Floor:
    """The connector alone, as the first run reads: every table the mapping reads, its columns selected,
    streamed and turned into text cells; nothing mapped or stored. The best of ``repeats`` reads."""
    cfg = load_config(config)
    spec = load_connector_spec(cfg.connector_name())
    mapping = load_mapping(cfg.source.mapping or spec.default_mapping)
    tables = ([(name, mapping.lookup_files(name)) for name in mapping.lookups if name not in mapping.resources]
              + [(name, mapping.resource_files(name)) for name in mapping.resources])
    best = lp.Floor(0, float("inf"), float("inf"))
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        connector = connect_database(spec, cfg.source, ca=cfg.ssl_ca_path())
        rows = 0
        try:
            for name, files in tables:
                table = connector.open(files, cursor=None, columns=mapping_columns(mapping, name))
                if table is not None:
                    rows += sum(len(chunk) for chunk in table.chunks())
        finally:
            connector.close()
        best = lp.Floor(rows, min(best.seconds, time.perf_counter() - start),
                        min(best.cpu_seconds, time.process_time() - cpu))
    return best


def export_changes(before: Path, after: Path) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], dict[str, str]]],
                                                       list[int]]:
    """What next_night did to one export file, by primary key (the first column): rows added, (before, after)
    rows changed, ids deleted."""
    with before.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        old = {int(row[0]): tuple(row) for row in reader}
    added, changed = [], []
    with after.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        if next(reader) != header:
            raise ValueError(f"{after.name}: the next night's file has other columns")
        for row in reader:
            was = old.pop(int(row[0]), None)
            if was is None:
                added.append(dict(zip(header, row, strict=True)))
            elif was != tuple(row):
                changed.append((dict(zip(header, was, strict=True)), dict(zip(header, row, strict=True))))
    return added, changed, sorted(old)


def apply_next_night(office: OfficeDatabase, pristine: Path, changed: Path, tables: list[str]) -> dict[str, tuple[int, int, int]]:
    """The next night's export files, as the office's day of work on the database: one transaction, every
    added or changed row stamped by the server's clock now."""
    now = office.server_now()
    applied = {}
    office.execute("START TRANSACTION")
    try:
        for table in tables:
            added, updated, gone = export_changes(pristine / f"{table}.csv", changed / f"{table}.csv")
            office.change(table, added, updated, gone, now)
            applied[table] = (len(added), len(updated), len(gone))
        office.execute("COMMIT")
    except BaseException:
        office.execute("ROLLBACK")
        raise
    return applied


def compare(database: dict, csv_route: dict) -> str:
    """'yes' when two run summaries hold the same snapshot counts and findings, else what differs."""
    differs = [what for what in ("snapshot", "findings") if database.get(what) != csv_route.get(what)]
    if not differs:
        return "yes"
    details = []
    for what in differs:
        ours, theirs = database.get(what) or {}, csv_route.get(what) or {}
        keys = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        details.append(f"{what}: " + ", ".join(f"{k} {ours.get(k)} vs {theirs.get(k)}" for k in keys))
    return "no (" + "; ".join(details) + ")"


# ------------------------------------------------------------------------------------------------ the run


def measure_database(patients: int, args: argparse.Namespace, work: Path, pristine: Path,
                     csv_summaries: dict[str, dict]) -> DatabaseResult | str:
    """The database route at one scale (see the module's docstring), or why it was skipped."""
    created = mariadb_database(args.mariadb_url)
    if isinstance(created, str):
        return created
    admin_url, name = created
    office = None
    try:
        office = OfficeDatabase(admin_url)
        clock = ServerClock(office)
        start = time.perf_counter()
        loaded = office.load_export(pristine)
        load_seconds = time.perf_counter() - start
        print(f"  database: {sum(loaded.values()):,} rows loaded in {load_seconds:.1f}s", flush=True)
        account = office.reader()
        os.environ[PASSWORD_ENV] = account.password
        run_dir = work / f"mariadb-p{patients}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        config = database_config(run_dir, account.url)
        server: dict[str, float] = {}

        with clock.measure(server, "floor"):
            floor = read_floor(config, args.floor_repeats)
        if "floor" in server:
            server["floor"] /= args.floor_repeats  # per read
        print(f"  read floor: {floor.rows:,} rows in {floor.seconds:.2f}s (CPU {floor.cpu_seconds:.2f}s)", flush=True)
        with clock.measure(server, "first"):
            first = lp.run_child(config, DEMO_AS_OF, run_dir / "first.log", BACKDATE)
        print(f"  first run: {first.seconds:.1f}s (CPU {first.cpu_seconds:.1f}s), "
              f"peak RSS {first.peak_rss_mib:,.0f} MiB", flush=True)
        same = {"first": compare(lp.run_summaries(config)[0], csv_summaries["first"])}

        changed = run_dir / "next-exports"
        shutil.copytree(pristine, changed)
        changes = lp.next_night(changed, args.seed, args.change_fraction)
        applied = apply_next_night(office, pristine, changed, changes.tables)
        inserted, updated, deleted = (sum(counts[i] for counts in applied.values()) for i in range(3))
        print(f"  next night in the database: {updated:,} rows changed, {inserted} inserted, {deleted} deleted",
              flush=True)
        with clock.measure(server, "next"):
            again = lp.run_child(config, lp.NEXT_NIGHT, run_dir / "next.log", BACKDATE)
        summary = lp.run_summaries(config)[0]
        same["next"] = compare(summary, csv_summaries["next"])
        print(f"  next-night run: {again.seconds:.1f}s (CPU {again.cpu_seconds:.1f}s), peak RSS "
              f"{again.peak_rss_mib:,.0f} MiB, {lp.rows_read(summary):,} rows read", flush=True)
        return DatabaseResult(load_seconds, sum(loaded.values()), floor, first, again, lp.rows_read(summary),
                              applied, server, same)
    finally:
        os.environ.pop(PASSWORD_ENV, None)
        if office is not None:
            office.close()
        drop_mariadb_database(args.mariadb_url, name)


def measure(scale: int, args: argparse.Namespace, work: Path, data_dir: Path) -> ScaleResult:
    """The CSV route as large_practice.py measures it (SQLite only), then the database route on the same exports."""
    csv_args = argparse.Namespace(**{**vars(args), "keep_runs": True, "no_postgres": True, "history": False})
    csv_route = lp.measure(scale, csv_args, work, data_dir)
    patients = csv_route.patients
    next_summary, first_summary = lp.run_summaries(work / f"sqlite-p{patients}" / "practice.toml", last=2)
    try:
        database = measure_database(patients, args, work, lp.exports(data_dir, patients),
                                    {"first": first_summary, "next": next_summary})
    finally:
        if not args.keep_runs:
            for run in work.glob(f"*-p{patients}"):
                shutil.rmtree(run, ignore_errors=True)
    if isinstance(database, str):
        print(f"  database route skipped: {database}", flush=True)
        return ScaleResult(csv_route, lp.rows_read(next_summary), None, database)
    return ScaleResult(csv_route, lp.rows_read(next_summary), database)


# ------------------------------------------------------------------------------------------------ output


def markdown(results: list[ScaleResult]) -> str:
    s, x = lp._s, lp._x
    lines = [
        ("| practice | rows | load (not in a run) | read floor | first run | peak RSS | next night | peak RSS "
         "| rows read next night | CSV first run | CSV next night | CSV rows read next night | first: DB / CSV "
         "| next: DB / CSV |"),
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        c, d = r.csv, r.database
        head = f"| {c.scale}× ({c.patients:,} patients) | {c.floor.rows:,} "
        tail = (f"| {s(c.first.seconds)} | {s(c.next.seconds)} | {r.csv_next_rows_read:,} ")
        if d is None:
            lines.append(head + "| skipped " * 7 + tail + "| – | – |")
            continue
        lines.append(
            head + f"| {s(d.load_seconds)} | {s(d.floor.seconds)} | {s(d.first.seconds)} | {d.first.peak_rss_mib:,.0f} MiB "
            f"| {s(d.next.seconds)} | {d.next.peak_rss_mib:,.0f} MiB | {d.next_rows_read:,} "
            + tail + f"| {x(d.first.seconds / c.first.seconds)} | {x(d.next.seconds / c.next.seconds)} |"
        )
    lines += ["", ("CPU time: of the run's process (of this benchmark for the read floor), and the database server's "
                   "while it ran (\"server\"; – when the server is not on this machine):"), "",
              ("| practice | read floor | server | first run | server | next night | server | CSV first run "
               "| CSV next night | first: DB / CSV | next: DB / CSV |"),
              "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        c, d = r.csv, r.database
        csv_cells = f"| {s(c.first.cpu_seconds)} | {s(c.next.cpu_seconds)} "
        if d is None:
            lines.append(f"| {c.scale}× " + "| skipped " * 6 + csv_cells + "| – | – |")
            continue
        server = {k: s(v) for k, v in d.server_cpu.items()}
        lines.append(
            f"| {c.scale}× | {s(d.floor.cpu_seconds)} | {server.get('floor', '–')} | {s(d.first.cpu_seconds)} "
            f"| {server.get('first', '–')} | {s(d.next.cpu_seconds)} | {server.get('next', '–')} " + csv_cells
            + f"| {x(d.first.cpu_seconds / c.first.cpu_seconds)} | {x(d.next.cpu_seconds / c.next.cpu_seconds)} |"
        )
    lines.append("")
    for r in results:
        d = r.database
        if d is None:
            lines.append(f"{r.csv.scale}×: database route skipped: {r.skipped}.")
            continue
        inserted, updated, deleted = (sum(counts[i] for counts in d.applied.values()) for i in range(3))
        lines.append(f"{r.csv.scale}×: the next night changed {updated:,} rows, inserted {inserted} and deleted "
                     f"{deleted} in {len(d.applied)} tables; same snapshot counts and findings as the CSV route (database vs CSV) "
                     f"after the first run: {d.same_as_csv['first']}; after the next night: {d.same_as_csv['next']}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    lp.add_practice_arguments(parser)
    parser.add_argument("--mariadb-url", default=os.environ.get("PMS_BRIDGE_TEST_MARIADB_URL", DEFAULT_MARIADB_URL),
                        help="an account that may create databases and users (default: as the tests)")
    args = parser.parse_args()
    scales = [int(scale) for scale in args.scales.split(",")]
    configure_logging()  # the connector's reads in this process (the read floor): warnings only
    with lp.work_folders(args) as (work, data_dir):
        results = [measure(scale, args, work, data_dir) for scale in scales]
    print()
    print(markdown(results))
    print()
    version = server_version(args.mariadb_url)
    print(f"Machine: {lp.machine(None, lp.startup_seconds())}" + (f"; MariaDB/MySQL {version}" if version else ""))


if __name__ == "__main__":
    main()
