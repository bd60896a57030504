"""After the checks: findings into the task ledger, then the task lists out to the sinks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog

from pms_bridge.config import Config
from pms_bridge.connectors.api_client import ApiClient
from pms_bridge.ledger import Ledger, LedgerUpdate, Task, reconcile
from pms_bridge.model import Patient
from pms_bridge.pipeline.check import CheckReport
from pms_bridge.pipeline.report import SinkResult, SyncReport
from pms_bridge.rules import Finding, Snapshot
from pms_bridge.sinks import ListMeta, render, write_private
from pms_bridge.store import Store

log = structlog.get_logger("pms_bridge.tasks")


def update_ledger(
    store: Store, check: CheckReport, snapshot: Snapshot, run_id: int, allow_close: bool, assignees: dict[str, str]
) -> LedgerUpdate:
    ledger = Ledger(store)
    existing = {t.key: t for t in ledger.tasks()}
    starts = {aid: apt.start for aid, apt in snapshot.appointments.items()}
    update = reconcile(
        existing,
        check.findings,
        as_of=check.as_of,
        tz=snapshot.tz,
        evaluated_rules=set(check.rules),
        appointment_starts=starts,
        assignees=assignees,
        allow_close=allow_close,
        fingerprints=ledger.fingerprints(),
        clinics=clinic_names(check.findings, snapshot),
    )
    ledger.apply(update, run_id, check.as_of)
    return update


def clinic_names(findings: Iterable[Finding], snapshot: Snapshot) -> dict[str, str]:
    """Finding key -> its clinic's name (none in a single-clinic office)."""
    names = {f.key: snapshot.clinic_name_of(f.patient_id, f.appointment_id) for f in findings}
    return {key: name for key, name in names.items() if name}


def patient_names(patients: Iterable[Patient]) -> dict[str, str]:
    """Display names for the HTML list ("Last, First (Preferred)")."""
    names = {}
    for p in patients:
        name = ", ".join(part for part in (p.last_name, p.first_name) if part)
        if p.preferred_name and p.preferred_name != p.first_name:
            name = f"{name} ({p.preferred_name})"
        if name:
            names[p.source_id] = name
    return names


def stored_patient_names(store: Store) -> dict[str, str]:
    return patient_names(p for p in store.records("patient") if isinstance(p, Patient))


def list_meta(
    config: Config,
    store: Store,
    names: dict[str, str],
    generated_at: datetime,
    sync: SyncReport | None = None,
) -> ListMeta:
    """Header facts of a task list: from this run's sync report, or else the store's latest run."""
    if sync is not None:
        finished, status, quarantined = sync.finished_at, sync.status, sync.quarantined
        failed = [r.source or r.resource for r in sync.failed]
    else:
        runs = [r for r in store.list_runs(5) if r.status != "running"]
        last = runs[0] if runs else None
        summary = last.summary if last else {}
        finished, status = (last.finished_at, last.status) if last else (None, None)
        quarantined = int(summary.get("quarantined") or 0)
        failed = [r.get("source") or r["resource"] for r in summary.get("resources", []) if r.get("error")]
    return ListMeta(
        practice_name=config.practice.name,
        timezone=config.practice.timezone,
        generated_at=generated_at,
        data_as_of=store.data_as_of(),
        last_sync_at=finished,
        sync_status=status,
        quarantined=quarantined,
        failed_sources=failed,
        patient_names=names,
    )


PMS_SINKS = ("opendental-tasks", "opendental-commlog")


def push_to_pms(
    config: Config, store: Store, client: ApiClient | None, now: datetime, run_id: int
) -> list[SinkResult]:
    """Tasks into the PMS (Open Dental task lists or commlogs), through the source's API client."""
    from pms_bridge.sinks.opendental import push_commlogs, push_tasks

    results = []
    for index, sink in enumerate(config.sinks):
        if sink.type not in PMS_SINKS:
            continue
        target = f"Open Dental {'task lists' if sink.type == 'opendental-tasks' else 'commlogs'}"
        if client is None:
            results.append(SinkResult(sink.type, target, error='needs [source] connector = "opendental-api"'))
            continue
        push = push_tasks if sink.type == "opendental-tasks" else push_commlogs
        pushed = push(client, store, sink, Ledger(store).tasks(), now=now, run_id=run_id, index=index)
        error = "; ".join(pushed.errors[:5]) if (pushed.failed or pushed.errors) else None
        warning = "; ".join(pushed.warnings) or None
        results.append(SinkResult(sink.type, target, pushed.created + pushed.updated + pushed.closed, error, warning))
    return results


def write_sinks(config: Config, tasks: list[Task], meta: ListMeta) -> list[SinkResult]:
    """Task lists written to files (json, csv, html)."""
    results = []
    for sink in config.sinks:
        if sink.type in PMS_SINKS or sink.path is None:
            continue
        path = config.resolve(sink.path)
        chosen = [t for t in tasks if t.status in sink.status]
        text = render(sink.type, chosen, meta)
        try:
            write_private(path, text)
            results.append(SinkResult(sink.type, str(path), len(chosen)))
        except OSError as exc:
            results.append(SinkResult(sink.type, str(path), error=f"cannot write: {exc.strerror}"))
            log.warning("sink.failed", sink=sink.type, error=exc.strerror)
    return results
