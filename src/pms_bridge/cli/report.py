"""`pms-bridge report`: the morning huddle and KPI page (or its KPI series as JSON), from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pms_bridge.cli.errors import cannot_write, handle_errors
from pms_bridge.cli.readers import warn_about
from pms_bridge.config import Config, load_config
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import now_at_practice, parse_as_of
from pms_bridge.sinks import write_private
from pms_bridge.sinks.report import (
    KpiTargets,
    ReportSinkSettings,
    build_report,
    render_report,
    report_json,
)
from pms_bridge.sinks.report.sink import DEFAULT_WEEKS, MAX_WEEKS
from pms_bridge.store import Store

err = Console(stderr=True)

DEFAULT_OUTPUT = Path("report.html")


def _report_sink(config: Config) -> ReportSinkSettings | None:
    """The config's first ``type = "report"`` sink: its targets, weeks and path are the command's defaults."""
    for section in config.sinks:
        if isinstance(section.settings, ReportSinkSettings):
            return section.settings
    return None


@handle_errors
def report(
    config: Annotated[Path, typer.Option("--config", "-c", help="The practice's TOML config file.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The report's 'now' (ISO date/time, practice time without an offset): today's "
                     "huddle is that day's, the KPI weeks end the week before. Default: now."),
    ] = None,
    weeks: Annotated[
        int | None,
        typer.Option("--weeks", min=1, max=MAX_WEEKS, help=f"KPI weeks to chart (default: the report sink's "
                     f"`weeks`, else {DEFAULT_WEEKS})."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (owner-only). Default for html: the report sink's "
                     f"path, else {DEFAULT_OUTPUT} here; json goes to stdout unless given."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="html (the page) or json (the KPI series).")] = "html",
) -> None:
    """Write the morning huddle and KPI report: one HTML file that works offline and prints on A4 or Letter.

    Today's huddle: the day's and the next business day's schedule by provider, each appointment flagged with its open tasks (insurance, forms, x-rays, length, provider, new patient), and the open tasks per role with how many are overdue.

    KPI trends, week by week, each with its target: new-patient appointments, referral to first visit, no-shows, insurance verified, forms and radiographs on file, treatment acceptance, tasks opened, resolved and on time. The targets come from the config's report sink (\\[sinks.targets]); docs/report.md says how each KPI is computed.

    Reads what the last `pms-bridge run` stored; nothing is synced. A `type = "report"` sink rewrites the page on every run.

    Examples:

      pms-bridge report --config practice.toml --output out/report.html

      pms-bridge report --config practice.toml --as-of 2026-03-02T08:00 --weeks 13 --format json
    """
    configure_logging()  # log lines on stderr: stdout carries only the output
    if output_format not in ("html", "json"):
        raise typer.BadParameter("use html or json", param_hint="--format")
    cfg = load_config(config)
    sink = _report_sink(cfg)
    when = parse_as_of(as_of, cfg) if as_of else now_at_practice(cfg)
    chosen_weeks = weeks or (sink.weeks if sink else DEFAULT_WEEKS)
    targets = sink.targets if sink else KpiTargets()
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        warn_about(store, err)
        built = build_report(store, cfg.practice.name, when, chosen_weeks, targets)
    finally:
        store.close()
    if built.meta.data_as_of is None:
        err.print("The store holds no data yet: run `pms-bridge run --config ...` first.", style="yellow",
                  soft_wrap=True, markup=False)
    if output_format == "json":
        text = report_json(built.kpis, built.meta)
        if output is None:
            print(text, end="")
            return
    else:
        text = render_report(built.kpis, built.huddle, built.meta)
        output = output or (cfg.resolve(sink.path) if sink else DEFAULT_OUTPUT)
    try:
        write_private(output, text)
    except OSError as exc:
        raise cannot_write(output, exc, "the report") from None
    err.print(f"Wrote the {output_format} report ({chosen_weeks} weeks) to {output}", soft_wrap=True, markup=False)
