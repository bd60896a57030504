"""Sync: connector rows -> mapping -> validated records -> store.

Each resource is read in batches; a batch's good rows are upserted in one
transaction and its bad rows quarantined, so a bad row never stops the run
and never removes what is already stored. A resource's cursor advances only
after all its rows are stored.

Rows the PMS deleted then leave the snapshot, on the evidence the route has:
a full export or full list (stored rows it lacks), per-patient lists (a
fetched patient's stored rows the answer lacks), a deletion list, ids
reconciled with the table (query route), the upcoming window re-listed. A
read that failed is never evidence: nothing is removed for that resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import structlog

from pms_bridge.connectors import FileConnector, SourceFileError, SourceUnavailable
from pms_bridge.connectors.api_client import ApiConfigError, ApiRequestError, ApiVersionTooOld
from pms_bridge.connectors.rest import read_cursor
from pms_bridge.mapping import CompiledResource, FieldError, FileLevelError, LookupTables, MappingFile
from pms_bridge.mapping.spec import FieldSpec, LookupSpec
from pms_bridge.model import Record
from pms_bridge.pipeline.report import ResourceReport, SyncReport
from pms_bridge.store import QuarantinedRow, Store

log = structlog.get_logger("pms_bridge.sync")

Progress = Callable[[str, int], None]  # (resource, rows read so far)


class Table(Protocol):
    """One resource's rows, from a file or an API."""

    source: str

    def header(self) -> list[str]: ...
    def chunks(self) -> Iterator[list[tuple[int, list[str]]]]: ...
    def fingerprint(self) -> str: ...


class Connector(Protocol):
    def open(self, names: list[str], cursor: str | None = None, patients: Any = None) -> Table | None: ...


def _row_shape_problem(row: list[str], width: int) -> str | None:
    if len(row) == width:
        return None
    if len(row) > width and not any(cell.strip() for cell in row[width:]):
        return None  # trailing delimiters
    return f"row has {len(row)} cells, the header has {width} (a delimiter or quote inside a cell?)"


def _reference_rows(spec: LookupSpec, header: list[str], cells_iter: Iterator[list[str]]) -> dict[str, dict[str, str]]:
    """key -> kept columns of a reference table's rows."""
    missing = [c for c in [spec.key, *spec.columns] if c not in header]
    if missing:
        raise FileLevelError(f"missing column(s) {', '.join(missing)} for reference table")
    key_pos = header.index(spec.key)
    positions = [(c, header.index(c)) for c in spec.columns]
    return {
        cells[key_pos].strip(): {c: cells[p] for c, p in positions} for cells in cells_iter if len(cells) >= len(header)
    }


def _load_lookups(connector: Connector, mapping: MappingFile, store: Store, report: SyncReport) -> LookupTables:
    """Reference tables first. One that is also a resource is kept while that resource loads."""
    for name, spec in mapping.lookups.items():
        if name in mapping.resources:
            continue
        entry = ResourceReport(resource=name, entity=None)
        report.resources.append(entry)
        cursor_name = f"lookup:{name}"
        try:
            table = _open(connector, mapping, name, mapping.lookup_files(name), store.get_cursor(cursor_name))
            if table is None:
                continue
            entry.source = table.source
            header = table.header()
            if not header:
                continue  # nothing (changed)
            rows = _reference_rows(spec, header, (cells for chunk in table.chunks() for _, cells in chunk))
            entry.rows_read = len(rows)
            store.save_references(name, rows)
            store.set_cursor(cursor_name, table.fingerprint(), report.run_id)
        except (FileLevelError, SourceFileError, ApiRequestError) as exc:
            entry.error = f"{entry.source}: {exc}" if isinstance(exc, FileLevelError) else str(exc)
            log.warning("lookup.failed", lookup=name, source=entry.source)
    return store.load_references(mapping.lookups)


