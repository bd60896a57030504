"""`pms-bridge worker` and `pms-bridge group run|status`: many locations on Celery workers."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pms_bridge.cli.errors import EXIT_PARTIAL, handle_errors
from pms_bridge.config.group import Group, load_group
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline.as_of import parse_as_of
from pms_bridge.store.group_book import FAILED, PARTIAL, SUCCEEDED, GroupBook, Job

group_app = typer.Typer(
    help="Run every location of a group (DSO) on Celery workers that share one PostgreSQL store. See docs/groups.md.",
    no_args_is_help=True,
)

out = Console()
err = Console(stderr=True)

GroupOption = Annotated[
    Path,
    typer.Option("--group", "-g", help="The group's TOML file (\\[group], \\[store], \\[queue], \\[\\[locations]]).",
                 dir_okay=False),
]
NO_WORKER_NOTE_SECONDS = 30


@handle_errors
def worker(
    group: GroupOption,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", "-n", min=1,
        help="Locations this worker runs at once (one process each). A location's run uses about one CPU core "
        "and 150-300 MB; see docs/groups.md, 'Sizing workers'.")] = 2,
    max_jobs_per_process: Annotated[int, typer.Option(
        help="Replace a worker process after this many locations (keeps memory from creeping).", min=1)] = 20,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")] = 0,
) -> None:
    """Start a Celery worker that runs the group's location jobs (Ctrl-C or SIGTERM: it finishes its jobs first).

    Start one on each machine that should do the work; every worker needs the group file, the locations' configs,
    their exports or API keys, and reach to the broker and the shared PostgreSQL store. A worker that dies mid-job
    loses nothing: the broker gives the job to another worker, which runs the location again.
    """
    configure_logging(verbose)
    from pms_bridge.group.app import make_app, shown_broker
    from pms_bridge.group.runner import check_broker

    loaded = load_group(group)
    app = make_app(loaded)
    check_broker(app, loaded, "the worker did not start")
    GroupBook.open(loaded.store_url).close()  # the shared store answers, and holds the group tables
    err.print(f"Worker for {loaded.name}: {len(loaded.locations)} locations, queue {loaded.queue} on "
              f"{shown_broker(loaded)}, {concurrency} at a time.", soft_wrap=True, markup=False)
    app.conf.worker_max_tasks_per_child = max_jobs_per_process
    app.worker_main(argv=[
        "worker", f"--queues={loaded.queue}", f"--concurrency={concurrency}", f"--hostname={loaded.key}.{os.getpid()}@%h",
        f"--loglevel={'DEBUG' if verbose > 1 else 'INFO'}", "--without-gossip", "--without-mingle",
    ])


@group_app.command("run")
@handle_errors
def group_run(
    group: GroupOption,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Pin 'now' for every location (ISO date/time; without an offset it is each location's own "
        "local time). Default: each location's now when its job starts.")] = None,
    location: Annotated[list[str] | None, typer.Option(
        "--location", "-l", help="Only this location (its practice key); repeat for several. Default: all.")] = None,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Follow the jobs until they end (default), or only queue them and exit 0.")] = True,
    timeout_minutes: Annotated[float | None, typer.Option(
        "--timeout", help="Stop following after this many minutes (the jobs go on); exit 4 if some had not ended.",
        min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-location summary as JSON.")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")] = 0,
) -> None:
    """Queue one job per location on the group's workers, show each location as it finishes, and print a summary.

    Exit codes: 0 every location succeeded, 4 some failed or ended partial (or had not ended by --timeout), 3 the broker or the store is unreachable, 2 a bad group file or location config.

    Schedule it nightly from one machine: see docs/groups.md.
    """
    configure_logging(verbose)
    from pms_bridge.group.app import make_app
    from pms_bridge.group.runner import enqueue, follow, listening_workers

    loaded = load_group(group)
    picked = loaded.pick(location)
    for one in picked if as_of else ():  # a bad --as-of fails here, before anything is queued
        parse_as_of(as_of, one.config)
    app = make_app(loaded)
    book = GroupBook.open(loaded.store_url)
    try:
        run_id = enqueue(app, loaded, book, picked, as_of)
        err.print(f"Group run {run_id}: {len(picked)} locations of {loaded.name} queued.", markup=False)
        if not wait:
            return
        workers = listening_workers(app, loaded)
        if not workers:
            err.print(f"No worker listens on queue {loaded.queue} yet: start `pms-bridge worker --group {group}` "
                      "on a worker machine; the jobs wait in the queue.", style="yellow", soft_wrap=True,
                      markup=False)
        noted = [bool(workers)]

        def idle(seconds: float) -> None:
            if not noted[0] and seconds >= NO_WORKER_NOTE_SECONDS:
                noted[0] = True
                err.print(f"Still waiting for a worker after {seconds:.0f} s.", style="yellow", markup=False)

        done = [0]

        def changed(job: Job, before: Job | None) -> None:
            if job.done:
                done[0] += 1
            err.print(_progress_line(job, done[0], len(picked)), soft_wrap=True, markup=False)

        jobs = follow(book, run_id, changed, timeout_seconds=None if timeout_minutes is None else timeout_minutes * 60,
                      on_idle=idle)
    finally:
        book.close()
    _print_summary(loaded, run_id, jobs, as_json)
    if not all(job.state == SUCCEEDED for job in jobs):
        raise typer.Exit(EXIT_PARTIAL)


def _progress_line(job: Job, done: int, total: int) -> str:
    head = f"[{done}/{total}] {job.location}: {job.state}"
    if job.state == "running":
        return f"{head} (attempt {job.attempts}, {job.worker})" if job.attempts > 1 else f"{head} ({job.worker})"
    if job.state in ("waiting", "retrying"):
        when = f", next try {job.next_try_at:%H:%M:%S} UTC" if job.next_try_at else ""
        return f"{head}: {job.note}{when}"
    if job.state == FAILED:
        return f"{head}: {job.note}"
    summary = job.summary or {}
    return f"{head} in {summary.get('seconds', '?')} s, {summary.get('tasks_open', '?')} open tasks"


def _row(job: Job) -> dict[str, Any]:
    s = job.summary or {}
    return {"location": job.location, "state": job.state, "attempts": job.attempts, "lost_workers": job.lost,
            "retries": job.failures, "run_id": job.run_id, "rows_read": s.get("rows_read"),
            "quarantined": s.get("quarantined"), "findings": s.get("findings"), "tasks_open": s.get("tasks_open"),
            "tasks_opened": s.get("tasks_opened"), "tasks_resolved": s.get("tasks_resolved"),
            "seconds": s.get("seconds"), "error": job.note if job.state == FAILED else None}


def _print_summary(group: Group, run_id: int, jobs: list[Job], as_json: bool) -> None:
    order = {key: i for i, key in enumerate(group.locations)}
    rows = [_row(job) for job in sorted(jobs, key=lambda j: order.get(j.location, len(order)))]
    if as_json:
        print(json.dumps({"group": group.key, "group_run": run_id, "locations": rows}, indent=2))
        return
    table = Table(title=f"{group.name}: group run {run_id}", width=max(out.width, 120))
    for header in ("location", "status", "tries", "rows read", "bad rows", "findings", "open tasks", "new/resolved",
                   "time", "error"):
        table.add_column(header, no_wrap=header != "error", overflow="fold")
    for r in rows:
        status = {SUCCEEDED: "[green]ok[/green]", PARTIAL: "[yellow]partial[/yellow]",
                  FAILED: "[red]failed[/red]"}.get(r["state"], f"[yellow]{r['state']}[/yellow]")
        table.add_row(
            r["location"], status, str(r["attempts"]), _n(r["rows_read"]), _n(r["quarantined"]), _n(r["findings"]),
            _n(r["tasks_open"]), "" if r["tasks_opened"] is None else f"{r['tasks_opened']} / {r['tasks_resolved']}",
            "" if r["seconds"] is None else f"{r['seconds']:.{1 if r['seconds'] < 10 else 0}f}s", r["error"] or "")
    out.print(table, width=table.width)  # never cut to 80 columns off a terminal (cron, logs)
    counts = {state: sum(1 for r in rows if r["state"] == state) for state in (SUCCEEDED, PARTIAL, FAILED)}
    unfinished = len(rows) - sum(counts.values())
    out.print(f"{counts[SUCCEEDED]} ok, {counts[PARTIAL]} partial, {counts[FAILED]} failed"
              + (f", {unfinished} not finished (still queued or running)" if unfinished else ""))


def _n(value: Any) -> str:
    return "" if value is None else f"{value:,}"


@group_app.command("status")
@handle_errors
def group_status_command(
    group: GroupOption,
    runs: Annotated[int, typer.Option(help="Runs shown per location.", min=1)] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each location's last runs and the age of its data, read from the shared store.

    Flags a location whose newest data is older than \\[group] stale_after_hours (default 30), that has no data
    yet, or whose last run or group job failed. Exit code 4 when any location is flagged (for monitoring), 0 when
    none is.
    """
    configure_logging()
    from pms_bridge.group.status import group_status

    loaded = load_group(group)
    now = datetime.now(UTC)
    found = group_status(loaded, now, runs)
    if as_json:
        print(json.dumps([{
            "location": s.key, "name": s.name, "data_as_of": s.data_as_of.isoformat() if s.data_as_of else None,
            "flags": s.flags,
            "last_job": None if s.last_job is None else {"group_run": s.last_job.group_run_id, "state": s.last_job.state,
                                                        "note": s.last_job.note},
            "runs": [{"id": r.id, "command": r.command, "status": r.status, "started_at": r.started_at.isoformat(),
                      "finished_at": r.finished_at.isoformat() if r.finished_at else None} for r in s.runs],
        } for s in found], indent=2))
    else:
        table = Table(title=f"{loaded.name}: {len(found)} locations", width=max(out.width, 120))
        for header in ("location", "data as of (UTC)", "age", "last runs (newest first)", "last group job", "look at"):
            table.add_column(header, overflow="fold")
        for s in found:
            age = s.age(now)
            table.add_row(
                s.key, f"{s.data_as_of.astimezone(UTC):%Y-%m-%d %H:%M}" if s.data_as_of else "",
                "" if age is None else f"{age.total_seconds() / 3600:.0f} h",
                ", ".join(f"{r.status} {r.started_at:%m-%d %H:%M}" for r in s.runs),
                "" if s.last_job is None else f"{s.last_job.state} (group run {s.last_job.group_run_id})",
                "[red]" + "; ".join(s.flags) + "[/red]" if s.flags else "[green]ok[/green]")
        out.print(table, width=table.width)
    if any(s.flags for s in found):
        raise typer.Exit(EXIT_PARTIAL)
