"""Sync: connector rows -> mapping -> validated records -> store.

Each resource is read in batches; a batch's good rows are upserted in one
transaction and its bad rows quarantined, so a bad row never stops the run
and never removes what is already stored. A resource's cursor advances only
after all its rows are stored.

Rows the PMS deleted then leave the snapshot, on the evidence the route has:
a full export or full list (stored rows it lacks), per-patient lists (a
fetched patient's stored rows the answer lacks), a deletion list, ids
reconciled with the table (query route), the upcoming window re-listed
(deletions.py). A read that failed is never evidence: nothing is removed for
that resource. Nor is a table with quarantined rows (a row whose id could not be
read looks absent) or a file cut short: its rows are stored, the run is partial,
and the rules reading it close no task (pipeline/tasks.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from itertools import compress
from operator import eq, itemgetter, not_
from typing import Any, Protocol

import structlog

from pms_bridge.connectors import FileConnector, SourceUnavailable
from pms_bridge.connectors.api_client import ApiVersionTooOld
from pms_bridge.errors import ItemSkipped
from pms_bridge.mapping import (
    BoundResource,
    CompiledResource,
    FieldError,
    FileLevelError,
    LookupTables,
    MappingFile,
    UnmappedLabels,
)
from pms_bridge.mapping.fingerprint import SourceHasher, tables_looked_up
from pms_bridge.mapping.spec import FieldSpec, LookupSpec
from pms_bridge.model import Record
from pms_bridge.pipeline.deletions import check_deletions
from pms_bridge.pipeline.fanout import PatientFanout
from pms_bridge.pipeline.interrupt import checkpoint
from pms_bridge.pipeline.report import ResourceReport, SyncReport
from pms_bridge.rules import Horizons, horizons
from pms_bridge.store import IdSet, QuarantinedRow, Store

log = structlog.get_logger("pms_bridge.sync")

# (resource, rows read so far, share of the table read: None when unknown, 1.0 once it is done)
Progress = Callable[[str, int, float | None], None]

# A cell this long in a column the mapping reads is no value a PMS keeps there (a quote that swallowed
# rows, a pasted file): that row is quarantined. Columns the mapping does not read may hold more
# (Open Dental keeps images in document.RawBase64).
MAX_CELL_CHARS = 1_000_000
MAX_ID_CHARS = 64  # the model's (and the store's) longest id
# A chunk this long of a whole table (a full export or list): the entity's stored hashes are then read in
# one scan, not looked up by id chunk after chunk (rows changed since the last read: always by id).
FULL_CHUNK = 5000


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


def _oversized_cell(row: list[str], read: list[tuple[str, int]]) -> tuple[str, str] | None:
    """(column, problem) of the first cell the mapping reads that is too long to be a value."""
    for column, position in read:
        if position < len(row) and len(row[position]) > MAX_CELL_CHARS:
            return column, (f"column {column} holds {len(row[position]):,} characters, over the {MAX_CELL_CHARS:,} "
                            "a value may have (a quote that never closes, or a file pasted into a cell?)")
    return None


def _still_present(bound: BoundResource, cells: list[str], present: set[str]) -> str | None:
    """A quarantined row's id, when it reads as one (an over-long "id" is some other cell's text): the row
    is in the file, so its record counts as present, never as deleted."""
    source_id = bound.source_id_of(cells)
    if not source_id or len(source_id) > MAX_ID_CHARS:
        return None
    present.add(source_id)
    return source_id


def _read_positions(mapping: MappingFile, name: str, header: list[str]) -> list[tuple[str, int]]:
    return [(column, header.index(column)) for column in mapping_columns(mapping, name) if column in header]


def _reference_rows(
    spec: LookupSpec, header: list[str], lines: Iterator[tuple[int, list[str]]], bad: list[int] | None = None
) -> dict[str, dict[str, str]]:
    """key -> kept columns of a reference table's rows; the line numbers of short rows go to ``bad``."""
    missing = [c for c in [spec.key, *spec.columns] if c not in header]
    if missing:
        raise FileLevelError(f"missing column(s) {', '.join(missing)} for reference table")
    key_pos = header.index(spec.key)
    positions = [(c, header.index(c)) for c in spec.columns]
    rows: dict[str, dict[str, str]] = {}
    for line, cells in lines:
        if len(cells) < len(header):
            if bad is not None:
                bad.append(line)
            continue
        rows[cells[key_pos].strip()] = {c: cells[p] for c, p in positions}
    return rows


