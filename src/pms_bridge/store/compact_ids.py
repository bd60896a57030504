"""Ids and stored hashes of a whole table, kept small however long the practice's history is.

A sync keeps every id a file holds while it loads the file (to find duplicate rows and, after it, the
stored rows the file lacks), and compares each row's source hash with the one stored. PMS keys are mostly
dense integers (Open Dental's PatNum, AptNum, ProcNum): an id set keeps those as bits of a bitmap, one bit per
possible key (a million ids: about 125 KB instead of the ~100 MB a Python set of their strings takes), and
the stored hashes as 8-byte numbers in an array indexed by key (8 MB instead of ~250 MB as a dict). Any
other id (a prefixed "mount-12", a key with leading zeros, letters, a huge number) goes to an ordinary set
or dict beside them.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator

# Keys up to this many go to the bitmap (at most 8 MB of bits); a larger one is kept as text.
MAX_BIT = 64_000_000
# The bitmap and the hash array grow to a key at most this far beyond twice their slots.
_STEP = 1_000_000
_HEX16 = re.compile(r"[0-9a-f]{16}")
_SET_BYTE = re.compile(rb"[^\x00]")


def _as_numbers(ids: list[str]) -> list[int] | None:
    """The ids as numbers, when every one is a plain decimal key (no sign, no leading zero) in the bitmap's
    range; None otherwise (then the ids are taken one by one)."""
    joined = "".join(ids)
    if not (joined.isascii() and joined.isdigit()) or "" in ids:
        return None
    numbers = list(map(int, ids))
    if list(map(str, numbers)) != ids or (numbers and max(numbers) >= MAX_BIT):
        return None  # a leading zero ("007" is not 7) or a key too large for the bitmap
    return numbers


def _near(number: int, slots: int) -> bool:
    """Whether a key is near enough the ``slots`` a compact structure has to grow to it (a stray huge id would
    cost a large run of empty slots)."""
    return number <= 2 * slots + _STEP


def _plain_number(source_id: str) -> int | None:
    if source_id.isascii() and source_id.isdigit() and (source_id == "0" or source_id[0] != "0"):
        number = int(source_id)
        return number if number < MAX_BIT else None
    return None


class IdSet:
    """Source ids (text), stored compactly; supports what a sync asks of its ids."""

    __slots__ = ("_bits", "_count", "_other")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._bits = bytearray()
        self._count = 0  # ids held in the bitmap
        self._other: set[str] = set()
        self.update(ids)

    def __len__(self) -> int:
        return self._count + len(self._other)

    def __contains__(self, source_id: object) -> bool:
        if not isinstance(source_id, str):
            return False
        number = _plain_number(source_id)
        if number is None:
            return source_id in self._other
        byte = number >> 3
        return (byte < len(self._bits) and bool(self._bits[byte] >> (number & 7) & 1)) or source_id in self._other

    def __iter__(self) -> Iterator[str]:
        for found in _SET_BYTE.finditer(self._bits):  # skips runs of empty bytes at C speed
            byte, value = found.start(), found.group()[0]
            yield from (str((byte << 3) + bit) for bit in range(8) if value >> bit & 1)
        yield from self._other

    def add(self, source_id: str) -> None:
        number = _plain_number(source_id)
        if number is None or not _near(number, len(self._bits) * 8):
            self._other.add(source_id)
        else:
            self._set([number])

    def update(self, ids: Iterable[str]) -> None:
        ids = ids if isinstance(ids, list) else list(ids)
        numbers = _as_numbers(ids)
        if numbers is not None and (not numbers or _near(max(numbers), len(self._bits) * 8)):
            self._set(numbers)
            return
        for source_id in ids:
            self.add(source_id)

    def isdisjoint(self, ids: Iterable[str]) -> bool:
        ids = ids if isinstance(ids, list) else list(ids)
        numbers = _as_numbers(ids)
        if numbers is None:
            return not any(map(self.__contains__, ids))
        bits, size = self._bits, len(self._bits)
        if any((n >> 3) < size and bits[n >> 3] >> (n & 7) & 1 for n in numbers):
            return False
        return self._other.isdisjoint(ids)

    def missing(self, ids: list[str]) -> list[str]:
        """Those of ``ids`` the set does not hold, in their order."""
        numbers = _as_numbers(ids)
        if numbers is None:
            return [i for i in ids if i not in self]
        bits, size, other = self._bits, len(self._bits), self._other
        return [i for i, n in zip(ids, numbers, strict=True)
                if not ((n >> 3) < size and bits[n >> 3] >> (n & 7) & 1) and i not in other]

    def _set(self, numbers: list[int]) -> None:
        if not numbers:
            return
        needed = (max(numbers) >> 3) + 1
        bits = self._bits
        if needed > len(bits):
            bits.extend(bytes(max(needed - len(bits), len(bits) // 2)))  # grow geometrically
        added = 0
        for n in numbers:
            byte, mask = n >> 3, 1 << (n & 7)
            if not bits[byte] & mask:
                bits[byte] |= mask
                added += 1
        self._count += added


class StoredHashes:
    """Source id -> the source hash stored with its record (16 hex digits), for one entity's rows."""

    __slots__ = ("_has", "_other", "_values")

    def __init__(self, rows: Iterable[tuple[str, str | None]] = ()) -> None:
        self._has = IdSet()  # ids whose hash is in the array
        self._values = array("Q")
        self._other: dict[str, str] = {}
        for source_id, source_hash in rows:
            self._put(source_id, source_hash)

    def _put(self, source_id: str, source_hash: str | None) -> None:
        if not source_hash:
            return  # stored before hashes were kept: never equal to a row's hash
        number = _plain_number(source_id)
        values = self._values
        # A key far beyond the ones so far (a stray huge id) would cost a large array of zeros: kept aside.
        if number is None or not _near(number, len(values)) or not _HEX16.fullmatch(source_hash):
            self._other[source_id] = source_hash
            return
        if number >= len(values):
            values.frombytes(bytes(8 * max(number + 1 - len(values), len(values) // 2)))  # zeros, grown geometrically
        values[number] = int(source_hash, 16)
        self._has.add(source_id)

    def __len__(self) -> int:
        return len(self._has) + len(self._other)

    def get(self, source_id: str) -> str | None:
        if source_id in self._has:
            return f"{self._values[int(source_id)]:016x}"
        return self._other.get(source_id)

    def many(self, ids: list[str]) -> list[str | None]:
        """The stored hash of each id (None: not stored, or stored without a hash)."""
        return list(map(self.get, ids))


__all__ = ["IdSet", "StoredHashes"]
