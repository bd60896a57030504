"""Print a sync report for a person: counts per table, what failed, data as of."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pms_bridge.pipeline import SyncReport


def _when(value: datetime | None, tz_name: str | None = None) -> str:
    if value is None:
        return "unknown"
    if tz_name:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(tz_name))
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


def print_sync_report(console: Console, report: SyncReport, timezone: str) -> None:
    table = Table(title=f"Sync — run {report.run_id} ({report.connector}, mapping {report.mapping})", title_justify="left")
    table.add_column("table")
    for header in ("read", "new", "changed", "same", "removed", "quarantined", "skipped"):
        table.add_column(header, justify="right")
    for r in report.resources:
        if r.entity is None:
            continue
        name = r.entity if r.source else f"[dim]{r.entity} (not in export)[/dim]"
        if r.error:
            name = f"[red]{r.entity} (failed)[/red]"
        elif r.unavailable:
            name = f"[dim]{r.entity} (not available)[/dim]"
        table.add_row(
            name,
            f"{r.rows_read:,}",
            f"{r.stored.inserted:,}",
            f"{r.stored.updated:,}",
            f"{r.stored.unchanged:,}",
            f"{r.removed:,}",
            f"[yellow]{r.quarantined:,}[/yellow]" if r.quarantined else "0",
            f"{r.skipped:,}",
        )
    console.print(table)
    references = [f"{r.resource} {r.rows_read:,}" for r in report.resources if r.entity is None and r.source]
    if references:
        console.print(f"Reference tables read: {', '.join(references)}")

    totals = ", ".join(f"{name} {count:,}" for name, count in report.snapshot_counts.items())
    console.print(f"Snapshot now holds: {totals}")
    console.print(f"Data as of: {_when(report.data_as_of, timezone)} (newest change in the PMS data)")
    if report.as_of is not None:
        console.print(f"Checked as of: {_when(report.as_of, timezone)}")
    if report.finished_at is not None:
        seconds = (report.finished_at - report.started_at).total_seconds()
        requests = f", {report.requests:,} API requests" if report.requests else ""
        console.print(f"Took {seconds:.1f} s{requests}")
    for failed in report.failed:
        console.print(f"[red]Not loaded:[/red] {escape(failed.error or '')}")
    for r in report.resources:
        if r.unavailable:
            console.print(f"[yellow]Not available on this office:[/yellow] {escape(r.unavailable)}")
    for r in report.resources:
        if r.warning:
            console.print(f"[yellow]Warning:[/yellow] {escape(r.warning)}")
    print_run_warnings(console, report.warnings)
    print_unmapped_labels(console, report.unmapped_labels)
    if report.quarantined:
        console.print(
            f"[yellow]{report.quarantined:,} row(s) quarantined[/yellow] (stored data kept; the rest of the run went on). "
            "See them with: pms-bridge quarantine --config FILE"
        )


def print_run_warnings(console: Console, warnings: list[str]) -> None:
    """Warnings about the whole run (a run summary's "warnings"), one line each."""
    for warning in warnings:
        console.print(f"[yellow]Warning:[/yellow] {escape(warning)}", soft_wrap=True)


MAX_LABELS_SHOWN = 12


def print_unmapped_labels(console: Console, unmapped: dict[str, dict[str, int]]) -> None:
    """The practice's own labels no setting placed, with the config key that maps each group."""
    if not unmapped:
        return
    console.print("[yellow]Labels nothing maps[/yellow] (until mapped they count as unknown, never as fine):")
    for setting, labels in unmapped.items():
        ranked = sorted(labels.items(), key=lambda item: (-item[1], item[0]))
        shown = ", ".join(f"{escape(repr(label))} ({rows:,} row{'s' if rows != 1 else ''})"
                          for label, rows in ranked[:MAX_LABELS_SHOWN])
        more = f" and {len(ranked) - MAX_LABELS_SHOWN} more" if len(ranked) > MAX_LABELS_SHOWN else ""
        section, _, key = setting.rpartition(".")
        console.print(f"  {escape(setting)}: {shown}{more}")
        console.print(f"    map them in the practice config under \\[{escape(section)}.{escape(key)}]"
                      if section.endswith("maps") or key in DICT_SETTINGS else
                      f"    set {escape(key)} under \\[{escape(section)}] in the practice config")


# Settings that are tables of label -> meaning (the rest are single values).
DICT_SETTINGS = frozenset({"radiograph_categories", "form_titles"})