def _fed_by(mapping: MappingFile, table: str) -> list[str]:
    """The entities whose records look ids up in reference table ``table``."""
    return sorted({
        resource.entity for resource in mapping.resources.values()
        if table in tables_looked_up(resource.field_specs().values())
    })


def _mark_cut(table: Table, entry: ResourceReport) -> None:
    """A file whose last row is cut short: its rows are stored, but they are not the whole table."""
    cut = getattr(table, "cut", None)
    if not cut:
        return
    entry.incomplete = f"{table.source}: {cut}"
    entry.note(
        f"{table.source} ends in the middle of a row ({cut}): it looks cut short while it was exported. Its rows "
        "were stored, but nothing was removed on its evidence; export the table again."
    )
    log.warning("resource.cut_short", resource=entry.resource, source=table.source)


def _load_lookups(connector: Connector, mapping: MappingFile, store: Store, report: SyncReport) -> LookupTables:
    """Reference tables first. One that is also a resource is kept while that resource loads."""
    for name, spec in mapping.lookups.items():
        if name in mapping.resources:
            continue
        entry = ResourceReport(resource=name, entity=None, feeds=_fed_by(mapping, name))
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
            short: list[int] = []
            rows = _reference_rows(spec, header, (row for chunk in table.chunks() for row in chunk), short)
            entry.rows_read = len(rows)
            store.save_references(name, rows)
            problem = f"row has fewer cells than the header's {len(header)} (a delimiter or quote inside a cell?)"
            store.quarantine(report.run_id, [QuarantinedRow(table.source, name, line, None, None, problem)
                                             for line in short])
            entry.quarantined = len(short)
            _mark_cut(table, entry)
            if not short and not entry.incomplete:  # read again next time until it reads whole
                store.set_cursor(cursor_name, table.fingerprint(), report.run_id)
        except ItemSkipped as exc:  # one table or request: the rest of the run goes on
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
    whole: bool = False,
) -> IdSet:
    """Load one file; returns the ids it holds (stored or quarantined). ``whole``: the file is the whole table
    (a full export or list), not the rows changed since the last read.

    A row whose source hash is the one stored with its record is unchanged since it was last mapped: it
    is counted and kept, not mapped, validated or written again (mapping.fingerprint says why that is safe).
    """
    header = table.header()
    if not header:
        return IdSet()  # an API resource with no (changed) rows
    bound = compiled.bind(header, table.source, lookups, getattr(table, "missing_column_hint", None))
    entity = compiled.spec.entity
    seen = IdSet()  # ids stored (or kept unchanged) from this file
    present: set[str] = set()  # ids of rows not stored that the file holds (quarantined ones)
    reference = compiled.mapping.lookups.get(compiled.name)
    read = _read_positions(compiled.mapping, compiled.name, header)
    hasher = SourceHasher(compiled.mapping, compiled.name, store.practice.timezone, read, lookups)
    check = _RowCheck(table.source, compiled.name, bound, header, read, hasher)
    carried = _carried_labels(store, compiled.name, hasher)
    kept = 0  # rows whose stored record stands (same source hash)
    every_hash: Mapping[str, str | None] | None = None  # the entity's stored hashes, once a chunk is full
    first = True
    for chunk in table.chunks():
        if first:
            bound.check_export_mode([cells for _, cells in chunk])
            first = False
        if reference is not None:  # this resource is also a reference table for the ones after it
            rows = _reference_rows(reference, header, iter(chunk))
            store.save_references(compiled.name, rows)
            lookups.setdefault(compiled.name, {}).update(rows)
        bad: list[QuarantinedRow] = []
        candidates = check.sound_rows(chunk, bad, present, entry)
        ids = [source_id for source_id, _, _, _ in candidates]
        if every_hash is None and whole and len(chunk) >= FULL_CHUNK:  # a whole table: its hashes in one read
            every_hash = store.source_hashes(entity)
        stored = every_hash if every_hash is not None else store.source_hashes(entity, ids)
        if len(set(ids)) == len(ids) and seen.isdisjoint(ids):  # no duplicate: the unchanged rows in one go
            same = list(map(eq, map(stored.get, ids), map(itemgetter(3), candidates)))
            unchanged = list(compress(ids, same))
            seen.update(unchanged)
            entry.stored.unchanged += len(unchanged)
            kept += len(unchanged)
            candidates = list(compress(candidates, map(not_, same)))
        good: list[Record] = []
        hashes: dict[str, str] = {}
        for source_id, line, cells, source_hash in candidates:
            if source_id in seen:
                bad.append(QuarantinedRow(
                    table.source, compiled.name, line, source_id, "source_id",
                    "duplicate id: an earlier row of this file has the same id (the first one was kept)",
                ))
                continue
            if stored.get(source_id) == source_hash:
                seen.add(source_id)
                entry.stored.unchanged += 1
                kept += 1
                continue
            try:
                record = bound.map_row(cells)
            except FieldError as exc:
                readable = _still_present(bound, cells, present)
                # The offending cell helps whoever debugs a mapping; the log's redaction masks it.
                log.debug("row.quarantined", source=table.source, line=line, field=exc.field,
                          value=cells[header.index(exc.column)] if exc.column in header else None)
                bad.append(QuarantinedRow(table.source, compiled.name, line, readable, exc.field, exc.reason))
                continue
            seen.add(record.source_id)
            hashes[record.source_id] = source_hash
            good.append(record)
        entry.stored.add(store.upsert_records(entity, good, run_id, hashes))
        store.quarantine(run_id, bad)
        entry.quarantined += len(bad)
        if progress is not None:
            progress(compiled.name, entry.rows_read, _fraction_read(table))
    _mark_cut(table, entry)
    entry.unmapped = _labels_now(store, compiled.name, hasher, bound.unmapped, carried, entry, run_id, kept)
    if progress is not None:
        progress(compiled.name, entry.rows_read, 1.0)
    seen.update(present)
    return seen  # every id the file holds


