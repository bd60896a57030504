"""`pms-bridge tasks`: export the ledger, dismiss a task, show a task's history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pms_bridge.cli.errors import EXIT_CONFIGURATION, handle_errors
from pms_bridge.cli.readers import warn_about
from pms_bridge.config import load_config
from pms_bridge.ledger import STATUSES, Ledger, TaskNotFound
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import (
    TaskReport,
    list_meta,
    now_at_practice,
    stored_patient_names,
)
from pms_bridge.pipeline.interrupt import stop_on_signals
from pms_bridge.sinks import render, write_private
from pms_bridge.sinks.registry import get_sink, one_of, task_list_formats
from pms_bridge.store import Store

out = Console()
err = Console(stderr=True)

tasks_app = typer.Typer(
    help="The task ledger: export task lists (json, csv, html), dismiss a task, see a task's history.\n\n"
    "Examples:\n\n"
    "  pms-bridge tasks --config practice.toml --format html --output tasks.html\n\n"
    "  pms-bridge tasks --config practice.toml --format json --status all\n\n"
    "  pms-bridge tasks dismiss REF001:referral:42 --config practice.toml --reason \"patient moved away\"",
    invoke_without_command=True,
    rich_markup_mode="rich",
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The practice's TOML config file.")]


def _open(config: Path) -> tuple[object, Store]:
    cfg = load_config(config)
    return cfg, Store.open(cfg.store_url(), cfg.practice.practice())


@tasks_app.callback()
@handle_errors
def export(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="The practice's TOML config file.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help=f"{one_of(task_list_formats(), str)}.")
    ] = "json",
    status: Annotated[
        str, typer.Option(help="open, resolved, dismissed, expired, or all.")
    ] = "open",
    role: Annotated[
        str | None, typer.Option(help="Only this role: patient, scheduling, treatment, financial, clinical.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (owner-only) instead of stdout.")
    ] = None,
) -> None:
    """Export the task list from the ledger (what the last run left)."""
    configure_logging()  # log lines on stderr: stdout carries only the output
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        raise typer.BadParameter("give the practice's config file", param_hint="--config")
    if output_format not in task_list_formats():
        raise typer.BadParameter(f"use {one_of(task_list_formats(), str)}", param_hint="--format")
    if status != "all" and status not in STATUSES:
        raise typer.BadParameter(f"use all or one of {', '.join(STATUSES)}", param_hint="--status")
    cfg, store = _open(config)
    try:
        warn_about(store, err)
        tasks = Ledger(store).tasks(None if status == "all" else [status], role)
        shows_names = getattr(get_sink(output_format), "shows_patient_names", False)
        names = stored_patient_names(store, {t.patient_id for t in tasks}) if shows_names else {}
        text = render(output_format, tasks, list_meta(cfg, store, names, now_at_practice(cfg)))  # type: ignore[arg-type]
    finally:
        store.close()
    if output is None:
        print(text, end="")
    else:
        write_private(output, text)
        err.print(f"Wrote {len(tasks)} task(s) to {output}")


@tasks_app.command()
@handle_errors
def dismiss(
    key: Annotated[str, typer.Argument(help="The task's key, as in the task list (e.g. REF001:referral:42).")],
    config: ConfigOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the task's history).")],
) -> None:
    """Close a task by hand. It stays closed until its subject changes (e.g. a new appointment)."""
    configure_logging()  # log lines on stderr: stdout carries only the output
    cfg, store = _open(config)
    try:
        with stop_on_signals(), store.hold("tasks dismiss"):
            task = Ledger(store).dismiss(key, reason, now_at_practice(cfg))  # type: ignore[arg-type]
    except TaskNotFound:
        err.print(f"[red]No task with key {escape(key)}[/red] (see `pms-bridge tasks --config ... --status all`)")
        raise typer.Exit(EXIT_CONFIGURATION) from None
    finally:
        store.close()
    out.print(f"Dismissed {escape(task.key)}: {escape(task.title)}")


@tasks_app.command()
@handle_errors
def history(
    key: Annotated[str, typer.Argument(help="The task's key.")],
    config: ConfigOption,
) -> None:
    """Every transition of one task: when, which run, from what to what, and why."""
    configure_logging()  # log lines on stderr: stdout carries only the output
    _, store = _open(config)
    try:
        entries = Ledger(store).history(key)
    finally:
        store.close()
    if not entries:
        err.print(f"[red]No history for {escape(key)}[/red]")
        raise typer.Exit(EXIT_CONFIGURATION)
    table = Table(title=f"History of {escape(key)}")
    for header in ("when (UTC)", "run", "from", "to", "cause"):
        table.add_column(header)
    for e in entries:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", str(e.run_id or "—"), e.from_status or "—", e.to_status,
                      escape(e.cause + (f" ({', '.join(e.changes)})" if e.changes else "")))
    out.print(table)


def print_task_report(console: Console, report: TaskReport) -> None:
    c = report.counts
    console.print(
        f"Tasks: {report.open_tasks:,} open — {c['opened']} new, {c['updated']} updated, {c['reopened']} reopened, "
        f"{c['resolved']} resolved, {c['expired']} expired."
    )
    for sink in report.sinks:
        if sink.error:
            console.print(f"[red]Not delivered[/red] to {sink.type} {escape(sink.target)}: {escape(sink.error)}")
        else:
            console.print(f"Wrote {sink.tasks:,} task(s) to {escape(sink.target)} ({sink.type})", soft_wrap=True)
        if sink.warning:
            console.print(f"[yellow]Warning:[/yellow] {escape(sink.warning)}")
