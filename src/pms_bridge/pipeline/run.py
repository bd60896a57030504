"""One sync run for one practice: open the store, record the run, sync, summarize."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pms_bridge.config import Config, ConfigError
from pms_bridge.connectors import ConnectorSpec, FileConnector, load_connector_spec
from pms_bridge.connectors.api_client import ApiClient
from pms_bridge.connectors.database import connect as connect_database
from pms_bridge.connectors.rest import RestConnector, make_client
from pms_bridge.mapping import load_mapping
from pms_bridge.pipeline.as_of import parse_as_of, refuse_backdating  # noqa: F401 - parse_as_of is re-exported
from pms_bridge.pipeline.check import CheckReport, check_store, practice_horizons
from pms_bridge.pipeline.interrupt import Interrupted, checkpoint
from pms_bridge.pipeline.report import SyncReport, TaskReport, unavailable_in
from pms_bridge.pipeline.sync import Connector, Progress, sync
from pms_bridge.pipeline.tasks import (
    held_rules,
    list_meta,
    note_held,
    push_to_sinks,
    stored_patient_names,
    update_ledger,
)
from pms_bridge.sinks import ListMeta
from pms_bridge.store import Store


def now_at_practice(config: Config) -> datetime:
    """The wall clock, read here (the command layer) and never inside a rule."""
    return datetime.now(config.practice.practice().tz)


def _mapping_name(config: Config, spec: ConnectorSpec) -> str:
    if config.source.mapping:
        return config.source.mapping
    # The query route returns database-shaped rows: the table-export mapping reads them.
    return "opendental" if config.source.read_route == "query" else spec.default_mapping


def _connector(config: Config, spec: ConnectorSpec, http: dict[str, Any]) -> tuple[Connector, ApiClient | None]:
    if spec.kind == "files":
        if config.source.path is None:
            raise ConfigError(f"source.path: connector {spec.name!r} reads files: give the folder that holds them")
        return FileConnector(spec, config.source_path()), None
    if spec.kind == "database":
        if config.source.url is None:
            raise ConfigError(f"source.url: connector {spec.name!r} reads a database: give its address, e.g. "
                              "mysql://pmsb_reader@od-server:3306/opendental")
        return connect_database(spec, config.source, ca=config.ssl_ca_path()), None
    assert spec.rest is not None
    client = make_client(spec, config.source, **http)
    route = config.source.read_route or "resources"
    mode = spec.rest.modes[config.source.mode or "cloud"]
    default_page = spec.query.page_size if route == "query" and spec.query else mode.page_size
    return RestConnector(spec, client, page_size=config.source.page_size or default_page, route=route), client


def run_sync(
    config: Config,
    as_of: datetime | None,
    command: str = "run",
    progress: Progress | None = None,
    check: bool = False,
    http: dict[str, Any] | None = None,
    backdate: bool = False,
) -> SyncReport:
    """Sync the source into the store; with ``check``, then evaluate the rules at ``as_of``.

    Holds the practice's write lock from before the run is recorded until it is finished: a second
    writer fails at once (StoreBusy). ``as_of`` before the newest stored data is refused unless
    ``backdate``. A stop signal (see ``interrupt``) ends the run at a safe point, recorded as
    interrupted. ``http`` passes options to the API client (tests give it a fake clock and sleep).
    """
    spec = load_connector_spec(config.connector_name())
    mapping = load_mapping(_mapping_name(config, spec), config.mapping, relative_to=config.base_dir)
    store = Store.open(config.store_url(), config.practice.practice())
    client: ApiClient | None = None
    connector: Connector | None = None
    try:
        with store.hold(command):
            if as_of is not None and not backdate:
                refuse_backdating(as_of, store.data_as_of(), store.practice.tz)
            run_id = store.start_run(command, as_of)
            try:
                connector, client = _connector(config, spec, http or {})
                report = sync(
                    connector,
                    mapping,
                    store,
                    run_id,
                    spec.name,
                    _stoppable(progress),
                    full_exports=spec.kind == "files" and config.source.export_mode == "full",
                    max_removal_fraction=config.source.max_removal_fraction,
                    today=(as_of or now_at_practice(config)).date(),
                    needs=practice_horizons(config),
                )
                report.as_of = as_of
                report.warnings.extend(getattr(connector, "warnings", ()))  # the source's, said once
                _close(connector)  # a database's read-only transaction ends with the sync, not the run
                checkpoint()
                if check:
                    report.checks = check_store(config, store, as_of or now_at_practice(config),
                                                unavailable=report.unavailable_entities)
                    report.as_of = report.checks.as_of
                    checkpoint()
                    report.tasks = _work_tasks(config, store, report, run_id, client)
                report.requests = client.requests if client else 0
            except (Interrupted, KeyboardInterrupt) as exc:
                store.finish_run(run_id, "interrupted", {"stopped_by": str(exc) or "KeyboardInterrupt"})
                raise
            except BaseException as exc:
                store.finish_run(run_id, "failed", {"error": type(exc).__name__})
                exc.pms_bridge_failed_run = run_id  # type: ignore[attr-defined]  # for the crash message
                raise
            store.finish_run(run_id, report.status, report.to_summary())
        return report
    finally:
        if client is not None:
            client.close()
        _close(connector)
        store.close()


def _close(connector: Connector | None) -> None:
    """End a connector's session with the source (a database connection and its read-only transaction)."""
    close = getattr(connector, "close", None)
    if close is not None:
        close()


def _stoppable(progress: Progress | None) -> Progress:
    """Sync reports progress after each chunk is stored: a safe point to stop at."""

    def report(resource: str, rows: int, fraction: float | None) -> None:
        checkpoint()
        if progress is not None:
            progress(resource, rows, fraction)

    return report


def _work_tasks(config: Config, store: Store, report: SyncReport, run_id: int, client: ApiClient | None) -> TaskReport:
    """Findings into the ledger, then the task lists out to the sinks."""
    assert report.checks is not None and report.checks.snapshot is not None
    snapshot = report.checks.snapshot
    # A table not read whole proves nothing by a missing row: the rules reading it close no task.
    held = held_rules(report, report.checks.rules)
    update = update_ledger(store, report.checks, snapshot, run_id, held, dict(config.roles))
    note_held(report, held, update.held)
    as_of = report.checks.as_of

    def meta(named: set[str]) -> ListMeta:  # the patients whose names the task lists show
        return list_meta(config, store, stored_patient_names(store, named), as_of, sync=report)

    # The PMS first: a task a person closed there is dismissed before the lists are written.
    sinks, tasks = push_to_sinks(config, store, client, as_of, run_id, meta)
    return TaskReport(update.counts, sum(1 for t in tasks if t.status == "open"), sinks, held, dict(update.held))


def check_only(config: Config, as_of: datetime | None) -> tuple[CheckReport, datetime | None]:
    """Evaluate the rules over the stored snapshot (no sync); returns the report and the data's age."""
    store = Store.open(config.store_url(), config.practice.practice())
    try:
        # What the office could not serve when it was last read whole (an unfinished run's summary says nothing).
        last = next((r for r in store.list_runs(5) if "resources" in r.summary), None)
        unavailable = unavailable_in(last.summary) if last else set()
        return check_store(config, store, as_of or now_at_practice(config), unavailable), store.data_as_of()
    finally:
        store.close()
