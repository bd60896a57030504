"""Recognise a source row that is unchanged since it was last mapped, without mapping it again.

A row's *source hash* covers the cells the mapping reads and everything else its record depends on:
the mapping file, the practice's timezone, the reference rows it looks ids up in, and the code that maps
and validates it. Stored beside the record, it lets the next night skip rows whose hash is the same (most
of them) before mapping, validating or writing anything. Any change to one of those inputs gives every
row a new hash, so the rows are mapped again: a hash can never stand for a record the current mapping
would make differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import cache, partial
from importlib import resources
from operator import itemgetter, methodcaller

from pms_bridge.mapping.compile import LookupTables
from pms_bridge.mapping.spec import FieldSpec, MappingFile

_SEP = "\x1f"  # the ASCII unit separator: no value a PMS keeps holds it; an export cell that does is hashed as is


@cache
def _engine_code() -> bytes:
    """The mapping and model code: a new pms-bridge that maps or validates differently remaps every row."""
    digest = hashlib.blake2b(digest_size=16)
    for package in ("pms_bridge.mapping", "pms_bridge.model"):
        for item in sorted(resources.files(package).iterdir(), key=lambda i: i.name):
            if item.name.endswith(".py"):
                digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return digest.digest()


def tables_looked_up(specs: Iterable[FieldSpec]) -> set[str]:
    """The reference tables these field specs look ids up in (their inputs' too)."""
    tables: set[str] = set()
    for spec in specs:
        tables.update(hop.split(".")[0] for hop in spec.lookup)
        tables |= tables_looked_up(spec.inputs.values())
    return tables


def _lookup_digest(rows: dict[str, dict[str, str]]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for key in sorted(rows):
        digest.update(repr((key, sorted(rows[key].items()))).encode())
    return digest.digest()


class SourceHasher:
    """Hashes one resource's rows, as read from one file (its header fixes where the read cells are)."""

    def __init__(
        self,
        mapping: MappingFile,
        resource: str,
        timezone: str,
        read: Sequence[tuple[str, int]],
        lookups: LookupTables,
    ) -> None:
        """``read``: (column, position) of every column the mapping reads that the file has."""
        spec = mapping.resources[resource]
        seed = hashlib.blake2b(digest_size=16)
        seed.update(_engine_code())
        seed.update(mapping.model_dump_json(by_alias=True).encode())
        self.mapping_id = seed.hexdigest()  # the code and the mapping file, nothing of the data
        seed.update(f"{resource}\0{timezone}\0{_SEP.join(column for column, _ in read)}".encode())
        for table in sorted(tables_looked_up(spec.field_specs().values())):
            seed.update(table.encode() + b"\0" + _lookup_digest(lookups.get(table, {})))
        self._seed = seed.digest()  # prefixed to each row's text (a keyed hash costs twice as much per row)
        positions = [position for _, position in read]
        self._cells = itemgetter(*positions) if len(positions) > 1 else None
        self._only = positions[0] if len(positions) == 1 else None

    def text(self, row: Sequence[str]) -> str:
        """The cells the mapping reads, joined. The row must have every read position (its shape was checked)."""
        if self._cells is not None:
            return _SEP.join(self._cells(row))
        return row[self._only] if self._only is not None else ""

    def texts(self, rows: Iterable[Sequence[str]]) -> list[str]:
        """:meth:`text` of many rows, in C (a million rows a night)."""
        if self._cells is not None:
            return list(map(_SEP.join, map(self._cells, rows)))
        return [self.text(row) for row in rows]

    def digest(self, text: str) -> str:
        """The source hash (16 hex digits) of a row's :meth:`text`."""
        return self.digests([text])[0]

    def digests(self, texts: Iterable[str]) -> list[str]:
        """:meth:`digest` of many texts, in C."""
        encoded = map(self._seed.__add__, map(_ENCODE, texts))
        return list(map(_HEX, map(_HASH, encoded)))


_ENCODE = methodcaller("encode", "utf-8", "surrogatepass")  # a lone surrogate from a JSON answer hashes too
_HASH = partial(hashlib.blake2b, digest_size=8)
_HEX = methodcaller("hexdigest")
