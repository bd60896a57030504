"""Sync: connector rows -> mapping -> validated records -> store.

Each resource is read in batches; a batch's good rows are upserted in one
transaction and its bad rows quarantined, so a bad row never stops the run
and never removes what is already stored. A resource's cursor advances only
after all its rows are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import structlog

from pms_bridge.connectors import FileConnector, SourceFileError, SourceUnavailable
from pms_bridge.connectors.api_client import ApiRequestError
from pms_bridge.mapping import CompiledResource, FieldError, FileLevelError, LookupTables, MappingFile
from pms_bridge.mapping.spec import LookupSpec
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
            table = connector.open(mapping.lookup_files(name), cursor=store.get_cursor(cursor_name))
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
    return present | seen


MIN_SUSPICIOUS_REMOVAL = 20


def _remove_deleted(
    store: Store, entity: str, source: str, present: set[str], max_fraction: float, entry: ResourceReport
) -> None:
    """A full export is the whole table: stored rows it no longer has were deleted in the PMS.

    A file that would remove a large share of the table is more likely cut short
    (a failed export job) than a mass deletion, so nothing is removed then.
    """
    stored = store.stored_ids(entity)
    gone = stored - present
    if not gone:
        return
    if len(gone) > MIN_SUSPICIOUS_REMOVAL and len(gone) > max_fraction * len(stored):
        entry.warning = (
            f"{source} lacks {len(gone):,} of the {len(stored):,} stored {entity} rows; kept them, since the file "
            "looks truncated. If they really were deleted, raise [source] max_removal_fraction for one run; "
            "if your exports hold only changed rows, set [source] export_mode = \"changes\"."
        )
        log.warning("resource.removal_refused", resource=entry.resource, missing=len(gone), stored=len(stored))
        return
    entry.removed = store.remove(entity, gone)


# What the per-patient endpoints are fetched for: the rules' window and lookbacks.
DETAIL_WINDOW_DAYS = 14
DETAIL_FIRST_CONTACT_DAYS = 90
DETAIL_REFERRAL_DAYS = 365


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
        try:
            table = connector.open(mapping.resource_files(name), cursor=store.get_cursor(name), patients=patients)
            if table is None:
                log.info("resource.absent", resource=name)
                continue
            entry.source = table.source
            present = _load_resource(table, compiled, lookups, store, run_id, entry, progress)
        except (FileLevelError, SourceFileError, ApiRequestError) as exc:
            entry.error = str(exc)
            log.warning("resource.failed", resource=name, source=entry.source, rows_read=entry.rows_read)
            continue
        if full_exports:
            _remove_deleted(store, compiled.spec.entity, table.source, present, max_removal_fraction, entry)
        if compiled.spec.entity == "appointment":
            _remove_deleted_in_window(connector, store, today, entry)
        store.set_cursor(name, table.fingerprint(), run_id)
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
