"""The `pms-bridge` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pms_bridge import __version__
from pms_bridge.cli.demo import DEMO_AS_OF, prepare_demo
from pms_bridge.cli.errors import EXIT_PARTIAL, cannot_write, handle_errors
from pms_bridge.cli.group import group_app, worker
from pms_bridge.cli.findings import (
    print_catalog,
    print_counts,
    print_findings,
    print_findings_json,
)
from pms_bridge.cli.maintenance import audit, purge
from pms_bridge.cli.progress import sync_progress
from pms_bridge.cli.readers import warn_about, warn_if_unfinished
from pms_bridge.cli.report import report
from pms_bridge.cli.summary import (
    print_run_warnings,
    print_sync_report,
    print_unmapped_labels,
)
from pms_bridge.cli.tasks import print_task_report, tasks_app
from pms_bridge.config import Config, load_config
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import SyncReport, check_only, parse_as_of, run_sync
from pms_bridge.pipeline.as_of import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    backdate_note,
    is_backdated,
)
from pms_bridge.pipeline.interrupt import stop_on_signals

app = typer.Typer(
    name="pms-bridge",
    help=(
        "Pull a dental practice's data from its practice-management system (Open Dental first), "
        "check it against the patient coordinator's rules, and push task lists back.\n\n"
        "Start here:\n\n"
        "  pms-bridge demo                         run the bundled sample practice end to end\n\n"
        "  pms-bridge run --config practice.toml   sync a real practice (schedule it nightly)\n\n"
        "Exit codes: 0 success, 2 bad config or mapping, 3 source unreachable (or the practice busy with "
        "another run), 4 partial run (some rows quarantined or some pushes failed), 130 / 143 stopped by "
        "Ctrl-C / SIGTERM."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
schema_app = typer.Typer(help="Print the JSON Schema of pms-bridge's files (for editors and validators).")
app.add_typer(schema_app, name="schema")
app.add_typer(tasks_app, name="tasks")
app.add_typer(group_app, name="group")

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="The practice's TOML config file.", exists=False, dir_okay=False),
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Pin 'now' (ISO date/time, e.g. 2026-03-02T08:00) so results are reproducible; "
        "without an offset it is the practice's local time. Default: now.",
    ),
]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr (-vv: debug).")]
Backdate = Annotated[
    bool,
    typer.Option(
        "--backdate",
        help="Allow an --as-of before the newest data already stored (e.g. to rebuild a past day's task list). "
        "Without it such a run is refused: the rules would see today's data as if it were then, and open "
        "tasks would be resolved or reopened on a picture of the practice that never existed.",
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"pms-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """pms-bridge."""


def _sync_with_progress(
    config: Config, as_of_text: str | None, command: str, check: bool = True, backdate: bool = False
) -> SyncReport:
    as_of = parse_as_of(as_of_text, config) if as_of_text else None
    # A bar per table on a terminal; cron and pipes get periodic log lines instead (-v), never on stdout.
    with stop_on_signals(), sync_progress(err) as progress:
        return run_sync(config, as_of, command=command, progress=progress, check=check, backdate=backdate)


def _print_run(report: SyncReport, cfg: Config) -> None:
    print_sync_report(out, report, cfg.practice.timezone)
    if report.checks is not None:
        print_counts(out, report.checks)
    if report.tasks is not None:
        print_task_report(out, report.tasks)
    partial = f"[yellow]PARTIAL[/yellow] (exit code {EXIT_PARTIAL})"
    out.print(f"Result: {partial if report.status == 'partial' else '[green]OK[/green]'}")


@app.command()
@handle_errors
def run(
    config: ConfigOption,
    as_of: AsOf = None,
    backdate: Backdate = False,
    verbose: Verbose = 0,
) -> None:
    """Sync the practice's PMS data, check it against the rules, and print a summary.

    Reads the source named in \\[source], maps it to the normalized model, merges it into the store (re-running never duplicates rows) and quarantines bad rows without stopping.

    One run per practice at a time: a second one exits at once (code 3) naming the one running. Ctrl-C or SIGTERM stops at a safe point (exit 130 / 143); the next run resumes.

    Schedule it nightly: see README, "Run it every night".
    """
    configure_logging(verbose)
    cfg = load_config(config)
    report = _sync_with_progress(cfg, as_of, "run", backdate=backdate)
    _print_run(report, cfg)
    raise typer.Exit(EXIT_PARTIAL if report.status == "partial" else 0)


@app.command()
@handle_errors
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the sample exports, config and store.")
    ] = Path("pms-bridge-demo"),
    patients: Annotated[int, typer.Option(help="Size of the sample practice.", min=20)] = 600,
    seed: Annotated[int, typer.Option(help="Random seed of the sample practice.")] = 7,
    verbose: Verbose = 0,
) -> None:
    """Run the bundled sample practice end to end, with no setup.

    Generates a synthetic Open Dental practice (no real patient data) with planted problems, writes a config for it, and runs it with a pinned as-of time, so every demo shows the same result.
    """
    configure_logging(verbose)
    err.print(f"Generating the sample practice ({patients} patients) in {output}/exports ...")
    try:
        config_path = prepare_demo(output, patients, seed)
    except OSError as exc:
        raise cannot_write(output, exc, "the demo") from None
    cfg = load_config(config_path)
    report = _sync_with_progress(cfg, DEMO_AS_OF.isoformat(), "demo")
    _print_run(report, cfg)
    out.print()
    # soft_wrap: paths and commands stay on one line, so they can be copied.
    out.print(f"Sample exports: {output / 'exports'}", soft_wrap=True)
    out.print(f"Planted problems (for the rules): {output / 'exports' / 'planted.json'}", soft_wrap=True)
    out.print(f"Config:         {config_path}", soft_wrap=True)
    out.print(f"Store:          {cfg.resolve(cfg.store.path) if cfg.store.path else cfg.store.url}", soft_wrap=True)
    out.print(f"Run it again:   pms-bridge run --config {config_path} --as-of {DEMO_AS_OF.isoformat()}", soft_wrap=True)
    out.print(f"Task list:      {output / 'out' / 'tasks.html'}  (open it in a browser)", soft_wrap=True)
    out.print(f"Huddle & KPIs:  {output / 'out' / 'report.html'}  (the morning report)", soft_wrap=True)
    out.print(f"Tasks as JSON:  pms-bridge tasks --config {config_path} --format json", soft_wrap=True)
    raise typer.Exit(EXIT_PARTIAL if report.status == "partial" else 0)


@app.command()
@handle_errors
def check(
    config: ConfigOption,
    as_of: AsOf = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (for people) or json (for programs).")
    ] = "table",
    verbose: Verbose = 0,
) -> None:
    """Check the stored data against the rules and print the findings (nothing is synced or pushed).

    Uses what the last `pms-bridge run` stored. Pin --as-of to see what the rules say at a given time (an --as-of before the stored data is allowed here: nothing is written; a note says so).
    """
    configure_logging(verbose)
    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    cfg = load_config(config)
    when = parse_as_of(as_of, cfg) if as_of else None
    warn_if_unfinished(cfg, err)
    report, data_as_of = check_only(cfg, when)
    if data_as_of is None:
        err.print("[yellow]The store holds no data yet: run `pms-bridge run --config ...` first.[/yellow]")
    elif when is not None and is_backdated(when, data_as_of):
        err.print(f"Note: {backdate_note(when, data_as_of, cfg.practice.practice().tz)}.", soft_wrap=True,
                  markup=False)
    if output_format == "json":
        print_findings_json(report)
        return
    print_findings(out, report)
    print_counts(out, report)


@app.command()
def rules(
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table, json or markdown (the reference page).")
    ] = "table",
) -> None:
    """List the rule catalog: code, name, role, severity and default settings."""
    from pms_bridge.rules.docs import catalog, rules_markdown

    if output_format == "json":
        print(json.dumps(catalog(), indent=2))
    elif output_format == "markdown":
        print(rules_markdown(), end="")
    elif output_format == "table":
        print_catalog(out)
    else:
        raise typer.BadParameter("use table, json or markdown", param_hint="--format")


@app.command()
@handle_errors
def sample(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the exports into.")],
    as_of: Annotated[str, typer.Option("--as-of", help="The sample's 'today' (ISO).")] = DEMO_AS_OF.isoformat(),
    patients: Annotated[int, typer.Option(help="Patients per location.", min=20)] = 600,
    locations: Annotated[int, typer.Option(help="Locations (1 = a single practice).", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    group_store: Annotated[str | None, typer.Option(
        help="With --locations: also write group.toml and a config per location, sharing this PostgreSQL store "
        "(e.g. postgresql://pmsb@127.0.0.1/pms_bridge), to try `pms-bridge worker` and `group run`.")] = None,
    broker: Annotated[str, typer.Option(help="The group file's broker (with --group-store).")] = (
        "amqp://guest:guest@127.0.0.1:5672//"),
) -> None:
    """Generate synthetic Open Dental table exports (for trials, tests and benchmarks)."""
    configure_logging()  # log lines on stderr: stdout carries only the output
    from datetime import datetime

    from pms_bridge.sample import generate_group, generate_practice

    try:
        when = datetime.fromisoformat(as_of)
        if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
            raise ValueError
    except ValueError:
        raise typer.BadParameter(f"{as_of!r}: give an ISO date/time such as 2026-03-02T08:00", param_hint="--as-of") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=DEMO_AS_OF.tzinfo)
    if output.exists() and not output.is_dir():
        raise cannot_write(output, FileExistsError(17, "it is an existing file, not a folder"), "the sample exports")
    try:
        if locations == 1:
            reports = [generate_practice(output, as_of=when, seed=seed, patients=patients)]
        else:
            reports = generate_group(output, as_of=when, locations=locations, seed=seed, patients=patients)
    except OSError as exc:
        raise cannot_write(output, exc, "the sample exports") from None
    for rep in reports:
        out.print(f"{rep.out_dir}: {sum(rep.rows.values()):,} rows in {len(rep.rows)} tables")
    if group_store is not None:
        from pms_bridge.cli.sample_group import write_group_files

        group_file = write_group_files(output, [rep.out_dir for rep in reports], group_store, broker)
        out.print(f"Group file: {group_file}  (pms-bridge worker --group {group_file}; "
                  f"pms-bridge group run --group {group_file} --as-of {as_of})", soft_wrap=True)


@app.command()
@handle_errors
def runs(
    config: ConfigOption,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with each run's full summary.")] = False,
) -> None:
    """List the practice's recent runs (status, counts, data as of).

    A run that did not finish shows as running (still going, or it stopped without a trace) or interrupted.
    """
    configure_logging()  # log lines on stderr: stdout carries only the output
    from pms_bridge.store import Store

    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        warn_about(store, err)
        history = store.list_runs(limit)
    finally:
        store.close()
    if as_json:
        print(json.dumps([
            {**r.__dict__, **{k: getattr(r, k).isoformat() if getattr(r, k) else None
                              for k in ("started_at", "finished_at", "as_of")}}
            for r in history
        ], indent=2))
        return
    table = Table(title="Runs")
    for header in ("run", "command", "started UTC", "took", "status", "bad rows", "to map", "findings", "open",
                   "new/resolved"):
        table.add_column(header, no_wrap=header in ("started UTC", "status"))
    for r in history:
        took = f"{(r.finished_at - r.started_at).total_seconds():.0f}s" if r.finished_at else ""
        findings = r.summary.get("findings") or {}
        tasks = r.summary.get("tasks") or {}
        labels = r.summary.get("unmapped_labels")
        table.add_row(
            str(r.id), r.command, r.started_at.strftime("%Y-%m-%d %H:%M"), took, r.status,
            str(r.summary.get("quarantined", "")), "" if labels is None else str(sum(map(len, labels.values()))),
            str(sum(findings.values())) if findings else "",
            str(tasks.get("open", "")), f"{tasks['opened']} / {tasks['resolved']}" if tasks else "",
        )
    out.print(table)
    if history and history[0].summary.get("unmapped_labels"):
        out.print(f"Run {history[0].id}:")
        print_unmapped_labels(out, history[0].summary["unmapped_labels"])
    if history and history[0].summary.get("warnings"):
        out.print(f"Run {history[0].id}:")
        print_run_warnings(out, history[0].summary["warnings"])


@app.command()
@handle_errors
def quarantine(
    config: ConfigOption,
    run_id: Annotated[int | None, typer.Option("--run", help="A run id (default: the latest run).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Show rows a run quarantined: file, line, field and reason (no patient data)."""
    configure_logging()  # log lines on stderr: stdout carries only the output
    from pms_bridge.store import Store

    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    if run_id is None:
        latest = store.list_runs(1)
        run_id = latest[0].id if latest else None
    rows = store.quarantined(run_id) if run_id is not None else []
    store.close()
    if as_json:
        for row in rows:
            print(json.dumps(row.__dict__))  # one JSON object a line, never wrapped or coloured
        return
    table = Table(title=f"Quarantined rows of run {run_id}")
    for header in ("file", "line", "id", "field", "reason"):
        table.add_column(header)
    for row in rows:
        table.add_row(row.source, str(row.line or ""), row.source_id or "", row.field or "", row.reason)
    out.print(table)