class _RowCheck:
    """What is checked of each row before it is mapped: its shape, its cells' size, its id and its hash."""

    def __init__(self, source: str, resource: str, bound: BoundResource, header: list[str],
                 read: list[tuple[str, int]], hasher: SourceHasher) -> None:
        self.source, self.resource, self.bound, self.read, self.hasher = source, resource, bound, read, hasher
        self.width = len(header)

    def sound_rows(
        self, chunk: list[tuple[int, list[str]]], bad: list[QuarantinedRow], present: set[str], entry: ResourceReport
    ) -> list[tuple[str, int, list[str], str]]:
        """(id, line, cells, source hash) of the chunk's rows that can be mapped; the others go to ``bad``
        (or are skipped on purpose, as the mapping says)."""
        quick = self._whole_chunk(chunk)
        if quick is not None:
            entry.rows_read += len(chunk)
            return quick
        return self._row_by_row(chunk, bad, present, entry)

    def _whole_chunk(self, chunk: list[tuple[int, list[str]]]) -> list[tuple[str, int, list[str], str]] | None:
        """The same answer for a chunk with nothing unusual (every row the header's width, no cell too long,
        no row to skip, every id a plain cell), checked with C-level operations over the whole chunk: the
        nightly re-read of a million unchanged rows. None: the chunk needs the row-by-row checks."""
        if self.bound.id_cell is None or self.bound.skips_any(chunk):
            return None
        rows = [cells for _, cells in chunk]
        if set(map(len, rows)) != {self.width}:
            return None
        texts = self.hasher.texts(rows)
        if max(map(len, texts), default=0) > MAX_CELL_CHARS:
            return None
        position, nulls = self.bound.id_cell
        ids = list(map(str.strip, map(itemgetter(position), rows)))
        if "" in ids or not nulls.isdisjoint(ids):
            return None
        lines = [line for line, _ in chunk]
        return list(zip(ids, lines, rows, self.hasher.digests(texts), strict=True))

    def _row_by_row(
        self, chunk: list[tuple[int, list[str]]], bad: list[QuarantinedRow], present: set[str], entry: ResourceReport
    ) -> list[tuple[str, int, list[str], str]]:
        out: list[tuple[str, int, list[str], str]] = []
        for line, cells in chunk:
            entry.rows_read += 1
            problem = _row_shape_problem(cells, self.width)
            if problem is not None:
                bad.append(QuarantinedRow(self.source, self.resource, line, None, None, problem))
                continue
            text = self.hasher.text(cells)
            if len(text) > MAX_CELL_CHARS:  # only then may one read cell be too long
                oversized = _oversized_cell(cells, self.read)
                if oversized is not None:
                    source_id = _still_present(self.bound, cells, present)
                    log.warning("row.quarantined", source=self.source, line=line, column=oversized[0],
                                reason="oversized cell")
                    bad.append(QuarantinedRow(self.source, self.resource, line, source_id, *oversized))
                    continue
            if self.bound.skips(cells):
                entry.skipped += 1
                continue
            try:
                source_id = self.bound.source_id(cells)
            except FieldError as exc:
                bad.append(QuarantinedRow(self.source, self.resource, line, None, exc.field, exc.reason))
                continue
            out.append((source_id, line, cells, self.hasher.digest(text)))
        return out