def _load_resource(
    table: Table,
    compiled: CompiledResource,
    lookups: LookupTables,
    store: Store,
    run_id: int,
    entry: ResourceReport,
    progress: Progress | None,
) -> set[str]:
    """Load one file; returns the ids it holds (stored or quarantined)."""
    header = table.header()
    if not header:
        return set()  # an API resource with no (changed) rows
    bound = compiled.bind(header, table.source, lookups)
    seen: set[str] = set()  # ids stored from this file
    present: set[str] = set()  # ids the file holds, stored or not
    reference = compiled.mapping.lookups.get(compiled.name)
    first = True
    for chunk in table.chunks():
        if first:
            bound.check_export_mode([cells for _, cells in chunk])
            first = False
        if reference is not None:  # this resource is also a reference table for the ones after it
            rows = _reference_rows(reference, header, (cells for _, cells in chunk))
            store.save_references(compiled.name, rows)
            lookups.setdefault(compiled.name, {}).update(rows)
        good: list[Record] = []
        bad: list[QuarantinedRow] = []
        for line, cells in chunk:
            entry.rows_read += 1
            problem = _row_shape_problem(cells, len(header))
            if problem is not None:
                bad.append(QuarantinedRow(table.source, compiled.name, line, None, None, problem))
                continue
            if bound.skips(cells):
                entry.skipped += 1
                continue
            try:
                record = bound.map_row(cells)
            except FieldError as exc:
                source_id = bound.source_id_of(cells)
                if source_id:
                    present.add(source_id)
                # The offending cell helps whoever debugs a mapping; the log's redaction masks it.
                log.debug("row.quarantined", source=table.source, line=line, field=exc.field,
                          value=cells[header.index(exc.column)] if exc.column in header else None)
                bad.append(QuarantinedRow(table.source, compiled.name, line, source_id, exc.field, exc.reason))
                continue
            if record.source_id in seen:
                bad.append(
                    QuarantinedRow(
                        table.source, compiled.name, line, record.source_id, "source_id",
                        "duplicate id: an earlier row of this file has the same id (the first one was kept)",
                    )
                )
                continue
            seen.add(record.source_id)
            good.append(record)
        present |= seen
        entry.stored.add(store.upsert_records(compiled.spec.entity, good, run_id))
        store.quarantine(run_id, bad)
        entry.quarantined += len(bad)
        if progress is not None:
            progress(compiled.name, entry.rows_read)
    entry.unmapped = bound.unmapped.as_dict()
    return present | seen


MIN_SUSPICIOUS_REMOVAL = 20


# ------------------------------------------------------------------------------------- whose ids
def _id_prefixes(spec: FieldSpec) -> frozenset[str]:
    """What the ids a ``source_id`` spec makes start with: '' for a plain column, the prefix of a
    ``prefixed_id`` ("mount-"), and for any other derivation whatever its inputs can make."""
    if spec.derive == "prefixed_id":
        prefix = spec.inputs.get("prefix")
        return frozenset({"" if prefix is None or prefix.const is None else str(prefix.const)})
    if spec.derive is None or not spec.inputs:
        return frozenset({""})
    return frozenset().union(*(_id_prefixes(sub) for sub in spec.inputs.values()))


class _Ids:
    """The stored ids of an entity that one resource speaks for.

    Several tables may feed one entity (documents and mounts, sheets and eForms); each keeps its ids
    apart by a prefix ("mount-12"), and one table's list says nothing about another table's ids: a
    document export without mount 12 does not delete it.
    """

    def __init__(self, mapping: MappingFile, name: str) -> None:
        spec = mapping.resources[name]
        self.entity = spec.entity
        self.mine = _id_prefixes(spec.field_specs()["source_id"])
        every = {
            prefix
            for other in mapping.resources.values()
            if other.entity == spec.entity
            for prefix in _id_prefixes(other.field_specs()["source_id"])
        }
        self._prefixes = sorted(every | {""}, key=len, reverse=True)  # the longest match decides

    def owns(self, source_id: str) -> bool:
        return next(p for p in self._prefixes if source_id.startswith(p)) in self.mine

    def of(self, source_ids: Iterable[str]) -> set[str]:
        return {i for i in source_ids if self.owns(i)}

    @property
    def prefix(self) -> str | None:
        """The one prefix of this resource's ids (None: it makes ids of several kinds)."""
        return next(iter(self.mine)) if len(self.mine) == 1 else None

    def number(self, source_id: str) -> int | None:
        """The PMS's own key of a stored id ("mount-12" -> 12)."""
        prefix = self.prefix
        if prefix is None or not self.owns(source_id):
            return None
        rest = source_id[len(prefix):]
        return int(rest) if rest.isdigit() else None


