"""Rows the PMS deleted leave the snapshot, on the evidence each route has.

A full export or full list (stored rows it lacks), per-patient lists (a fetched patient's stored
rows the answer lacks), a deletion list, ids reconciled with the table (query and database routes), the upcoming
window re-listed. A read that failed is never evidence, nor is a table with quarantined rows or a file
cut short (a row that could not be read looks absent), and a removal so large it looks like a cut
export is refused: the run warns and is partial.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import structlog

from pms_bridge.connectors import SourceFileError
from pms_bridge.connectors.api_client import ApiConfigError
from pms_bridge.connectors.rest import read_cursor
from pms_bridge.mapping import MappingFile
from pms_bridge.mapping.spec import FieldSpec
from pms_bridge.pipeline.report import ResourceReport
from pms_bridge.store import IdSet, Store

if TYPE_CHECKING:
    from pms_bridge.pipeline.sync import Connector, Table

log = structlog.get_logger("pms_bridge.sync")

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

    @property
    def sole(self) -> bool:
        """Whether this resource is the entity's only source (every stored id of the entity is its own)."""
        return self._prefixes == [""]

    def of(self, source_ids: Iterable[str]) -> set[str]:
        if self.sole:  # the entity's only source: every id is this resource's
            return set(source_ids)
        if self.mine == {""}:  # the unprefixed ids (documents beside "mount-" ones): a C-level test each
            others = tuple(p for p in self._prefixes if p)
            return {i for i in source_ids if not i.startswith(others)}
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


def _remove_unless_suspicious(
    store: Store, ids: _Ids, gone: set[str], stored: int, max_fraction: float, entry: ResourceReport, evidence: str,
    why: str,
) -> None:
    """Remove ``gone``, unless it is a large share of the ``stored`` rows: more likely a cut-short or wrong
    answer than a mass deletion, so nothing is removed and the run warns with ``why``."""
    if len(gone) > MIN_SUSPICIOUS_REMOVAL and len(gone) > max_fraction * stored:
        entry.note(why)
        entry.incomplete = f"lacks {len(gone):,} of {stored:,} stored rows ({evidence})"
        log.warning("resource.removal_refused", resource=entry.resource, missing=len(gone), stored=stored)
        return
    _remove(store, ids, gone, entry, evidence)


def _remove_deleted(
    store: Store, ids: _Ids, source: str, present: IdSet, max_fraction: float, entry: ResourceReport
) -> None:
    """A full export (or a full list) is the whole table: stored rows it no longer has were deleted in the PMS.

    A file that would remove a large share of the table is more likely cut short
    (a failed export job) than a mass deletion, so nothing is removed then. When
    several tables feed one entity (sheets and eForms are forms, documents and
    mounts are documents), a file speaks only for the ids of its own table.
    """
    entity = ids.entity
    if ids.sole and not entry.quarantined and store.count(entity) == len(present):
        return  # every row read is stored and as many are stored as were read: none is gone (no id list needed)
    stored = 0
    gone: set[str] = set()
    for batch in store.each_stored_id(entity):  # the stored ids stream by: a long history is never held at once
        mine = batch if ids.sole else sorted(ids.of(batch))
        stored += len(mine)
        gone.update(present.missing(mine))
    if not gone:
        return
    if _doubtful(entry, gone, source):
        return
    _remove_unless_suspicious(store, ids, gone, stored, max_fraction, entry, "full list", (
        f"{source} lacks {len(gone):,} of the {stored:,} stored {entity} rows; kept them, since the file "
        "looks truncated. If they really were deleted, raise [source] max_removal_fraction for one run; "
        "if your exports hold only changed rows, set [source] export_mode = \"changes\"."
    ))


def _remove_missing_for_patients(
    store: Store, ids: _Ids, patients: list[str], present: IdSet, entry: ResourceReport
) -> None:
    """Each fetched patient's answer was that patient's whole list: their stored rows it lacks are gone."""
    stored = ids.of(store.ids_of_patients(ids.entity, patients))
    gone = set(present.missing(sorted(stored)))
    if gone and not _doubtful(entry, gone, entry.source or entry.resource):
        _remove(store, ids, gone, entry, "per-patient lists")


def _doubtful(entry: ResourceReport, gone: set[str], source: str) -> bool:
    """Rows the read lacks are no evidence of a deletion when some of its rows were quarantined (their ids may
    be among them) or the file was cut short: then nothing is removed, and the run says how many were kept."""
    if not entry.quarantined and not entry.incomplete:
        return False
    why = "it has quarantined rows" if entry.quarantined else "it looks cut short"
    rows = "row" if len(gone) == 1 else "rows"
    entry.note(f"Kept the {len(gone):,} stored {entry.entity} {rows} {source} lacks, since {why}: a row that could "
               "not be read is no evidence of a deletion.")
    log.warning("resource.removal_held", resource=entry.resource, missing=len(gone), quarantined=entry.quarantined)
    return True


