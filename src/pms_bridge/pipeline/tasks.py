"""After the checks: findings into the task ledger, then the tasks out to the sinks (see sinks.registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from pms_bridge.config import Config
from pms_bridge.config.models import SinkSection
from pms_bridge.connectors.api_client import ApiClient
from pms_bridge.ledger import Ledger, LedgerUpdate, Task, reconcile
from pms_bridge.model import Patient
from pms_bridge.pipeline.check import CheckReport
from pms_bridge.pipeline.report import SyncReport
from pms_bridge.rules import RULES, Finding, Snapshot
from pms_bridge.sinks import ListMeta
from pms_bridge.sinks.registry import Sink, SinkContext, SinkResult, get_sink
from pms_bridge.store import Store, appointment_starts, patients_by_id


def held_rules(sync: SyncReport, rules: Iterable[str]) -> dict[str, str]:
    """Of ``rules``, the ones whose tasks may not be resolved this run: rule code -> why.

    A rule is held when a table feeding an entity it reads (``Rule.evidence``) failed, was cut short or
    had rows quarantined: a finding of it that vanished may have vanished with those rows.
    """
    doubts = sync.doubts()
    held: dict[str, str] = {}
    for code in rules:
        reasons = [why for entity in sorted(RULES[code].evidence & doubts.keys()) for why in doubts[entity]]
        if reasons:
            held[code] = "; ".join(dict.fromkeys(reasons))
    return held


def note_held(sync: SyncReport, held: Mapping[str, str], kept_open: Mapping[str, int]) -> None:
    """Say on each doubtful table which rules' tasks it kept from closing (the run summary prints it)."""
    for r in sync.resources:
        why = r.doubt
        if why is None:
            continue
        rules = sorted(code for code in held if RULES[code].evidence & r.speaks_for)
        if not rules:
            continue
        kept = sum(kept_open.get(code, 0) for code in rules)
        r.note(
            f"Because {why}, tasks of {', '.join(rules)} were not resolved this run"
            f"{f' ({kept:,} kept open)' if kept else ''}; they can close on the next run that reads it whole."
        )


def update_ledger(
    store: Store,
    check: CheckReport,
    snapshot: Snapshot,
    run_id: int,
    held: Mapping[str, str],
    assignees: dict[str, str],
) -> LedgerUpdate:
    """``held``: rules whose tasks may not be resolved this run (see ``held_rules``).

    Reads only what reconciling needs: the open tasks, the stored tasks of this run's findings, and the
    starts of the appointments those are about.
    """
    ledger = Ledger(store)
    existing, fingerprints = ledger.to_reconcile({f.key for f in check.findings})
    update = reconcile(
        existing,
        check.findings,
        as_of=check.as_of,
        tz=snapshot.tz,
        evaluated_rules=set(check.rules),
        appointment_starts=_appointment_starts(store, snapshot, check.findings, existing.values()),
        assignees=assignees,
        held=held,
        fingerprints=fingerprints,
        clinics=clinic_names(check.findings, snapshot),
    )
    ledger.apply(update, run_id, check.as_of)
    return update


def _appointment_starts(
    store: Store, snapshot: Snapshot, findings: Iterable[Finding], tasks: Iterable[Task]
) -> dict[str, datetime | None]:
    """Stored start of each appointment a finding or an open task is about (from the snapshot where it has it)."""
    wanted = {f.appointment_id for f in findings if f.appointment_id}
    wanted |= {t.appointment_id for t in tasks if t.status == "open" and t.appointment_id}
    starts = {aid: snapshot.appointments[aid].start for aid in wanted if aid in snapshot.appointments}
    return starts | appointment_starts(store, wanted - starts.keys())


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


def stored_patient_names(store: Store, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Display names of the stored patients among ``ids`` (every stored patient without ``ids``)."""
    patients = store.records("patient") if ids is None else patients_by_id(store, ids)
    return patient_names(p for p in patients if isinstance(p, Patient))


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
        data_as_of=sync.data_as_of if sync is not None else store.data_as_of(),  # the sync just asked
        last_sync_at=finished,
        sync_status=status,
        quarantined=quarantined,
        failed_sources=failed,
        patient_names=names,
    )


def push_to_sinks(
    config: Config,
    store: Store,
    client: ApiClient | None,
    as_of: datetime,
    run_id: int,
    meta: Callable[[set[str]], ListMeta],
) -> tuple[list[SinkResult], list[Task]]:
    """Each ``[[sinks]]`` table to its registered sink; returns the results and the tasks after the pushes.

    Sinks that write the PMS go first, each given the ledger as the one before it left it: a task
    a person closed in the PMS is dismissed before the task lists are written. ``meta`` makes the
    task lists' header (called after the PMS pushes), given the patients of the tasks that the lists
    showing patient names will show (the only names they need).
    """
    chosen = [(index, section, get_sink(section.type)) for index, section in enumerate(config.sinks)]

    def context(index: int, section: SinkSection, lists: ListMeta | None = None) -> SinkContext:
        return SinkContext(config, store, section.settings, index, as_of, run_id, client, lists)

    results = [
        sink.push(Ledger(store).tasks(), context(index, section)) for index, section, sink in chosen if sink.writes_pms
    ]
    tasks = Ledger(store).tasks()
    lists = meta(_named_patients(tasks, [(section, sink) for _, section, sink in chosen]))
    results += [
        sink.push(tasks, context(index, section, lists)) for index, section, sink in chosen if not sink.writes_pms
    ]
    return results, tasks


def _named_patients(tasks: list[Task], sinks: Iterable[tuple[SinkSection, Sink]]) -> set[str]:
    """The patients of the tasks that the sinks showing patient names list (by their ``status`` setting)."""
    statuses: set[str] = set()
    for section, sink in sinks:
        if sink.writes_pms or not getattr(sink, "shows_patient_names", False):
            continue
        shown = getattr(section.settings, "status", None)
        if shown is None:  # a list of every task
            return {t.patient_id for t in tasks}
        statuses.update(shown)
    return {t.patient_id for t in tasks if t.status in statuses}