# ------------------------------------------------------------------------- rows deleted in the PMS
def _remove(store: Store, ids: _Ids, gone: set[str], entry: ResourceReport, evidence: str) -> None:
    if not gone:
        return
    removed = store.remove(ids.entity, gone)
    entry.removed += removed
    log.info("resource.removed", resource=entry.resource, count=removed, evidence=evidence)


def _suspicious(gone: set[str], stored: set[str], max_fraction: float) -> bool:
    return len(gone) > MIN_SUSPICIOUS_REMOVAL and len(gone) > max_fraction * len(stored)


def _remove_deleted(
    store: Store, ids: _Ids, source: str, present: set[str], max_fraction: float, entry: ResourceReport
) -> None:
    """A full export (or a full list) is the whole table: stored rows it no longer has were deleted in the PMS.

    A file that would remove a large share of the table is more likely cut short
    (a failed export job) than a mass deletion, so nothing is removed then. When
    several tables feed one entity (sheets and eForms are forms, documents and
    mounts are documents), a file speaks only for the ids of its own table.
    """
    entity = ids.entity
    stored = ids.of(store.stored_ids(entity))
    gone = stored - present
    if not gone:
        return
    if _suspicious(gone, stored, max_fraction):
        _refuse_removal(entry, len(gone), len(stored), (
            f"{source} lacks {len(gone):,} of the {len(stored):,} stored {entity} rows; kept them, since the file "
            "looks truncated. If they really were deleted, raise [source] max_removal_fraction for one run; "
            "if your exports hold only changed rows, set [source] export_mode = \"changes\"."
        ))
        return
    _remove(store, ids, gone, entry, "full list")


def _refuse_removal(entry: ResourceReport, missing: int, stored: int, why: str) -> None:
    entry.warning = why
    log.warning("resource.removal_refused", resource=entry.resource, missing=missing, stored=stored)


def _remove_missing_for_patients(
    store: Store, ids: _Ids, patients: list[str], present: set[str], entry: ResourceReport
) -> None:
    """Each fetched patient's answer was that patient's whole list: their stored rows it lacks are gone."""
    stored = ids.of(store.ids_of_patients(ids.entity, patients))
    _remove(store, ids, stored - present, entry, "per-patient lists")


def _reconcile(
    connector: Connector, names: list[str], store: Store, ids: _Ids, max_fraction: float, entry: ResourceReport
) -> None:
    """Query route: stored ids the table no longer holds (deleted, or soft-deleted) leave the snapshot."""
    reconciles = getattr(connector, "reconciles", None)
    if reconciles is None or not reconciles(names):
        return
    if ids.prefix is None:
        log.warning("resource.reconcile_skipped", resource=entry.resource, reason="ids of several kinds")
        return
    stored = {number: sid for sid in ids.of(store.stored_ids(ids.entity)) if (number := ids.number(sid)) is not None}
    numbers = connector.reconcile(names, set(stored)) or set()  # type: ignore[attr-defined]
    gone = {stored[n] for n in numbers if n in stored}
    if _suspicious(gone, set(stored.values()), max_fraction):
        _refuse_removal(entry, len(gone), len(stored), (
            f"the PMS's {entry.resource} table lacks {len(gone):,} of the {len(stored):,} stored rows; kept them, "
            "since so many deletions at once look like a wrong answer. If they really were deleted, raise "
            "[source] max_removal_fraction for one run."
        ))
        return
    _remove(store, ids, gone, entry, "reconciled ids")


def _remove_listed_deletions(
    connector: Connector, names: list[str], store: Store, ids: _Ids, old_cursor: str | None, today: date,
    entry: ResourceReport,
) -> None:
    """Rows the PMS lists as deleted since the last run (Open Dental: histappointment, action Deleted)."""
    deleted_ids = getattr(connector, "deleted_ids", None)
    stamp = read_cursor(old_cursor)
    if deleted_ids is None or not stamp:
        return  # a first run has nothing stale to remove
    try:
        since = date.fromisoformat(stamp[:10])
    except ValueError:
        return
    try:
        listed = deleted_ids(names, since - timedelta(days=1), max(today, since) + timedelta(days=1))
    except ApiConfigError as exc:  # an office too old for the list may not know the path at all
        raise SourceFileError(str(exc)) from None
    if listed is None:
        return
    _remove(store, ids, ids.of(listed) & store.stored_ids(ids.entity), entry, "deletion list")


