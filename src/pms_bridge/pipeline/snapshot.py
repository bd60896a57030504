"""Load the rules' snapshot from the store: the one place the check stage reads stored records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pms_bridge.model import ENTITIES, Record
from pms_bridge.rules import Snapshot
from pms_bridge.store import Store


def load_snapshot(store: Store, clinics: Iterable[str | int] | None = None) -> Snapshot:
    """Every stored record of the store's practice, indexed for the rules.

    ``clinics``: the practice's selected clinics (see rules.clinics); the PMS's clinic table is
    read from the store's reference rows only then.
    """

    def records() -> Iterator[Record]:
        for entity in ENTITIES:
            yield from store.records(entity)

    clinic_rows = store.load_references(["clinic"]).get("clinic", {}) if clinics is not None else None
    return Snapshot.build(records(), store.practice.tz, clinics, clinic_rows)