def _reconcile(
    connector: Connector, names: list[str], store: Store, ids: _Ids, max_fraction: float, entry: ResourceReport
) -> None:
    """Query and database routes: stored ids the table no longer holds (deleted, or soft-deleted) leave the snapshot."""
    reconciles = getattr(connector, "reconciles", None)
    if reconciles is None or not reconciles(names):
        return
    if ids.prefix is None:
        log.warning("resource.reconcile_skipped", resource=entry.resource, reason="ids of several kinds")
        return
    numbers, odd = _stored_numbers(store, ids)
    found = connector.reconcile(names, numbers) or set()  # type: ignore[attr-defined]
    prefix = ids.prefix or ""
    gone = {odd.get(n, f"{prefix}{n}") for n in found if n in odd or _holds(numbers, n)}
    stored = len(numbers)
    _remove_unless_suspicious(store, ids, gone, stored, max_fraction, entry, "reconciled ids", (
        f"the PMS's {entry.resource} table lacks {len(gone):,} of the {stored:,} stored rows; kept them, "
        "since so many deletions at once look like a wrong answer. If they really were deleted, raise "
        "[source] max_removal_fraction for one run."
    ))


def _stored_numbers(store: Store, ids: _Ids) -> tuple[array[int], dict[int, str]]:
    """The PMS's keys of the resource's stored rows, sorted, 8 bytes each (stored ids stream by: a long history
    is never held as text), and the stored id of each key whose id is not simply prefix + key ("007")."""
    numbers = array("q")
    odd: dict[int, str] = {}
    prefix = ids.prefix or ""
    for batch in store.each_stored_id(ids.entity):
        for sid in batch if ids.sole else ids.of(batch):
            number = ids.number(sid)
            if number is None:
                continue
            numbers.append(number)
            if sid != f"{prefix}{number}":
                odd[number] = sid
    return array("q", sorted(numbers)), odd


def _holds(numbers: array[int], number: int) -> bool:
    at = bisect_left(numbers, number)
    return at < len(numbers) and numbers[at] == number


def _remove_listed_deletions(
    connector: Connector, names: list[str], store: Store, ids: _Ids, old_cursor: str | None, today: date,
    entry: ResourceReport,
) -> bool:
    """Rows the PMS lists as deleted since the last run (Open Dental: histappointment, action Deleted).

    True when the PMS answered the list (then it names every row deleted since the last run).
    """
    deleted_ids = getattr(connector, "deleted_ids", None)
    stamp = read_cursor(old_cursor)
    if deleted_ids is None or not stamp:
        return False  # a first run has nothing stale to remove
    try:
        since = date.fromisoformat(stamp[:10])
    except ValueError:
        return False
    try:
        listed = deleted_ids(names, since - timedelta(days=1), max(today, since) + timedelta(days=1))
    except ApiConfigError as exc:  # an office too old for the list may not know the path at all
        raise SourceFileError(str(exc)) from None
    if listed is None:
        return False
    _remove(store, ids, store.stored_among(ids.entity, ids.of(listed)), entry, "deletion list")
    return True


def _remove_deleted_in_window(
    connector: Connector, store: Store, today: date, window_days: int, entry: ResourceReport
) -> None:
    """Appointments deleted in the PMS vanish from the API: re-list the upcoming window and drop the missing."""
    window_ids = getattr(connector, "window_ids", None)
    if window_ids is None:
        return
    end = today + timedelta(days=window_days)
    listed = window_ids(today, end)
    if listed is None:
        return
    stored = store.scheduled_appointment_ids(today, end)
    gone = stored - listed
    if gone:
        entry.removed += store.remove("appointment", gone)
        log.info("appointments.removed", count=len(gone))


def check_deletions(
    connector: Connector,
    mapping: MappingFile,
    name: str,
    table: Table,
    present: IdSet,
    store: Store,
    old_cursor: str | None,
    today: date,
    full_exports: bool,
    max_removal_fraction: float,
    entry: ResourceReport,
    window_days: int,
) -> None:
    """Rows the PMS deleted leave the snapshot, on the evidence each route has (never a failed read's).

    ``window_days``: how far ahead the rules look (the upcoming window re-listed for deleted appointments
    when the PMS has no deletion list or this is the resource's first read).
    """
    ids = _Ids(mapping, name)
    names = mapping.resource_files(name)
    if full_exports or getattr(table, "complete", False):
        _remove_deleted(store, ids, table.source, present, max_removal_fraction, entry)
    patients = getattr(table, "patients", None)
    if patients:
        _remove_missing_for_patients(store, ids, patients, present, entry)
    _reconcile(connector, names, store, ids, max_removal_fraction, entry)
    listed = _remove_listed_deletions(connector, names, store, ids, old_cursor, today, entry)
    if ids.entity == "appointment" and not listed:  # the deletion list, when the PMS has one, costs one page
        _remove_deleted_in_window(connector, store, today, window_days, entry)