# What the per-patient endpoints are fetched for: the rules' window and lookbacks.
DETAIL_WINDOW_DAYS = 14
DETAIL_FIRST_CONTACT_DAYS = 90
DETAIL_REFERRAL_DAYS = 365
# Patients a listing hides once deleted (Open Dental: /patients/Simple) are re-checked one by one when
# open tasks of these rules are about them: a deleted first contact must not stay on the referral list.
RECHECK_RULES = ("REF",)


class _Patients:
    """The patients whose per-patient details the rules need, computed once when first asked."""

    def __init__(self, store: Store, today: date) -> None:
        self.store, self.today = store, today
        self._ids: set[str] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._ids is None:
            self._ids = self.store.patients_needing_detail(
                self.today,
                self.today + timedelta(days=DETAIL_WINDOW_DAYS),
                self.today - timedelta(days=DETAIL_FIRST_CONTACT_DAYS),
                self.today - timedelta(days=DETAIL_REFERRAL_DAYS),
            )
        return iter(sorted(self._ids))


def _remove_deleted_in_window(connector: Connector, store: Store, today: date, entry: ResourceReport) -> None:
    """Appointments deleted in the PMS vanish from the API: re-list the upcoming window and drop the missing."""
    window_ids = getattr(connector, "window_ids", None)
    if window_ids is None:
        return
    end = today + timedelta(days=DETAIL_WINDOW_DAYS)
    listed = window_ids(today, end)
    if listed is None:
        return
    stored = store.scheduled_appointment_ids(today, end)
    gone = stored - listed
    if gone:
        entry.removed += store.remove("appointment", gone)
        log.info("appointments.removed", count=len(gone))


def _recheck(
    connector: Connector,
    names: list[str],
    compiled: CompiledResource,
    lookups: LookupTables,
    store: Store,
    run_id: int,
    entry: ResourceReport,
) -> None:
    """Patients the listing hides once deleted, asked for one by one: a Deleted status is stored as such."""
    limit = getattr(connector, "recheck_limit", lambda _: 0)(names)
    if not limit or compiled.spec.entity != "patient":
        return
    wanted = store.patients_with_open_tasks(RECHECK_RULES, limit)
    if not wanted:
        return
    table = connector.recheck(names, wanted)  # type: ignore[attr-defined]
    if table is None:
        return
    scratch = ResourceReport(resource=entry.resource, entity=entry.entity)
    _load_resource(table, compiled, lookups, store, run_id, scratch, None)
    entry.rows_read += scratch.rows_read
    entry.quarantined += scratch.quarantined
    entry.stored.add(scratch.stored)
    log.info("patients.rechecked", asked=len(wanted), answered=scratch.rows_read, changed=scratch.stored.updated)


def _check_deletions(
    connector: Connector,
    mapping: MappingFile,
    name: str,
    table: Table,
    present: set[str],
    store: Store,
    old_cursor: str | None,
    today: date,
    full_exports: bool,
    max_removal_fraction: float,
    entry: ResourceReport,
) -> None:
    """Rows the PMS deleted leave the snapshot, on the evidence each route has (never a failed read's)."""
    ids = _Ids(mapping, name)
    names = mapping.resource_files(name)
    if full_exports or getattr(table, "complete", False):
        _remove_deleted(store, ids, table.source, present, max_removal_fraction, entry)
    patients = getattr(table, "patients", None)
    if patients:
        _remove_missing_for_patients(store, ids, patients, present, entry)
    _reconcile(connector, names, store, ids, max_removal_fraction, entry)
    _remove_listed_deletions(connector, names, store, ids, old_cursor, today, entry)
    if ids.entity == "appointment":
        _remove_deleted_in_window(connector, store, today, entry)


