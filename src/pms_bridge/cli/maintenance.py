"""`pms-bridge purge` (retention) and `pms-bridge audit` (what pms-bridge did to tasks and the PMS).

Two plain command functions; main.py registers them with ``app.command()(purge)``
and ``app.command()(audit)``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pms_bridge.cli.errors import EXIT_CONFIGURATION, handle_errors
from pms_bridge.config import load_config
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import now_at_practice
from pms_bridge.pipeline.interrupt import stop_on_signals
from pms_bridge.store import Store
from pms_bridge.store.audit import AuditEvent, audit_events
from pms_bridge.store.retention import purge as purge_store
from pms_bridge.store.retention import purge_preview

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The practice's TOML config file.", dir_okay=False)
]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output on stderr (-vv: debug).")]

_LABELS = {
    "appointments": "past appointments (no longer scheduled)",
    "tasks": "closed tasks",
    "task_history": "task history entries",
    "pushes": "PMS push records",
    "quarantine": "quarantined rows",
    "runs": "runs",
}


def _consoles() -> tuple[Console, Console]:
    return Console(), Console(stderr=True)


def _interactive() -> bool:
    """Whether a person can answer a question (not cron, not a pipe)."""
    return sys.stdin.isatty()


def _counts_table(counts: dict[str, int]) -> Table:
    table = Table()
    table.add_column("what")
    table.add_column("rows", justify="right")
    for kind, n in counts.items():
        table.add_row(_LABELS.get(kind, kind), f"{n:,}")
    return table


@handle_errors
def purge(
    config: ConfigOption,
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=30,
            metavar="DAYS",
            help="Delete history older than this many days. Default: \\[retention] days in the config (730).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed in cron and scripts).")
    ] = False,
    verbose: Verbose = 0,
) -> None:
    """Delete the practice's history older than the retention period (privacy: keep no more PHI than needed).

    Deletes, for this practice only: past appointments that are no longer scheduled, closed tasks (resolved, dismissed, expired) with their history and PMS push records, quarantined rows, and old runs (the latest run is always kept). Open tasks and scheduled appointments are never deleted. A SQLite store is compacted afterwards, so the deleted data does not stay in the file.

    The period comes from the config (\\[retention] days = 730, at least 30) unless --older-than is given. It shows what it would delete and asks first; pass --yes where nobody can answer (cron).

    Examples:

      pms-bridge purge --config practice.toml

      pms-bridge purge --config practice.toml --older-than 365 --yes
    """
    configure_logging(verbose)
    out, err = _consoles()
    cfg = load_config(config)
    days = older_than if older_than is not None else cfg.retention.days
    cutoff = now_at_practice(cfg) - timedelta(days=days)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    when = f"older than {days} days (before {cutoff:%Y-%m-%d %H:%M} {cfg.practice.timezone})"
    try:
        with store.hold("purge"):
            if not yes:
                pending = purge_preview(store, cutoff)
                if not sum(pending.values()):
                    out.print(f"Nothing {when} to delete.", soft_wrap=True)
                    return
                out.print(f"Would delete, {when}:", soft_wrap=True)
                out.print(_counts_table(pending))
                if not _interactive():
                    err.print("[red]Not deleting:[/red] no terminal to confirm on. Pass --yes to purge unattended (cron).")
                    raise typer.Exit(EXIT_CONFIGURATION)
                if not typer.confirm("Delete these rows? This cannot be undone.", default=False):
                    err.print("Nothing deleted.")
                    return
            with stop_on_signals():  # not around the question: Ctrl-C there answers it
                deleted = purge_store(store, cutoff)
    finally:
        store.close()
    if not sum(deleted.values()):
        out.print(f"Nothing {when} to delete.", soft_wrap=True)
        return
    out.print(f"Deleted, {when}:", soft_wrap=True)
    out.print(_counts_table(deleted))
    out.print(f"Deleted {sum(deleted.values()):,} row(s).")


def _parse_since(text: str, tz: tzinfo) -> datetime:
    """ISO date or date/time; without an offset it is the practice's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date/time such as 2026-03-01 or 2026-03-01T08:00", param_hint="--since"
        ) from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _change(e: AuditEvent) -> str:
    if e.kind == "task":
        return f"{e.from_status or 'new'} → {e.to_status}"
    return f"{e.sink} {e.state}" + (f" #{e.remote_id}" if e.remote_id else "")


@handle_errors
def audit(
    config: ConfigOption,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="ISO-DATE",
            help="Only events at or after this date/time (e.g. 2026-03-01 or 2026-03-01T08:00; "
            "without an offset it is the practice's local time).",
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Only this task's events (its key, e.g. REF001:referral:42).")
    ] = None,
    run_id: Annotated[
        int | None, typer.Option("--run", metavar="N", help="Only what run N did (see `pms-bridge runs`).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many events (newest first).")] = 200,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines (one event a line) instead of a table.")
    ] = False,
    verbose: Verbose = 0,
) -> None:
    """The audit trail: every task state change and every push to the PMS, newest first.

    A task event says when, which run (none: a person's action), the task key, from which status to which, and why. A push event says which sink wrote the task to the PMS, its state there (pending / sent / closed) and the PMS's own id. Only ids and codes are shown, never patient names or task titles.

    Examples:

      pms-bridge audit --config practice.toml --since 2026-03-01

      pms-bridge audit --config practice.toml --key REF001:referral:42

      pms-bridge audit --config practice.toml --run 12 --json > run-12-audit.jsonl
    """
    configure_logging(verbose)
    out, _ = _consoles()
    cfg = load_config(config)
    since_at = _parse_since(since, cfg.practice.practice().tz) if since else None
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        events = audit_events(store, since_at, key, run_id, limit)
    finally:
        store.close()
    if as_json:
        for event in events:
            print(json.dumps(event.to_json()))
        return
    table = Table(title=f"Audit trail ({len(events)} event(s), newest first)")
    for header in ("when (UTC)", "run", "what", "key", "change", "cause"):
        table.add_column(header, no_wrap=header in ("when (UTC)", "key", "change"))
    for e in events:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M}", str(e.run_id) if e.run_id is not None else "—", e.kind,
            escape(e.key), escape(_change(e)), escape(e.cause or ""),
        )
    out.print(table)
