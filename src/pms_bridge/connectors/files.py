"""Reads a folder of exported tables: finds each table's file, detects its
encoding and delimiter, and yields its rows in batches with line numbers."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pms_bridge.connectors.spec import ConnectorSpec
from pms_bridge.errors import ItemSkipped, SourceUnreachable

Chunk = list[tuple[int, list[str]]]  # (line number, cells)


class SourceUnavailable(SourceUnreachable):
    """The source cannot be reached at all (exit code 3)."""


class SourceFileError(ItemSkipped):
    """A file cannot be read (bad encoding, broken quoting); the rest of the run goes on."""


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, candidates: list[str]) -> str:
    """The first candidate that decodes the whole file (a fast pass in C)."""
    with path.open("rb") as fh:
        start = fh.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in candidates:
        if _decodes(path, encoding):
            return encoding
    return "latin-1"  # decodes anything; the mapping then reports bad values


def detect_delimiter(header_line: str, candidates: list[str]) -> str:
    counts = {d: header_line.count(d) for d in candidates}
    best = max(candidates, key=lambda d: counts[d])  # ties: the first listed wins
    return best if counts[best] > 0 else candidates[0]


@dataclass
class SourceTable:
    """One exported table in a file."""

    path: Path
    encoding: str
    delimiter: str
    batch_rows: int

    @property
    def source(self) -> str:
        return self.path.name

    def fingerprint(self) -> str:
        stat = self.path.stat()
        return json.dumps({"file": self.path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})

    def header(self) -> list[str]:
        with self._open() as fh:
            row = next(csv.reader(fh, delimiter=self.delimiter), None)
        if not row:
            raise SourceFileError(f"{self.source}: the file is empty (no header row)")
        return [cell.strip() for cell in row]

    def chunks(self) -> Iterator[Chunk]:
        """Data rows (after the header) in batches, skipping blank lines."""
        with self._open() as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            try:
                next(reader, None)
                chunk: Chunk = []
                for row in reader:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    chunk.append((reader.line_num, row))
                    if len(chunk) >= self.batch_rows:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
            except (csv.Error, UnicodeDecodeError) as exc:
                raise SourceFileError(f"{self.source}: unreadable near line {reader.line_num}: {type(exc).__name__}") from None

    def _open(self):  # noqa: ANN202 - a text file handle
        return self.path.open("r", encoding=self.encoding, newline="", errors="strict")


class FileConnector:
    """A folder of exported tables (one file per table)."""

    def __init__(self, spec: ConnectorSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder
        if not folder.is_dir():
            raise SourceUnavailable(f"export folder {folder} not found; check [source] path in the config")
        self._files = {p.name.casefold(): p for p in folder.iterdir() if p.is_file()}

    def find(self, names: list[str]) -> Path | None:
        for name in names:
            for ext in self.spec.extensions:
                hit = self._files.get(f"{name}{ext}".casefold())
                if hit is not None:
                    return hit
        return None

    def open(self, names: list[str], cursor: str | None = None, patients: object = None) -> SourceTable | None:
        """The table exported under one of ``names``, or None when there is no such file.

        Exports are read whole: ``cursor`` and ``patients`` (for API connectors) do not apply.
        """
        path = self.find(names)
        if path is None:
            return None
        encoding = detect_encoding(path, self.spec.encodings)
        with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
            first_line = fh.readline().lstrip("\ufeff")
        delimiter = detect_delimiter(first_line, self.spec.delimiters)
        return SourceTable(path, encoding, delimiter, self.spec.batch_rows)
