"""Print a sync report for a person: counts per table, what failed, data as of."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
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
    for header in ("table", "file", "rows read", "new", "changed", "unchanged", "quarantined", "skipped"):
        table.add_column(header, justify="left" if header in ("table", "file") else "right")
    for r in report.resources:
        if r.entity is None and r.missing:
            continue  # an absent reference table is not news
        source = r.source or "[dim]not in export[/dim]"
        if r.error:
            source = f"[red]{r.source} (failed)[/red]"
        table.add_row(
            r.entity or f"{r.resource} (reference)",
            source,
            f"{r.rows_read:,}",
            f"{r.stored.inserted:,}",
            f"{r.stored.updated:,}",
            f"{r.stored.unchanged:,}",
            f"[yellow]{r.quarantined:,}[/yellow]" if r.quarantined else "0",
            f"{r.skipped:,}",
        )
    console.print(table)

    totals = ", ".join(f"{name} {count:,}" for name, count in report.snapshot_counts.items())
    console.print(f"Snapshot now holds: {totals}")
    console.print(f"Data as of: {_when(report.data_as_of, timezone)} (newest change in the PMS data)")
    if report.as_of is not None:
        console.print(f"Checked as of: {_when(report.as_of, timezone)}")
    if report.finished_at is not None:
        seconds = (report.finished_at - report.started_at).total_seconds()
        console.print(f"Took {seconds:.1f} s")
    for failed in report.failed:
        console.print(f"[red]Not loaded:[/red] {failed.error}")
    if report.quarantined:
        console.print(
            f"[yellow]{report.quarantined:,} row(s) quarantined[/yellow] (stored data kept; the rest of the run went on). "
            "See them with: pms-bridge quarantine --config FILE"
        )
    status = {"ok": "[green]OK[/green]", "partial": "[yellow]PARTIAL[/yellow] (exit code 4)"}[report.status]
    console.print(f"Result: {status}")
