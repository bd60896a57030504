"""One sync run for one practice: open the store, record the run, sync, summarize."""

from __future__ import annotations

from datetime import datetime

from pms_bridge.config import Config, ConfigError
from pms_bridge.connectors import FileConnector, load_connector_spec
from pms_bridge.mapping import load_mapping
from pms_bridge.pipeline.check import CheckReport, check_store
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline.report import SyncReport, TaskReport
from pms_bridge.pipeline.tasks import list_meta, patient_names, update_ledger, write_sinks
from pms_bridge.pipeline.sync import Progress, sync
from pms_bridge.store import Store


class UnsupportedConnector(Exception):
    """The config names a connector this version cannot run yet (exit code 2)."""


def parse_as_of(text: str, config: Config) -> datetime:
    """ISO date or datetime; without an offset it is the practice's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of {text!r} is not an ISO date/time such as 2026-03-02T08:00") from None
    tz = config.practice.practice().tz
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def now_at_practice(config: Config) -> datetime:
    """The wall clock, read here (the command layer) and never inside a rule."""
    return datetime.now(config.practice.practice().tz)


def run_sync(
    config: Config,
    as_of: datetime | None,
    command: str = "run",
    progress: Progress | None = None,
    check: bool = False,
) -> SyncReport:
    """Sync the source into the store; with ``check``, then evaluate the rules at ``as_of``."""
    spec = load_connector_spec(config.source.connector)
    if spec.kind != "files":
        raise UnsupportedConnector(
            f"connector {config.source.connector!r} is not available in this version; "
            "use an export folder with connector = 'csv' or 'opendental-csv'"
        )
    mapping = load_mapping(config.source.mapping or spec.default_mapping, config.mapping, relative_to=config.base_dir)
    store = Store.open(config.store_url(), config.practice.practice())
    try:
        run_id = store.start_run(command, as_of)
        try:
            connector = FileConnector(spec, config.source_path())
            report = sync(
                connector,
                mapping,
                store,
                run_id,
                spec.name,
                progress,
                full_exports=config.source.export_mode == "full",
                max_removal_fraction=config.source.max_removal_fraction,
            )
        except BaseException as exc:
            store.finish_run(run_id, "failed", {"error": type(exc).__name__})
            raise
        report.as_of = as_of
        if check:
            report.checks = check_store(config, store, as_of or now_at_practice(config))
            report.as_of = report.checks.as_of
            report.tasks = _work_tasks(config, store, report, run_id)
        store.finish_run(run_id, report.status, report.to_summary())
        return report
    finally:
        store.close()


def _work_tasks(config: Config, store: Store, report: SyncReport, run_id: int) -> TaskReport:
    """Findings into the ledger, then the task lists out to the sinks."""
    assert report.checks is not None and report.checks.snapshot is not None
    snapshot = report.checks.snapshot
    # With a table that could not be read, a missing finding proves nothing: close no task.
    update = update_ledger(store, report.checks, snapshot, run_id, not report.failed, dict(config.roles))
    tasks = Ledger(store).tasks()
    names = patient_names(snapshot.patients.values())
    meta = list_meta(config, store, names, report.checks.as_of, sync=report)
    sinks = write_sinks(config, tasks, meta)
    return TaskReport(update.counts, sum(1 for t in tasks if t.status == "open"), sinks)


def check_only(config: Config, as_of: datetime | None) -> tuple[CheckReport, datetime | None]:
    """Evaluate the rules over the stored snapshot (no sync); returns the report and the data's age."""
    store = Store.open(config.store_url(), config.practice.practice())
    try:
        return check_store(config, store, as_of or now_at_practice(config)), store.data_as_of()
    finally:
        store.close()