@schema_app.command("mapping")
def schema_mapping() -> None:
    """JSON Schema of mapping files (mappings/*.toml)."""
    from pms_bridge.mapping.spec import MappingFile

    out.print_json(json.dumps(MappingFile.model_json_schema()))


@schema_app.command("canonical")
def schema_canonical() -> None:
    """Reference of the canonical CSV format (Markdown), generated from the model."""
    from pms_bridge.mapping.docs import canonical_csv_reference

    print(canonical_csv_reference())


@schema_app.command("tasks")
def schema_tasks() -> None:
    """JSON Schema of the tasks JSON (`pms-bridge tasks --format json`, the json sink)."""
    from importlib import resources

    print(resources.files("pms_bridge.sinks").joinpath("tasks.schema.json").read_text(encoding="utf-8"), end="")


@schema_app.command("config")
def schema_config() -> None:
    """JSON Schema of the practice config file."""
    out.print_json(json.dumps(Config.model_json_schema()))


@schema_app.command("group")
def schema_group() -> None:
    """JSON Schema of a group file (`pms-bridge worker` / `group run --group FILE`)."""
    from pms_bridge.config.group import GroupFile

    out.print_json(json.dumps(GroupFile.model_json_schema()))


app.command()(worker)  # groups: pms-bridge worker --group FILE (see the group commands)
app.command()(report)

# Maintenance commands last in --help: the daily ones come first.
app.command()(purge)
app.command()(audit)