def _open(
    connector: Connector, mapping: MappingFile, name: str, files: list[str], cursor: str | None, **kw: Any
) -> Table | None:
    """Open one table; a connector that selects columns (the query route) is told the ones the mapping reads."""
    if getattr(connector, "selects_columns", False):
        kw["columns"] = mapping_columns(mapping, name)
    return connector.open(files, cursor=cursor, **kw)


def mapping_columns(mapping: MappingFile, name: str) -> list[str]:
    """Every source column a resource and/or reference table of the mapping reads, in mapping order."""
    columns: list[str] = []

    def add(column: str | None) -> None:
        if column and column not in columns:
            columns.append(column)

    def walk(spec: FieldSpec) -> None:
        add(spec.column)
        if spec.when is not None:
            add(spec.when.column)
        for sub in spec.inputs.values():
            walk(sub)

    resource = mapping.resources.get(name)
    if resource is not None:
        for spec in resource.field_specs().values():
            walk(spec)
        if resource.skip is not None:
            add(resource.skip.column)
        for column in resource.raw_mode_columns:
            add(column)
    lookup = mapping.lookups.get(name)
    if lookup is not None:
        add(lookup.key)
        for column in lookup.columns:
            add(column)
    return columns


def sync(
    connector: Connector,
    mapping: MappingFile,
    store: Store,
    run_id: int,
    connector_name: str,
    progress: Progress | None = None,
    full_exports: bool = True,
    max_removal_fraction: float = 0.1,
    today: date | None = None,
) -> SyncReport:
    report = SyncReport(run_id=run_id, mapping=mapping.name, connector=connector_name, started_at=datetime.now(UTC))
    if isinstance(connector, FileConnector) and not any(
        connector.find(mapping.resource_files(name)) for name in mapping.resources
    ):
        expected = ", ".join(f"{mapping.resource_files(n)[0]}{connector.spec.extensions[0]}" for n in mapping.resources)
        raise SourceUnavailable(
            f"no export files for mapping {mapping.name!r} in {connector.folder}; expected files such as {expected}"
        )
    today = today or datetime.now(store.practice.tz).date()
    lookups = _load_lookups(connector, mapping, store, report)
    tz = store.practice.tz
    patients = _Patients(store, today)
    for name in mapping.resources:
        compiled = CompiledResource(mapping, name, tz)
        entry = ResourceReport(resource=name, entity=compiled.spec.entity)
        report.resources.append(entry)
        old_cursor = store.get_cursor(name)
        try:
            table = _open(connector, mapping, name, mapping.resource_files(name), old_cursor, patients=patients)
            if table is None:
                log.info("resource.absent", resource=name)
                if not isinstance(connector, FileConnector):
                    report.resources.remove(entry)  # not on this read route: nothing missing
                continue
            entry.source = table.source
            present = _load_resource(table, compiled, lookups, store, run_id, entry, progress)
        except ApiVersionTooOld as exc:  # this office cannot serve it: said once, not a partial run
            entry.unavailable = str(exc)
            log.warning("resource.unavailable", resource=name, source=entry.source)
            continue
        except (FileLevelError, SourceFileError, ApiRequestError) as exc:
            entry.error = str(exc)
            log.warning("resource.failed", resource=name, source=entry.source, rows_read=entry.rows_read)
            continue  # removes nothing: a failed read is no evidence of deletions
        store.set_cursor(name, table.fingerprint(), run_id)
        try:
            _check_deletions(connector, mapping, name, table, present, store, old_cursor, today, full_exports,
                             max_removal_fraction, entry)
            _recheck(connector, mapping.resource_files(name), compiled, lookups, store, run_id, entry)
        except (FileLevelError, SourceFileError, ApiRequestError) as exc:
            note = (f"could not check for {name} rows deleted in the PMS ({exc}); the rows read are stored, nothing "
                    "was removed on this failed check, and the next run checks again")
            entry.warning = f"{entry.warning} {note}" if entry.warning else note
            log.warning("resource.deletion_check_failed", resource=name)
        log.info(
            "resource.loaded",
            resource=name,
            rows=entry.rows_read,
            inserted=entry.stored.inserted,
            updated=entry.stored.updated,
            removed=entry.removed,
            quarantined=entry.quarantined,
        )
    report.snapshot_counts = store.counts()
    report.data_as_of = store.data_as_of()
    report.finished_at = datetime.now(UTC)
    return report