def _fraction_read(table: Table) -> float | None:
    fraction = getattr(table, "fraction_read", None)
    return fraction() if fraction is not None else None


def _labels_cursor(resource: str) -> str:
    return f"labels:{resource}"


def _carried_labels(store: Store, resource: str, hasher: SourceHasher) -> dict[str, dict[str, int]]:
    """The practice labels the resource's rows held when last read whole by this mapping (rows kept
    unchanged are not mapped again, so their labels are carried from then)."""
    try:
        saved = json.loads(store.get_cursor(_labels_cursor(resource)) or "{}")
    except ValueError:
        return {}
    return saved.get("labels", {}) if saved.get("mapping") == hasher.mapping_id else {}


def _labels_now(store: Store, resource: str, hasher: SourceHasher, met: UnmappedLabels,
                carried: dict[str, dict[str, int]], entry: ResourceReport, run_id: int, kept: int) -> dict[str, dict[str, int]]:
    """Labels no setting places, with the rows that held them: exact when every row was mapped; else the
    larger of the carried count and this run's (a label can linger until the next full mapping)."""
    labels = met.as_dict()
    if kept:
        for setting, counts in carried.items():
            mine = labels.setdefault(setting, {})
            for label, rows in counts.items():
                mine[label] = max(rows, mine.get(label, 0))
        labels = {setting: dict(sorted(counts.items())) for setting, counts in sorted(labels.items())}
    if not entry.incomplete:
        store.set_cursor(_labels_cursor(resource), json.dumps({"mapping": hasher.mapping_id, "labels": labels}), run_id)
    return labels


# Patients a listing hides once deleted (Open Dental: /patients/Simple) are re-checked one by one when
# open tasks of these rules are about them: a deleted first contact must not stay on the referral list.
RECHECK_RULES = ("REF",)


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
    needs: Horizons | None = None,
) -> SyncReport:
    """Sync every resource of ``mapping`` into ``store``. ``needs``: how far the practice's rules look ahead
    and back (default: every rule at its defaults), which bounds the per-patient reads and the re-listed window."""
    needs = needs or horizons()
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
    patients = PatientFanout(store, today, needs, mapping, run_id)
    for name in mapping.resources:
        compiled = CompiledResource(mapping, name, tz)
        feeds = [e for e in _fed_by(mapping, name) if e != compiled.spec.entity] if name in mapping.lookups else []
        entry = ResourceReport(resource=name, entity=compiled.spec.entity, feeds=feeds)
        report.resources.append(entry)
        checkpoint()  # a safe point: a signal stops the run between resources
        old_cursor = store.get_cursor(name)
        try:
            table = _open(connector, mapping, name, mapping.resource_files(name), old_cursor, patients=patients)
            if table is None:
                log.info("resource.absent", resource=name)
                if not isinstance(connector, FileConnector):
                    report.resources.remove(entry)  # not on this read route: nothing missing
                continue
            entry.source = table.source
            present = _load_resource(table, compiled, lookups, store, run_id, entry, progress,
                                     whole=full_exports or getattr(table, "complete", False))
        except ApiVersionTooOld as exc:  # this office cannot serve it: said once, not a partial run
            entry.unavailable = str(exc)
            log.warning("resource.unavailable", resource=name, source=entry.source)
            continue
        except ItemSkipped as exc:  # one table or request: the rest of the run goes on
            entry.error = str(exc)
            log.warning("resource.failed", resource=name, source=entry.source, rows_read=entry.rows_read)
            continue  # removes nothing: a failed read is no evidence of deletions
        store.set_cursor(name, table.fingerprint(), run_id)
        try:
            check_deletions(connector, mapping, name, table, present, store, old_cursor, today, full_exports,
                            max_removal_fraction, entry, needs.window_days)
            _recheck(connector, mapping.resource_files(name), compiled, lookups, store, run_id, entry)
        except ItemSkipped as exc:  # one table or request: the rest of the run goes on
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
