"""Reads a folder of exported tables: finds each table's file, detects its
encoding and delimiter, and yields its rows in batches with line numbers.

A file that cannot be read (no permission, a folder or a broken link named like an export) fails
that one table with a message naming it; a file that ends in the middle of a row is read, and
says so (``SourceTable.cut``), so its rows are not taken as the whole table."""

from __future__ import annotations

import codecs
import csv
import errno
import io
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pms_bridge.connectors.spec import ConnectorSpec
from pms_bridge.errors import ConfigurationProblem, ItemSkipped, SourceUnreachable

Chunk = list[tuple[int, list[str]]]  # (line number, cells)

# csv's own limit (128 KiB a cell) fails the whole file on one long cell; read such cells, and let the
# sync quarantine the one row (its limit is far lower). A cell past this one still fails the file.
MAX_FIELD_CHARS = 256 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))


# Encodings in which a line break is the byte it is in ASCII: the last line can be read from the file's end.
_SEEKABLE_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "cp1252", "ascii", "latin-1"})
_TAIL_BYTES = 64 * 1024

# fraction_read's highest answer while the file is read (see there).
MOST_READ = 0.99


class SourceUnavailable(SourceUnreachable):
    """The source cannot be reached at all (exit code 3)."""


class SourcePathError(ConfigurationProblem):
    """``[source] path`` cannot name a folder at all (too long, an invalid name): exit code 2."""


class SourceFileError(ItemSkipped):
    """A file cannot be read (bad encoding, broken quoting); the rest of the run goes on."""


def _unreadable(name: str, exc: OSError) -> SourceFileError:
    why = exc.strerror or type(exc).__name__
    return SourceFileError(
        f"{name}: cannot be read ({why}); check that the account running pms-bridge may read it, then run again"
    )


def _not_a_file(path: Path) -> str | None:
    """Why ``path``, named like an export, is no file to read (None: it is a regular file)."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link that loops back on itself"
        if path.is_symlink():
            return f"is a link to {os.readlink(path)}, which does not exist"
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if path.is_dir():
        return "is a folder, not an export file"
    if not path.is_file():
        return "is not a regular file (a pipe or a device?)"
    return None


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

    # Set once chunks() has read the whole file: why its last row is cut short (None: the file is whole).
    cut: str | None = None
    # While chunks() reads: the bytes under the text layer and the file's size (for fraction_read).
    _reading: io.BufferedIOBase | None = field(default=None, init=False, repr=False)
    _size: int = field(default=0, init=False, repr=False)

    def fingerprint(self) -> str:
        try:
            stat = self.path.stat()
        except OSError:  # gone since it was read: the next run reads it again
            return json.dumps({"file": self.path.name})
        return json.dumps({"file": self.path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})

    def header(self) -> list[str]:
        try:
            with self._open() as fh:
                row = next(csv.reader(fh, delimiter=self.delimiter), None)
        except OSError as exc:
            raise _unreadable(self.source, exc) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceFileError(f"{self.source}: the header row is unreadable ({type(exc).__name__})") from None
        if not row:
            raise SourceFileError(f"{self.source}: the file is empty (no header row)")
        return [cell.strip() for cell in row]

    def chunks(self) -> Iterator[Chunk]:
        """Data rows (after the header) in batches, skipping blank lines. Once read to the end, ``cut``
        says whether the file ends in the middle of a row."""
        self.cut = None
        try:
            with self._open() as fh:
                self._reading, self._size = fh.buffer, os.fstat(fh.fileno()).st_size
                yield from self._chunks(fh)
        except OSError as exc:
            raise _unreadable(self.source, exc) from None

    def fraction_read(self) -> float | None:
        """How much of the file chunks() has read so far (bytes read / file size), for progress; None before
        chunks() opens it, after it closes, and for an empty file. Cheap: one tell() of the buffered file.

        Below 1.0 while chunks() runs: the bytes read run ahead of the rows yielded (by a buffer or two,
        16 KiB), and 1.0 is the sync's word that the table has ended."""
        reading = self._reading
        if reading is None or self._size <= 0:
            return None
        try:
            position = reading.tell()
        except (OSError, ValueError):  # closed: the caller knows whether the table ended
            return None
        return min(MOST_READ, position / self._size)  # also a file that grew while read

    def _chunks(self, fh: Iterable[str]) -> Iterator[Chunk]:
        reader = csv.reader(fh, delimiter=self.delimiter)  # straight on the file: csv counts its lines
        width = 0
        try:
            width = len(next(reader, None) or [])
            before = reader.line_num  # the physical line before the next row
            chunk: Chunk = []
            append, batch = chunk.append, self.batch_rows
            first = end = 0  # the physical lines of the last row kept
            last: list[str] | None = None
            for row in reader:  # a million rows: the loop does as little as it can
                line = reader.line_num
                if row and (len(row) > 1 or row[0].strip()):  # blank lines are no rows
                    append((line, row))
                    first, end, last = before + 1, line, row
                    if len(chunk) >= batch:
                        yield chunk
                        chunk = []
                        append = chunk.append
                before = line
            if last is not None and end == reader.line_num:  # the last row ends the file
                ends_with_newline, text = self._last_lines(first, end)
                self.cut = _cut_row((first, end, last), width, ends_with_newline, text, self.delimiter)
            if chunk:
                yield chunk
        except (csv.Error, UnicodeDecodeError) as exc:
            if isinstance(exc, csv.Error) and "field larger than field limit" in str(exc):
                raise SourceFileError(
                    f"{self.source}: a cell near line {reader.line_num} holds over {MAX_FIELD_CHARS:,} characters "
                    "(a quote that never closes?); fix or export the table again"
                ) from None
            raise SourceFileError(f"{self.source}: unreadable near line {reader.line_num}: {type(exc).__name__}") from None

    def _last_lines(self, first: int, last: int) -> tuple[bool, str]:
        """(whether the file ends with a line break, the text of its physical lines ``first``..``last``): the
        file's last row, read again for the cut check. A one-line row is read from the file's end; a row of
        several lines (a quoted cell with line breaks) by reading the file once more, line by line."""
        with self._open() as fh:
            if first == last and self.encoding in _SEEKABLE_ENCODINGS:
                raw = fh.buffer
                raw.seek(max(0, self._size - _TAIL_BYTES))
                text = raw.read().decode(self.encoding, errors="replace")
                body = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\n", "\r")) else text
                cut_at = max(body.rfind("\n"), body.rfind("\r"))  # the line break before the last line
                if cut_at >= 0 or self._size <= _TAIL_BYTES:
                    line = text[cut_at + 1:]
                    return line.endswith(("\n", "\r")), line
                fh.seek(0)  # a last line longer than the tail read: the slow way
            lines = list(itertools.islice(fh, first - 1, last))
        text = "".join(lines)
        return text.endswith(("\n", "\r")), text

    def _open(self):  # a text file handle
        return self.path.open("r", encoding=self.encoding, newline="", errors="strict")


def _cut_row(last: tuple[int, int, list[str]], width: int, ends_with_newline: bool, text: str,
             delimiter: str) -> str | None:
    """Why the file's last row is cut short: a quote that never closes, or a short row with no line break
    after it (a whole row without a final line break is fine)."""
    first, line, cells = last
    if _quote_never_closes(text, delimiter):
        return f"a quoted cell opened on line {first} never closes"
    if not ends_with_newline and len(cells) < width:
        return f"the last row (line {line}) has {len(cells)} of {width} cells and no line break after it"
    return None


def _quote_never_closes(text: str, delimiter: str) -> bool:
    try:
        list(csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class FileConnector:
    """A folder of exported tables (one file per table)."""

    def __init__(self, spec: ConnectorSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder
        try:
            is_dir = folder.is_dir()
        except (OSError, ValueError) as exc:  # ENAMETOOLONG, a NUL: no folder can have that name
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a valid file name"
            shown = f" {folder}" if len(str(folder)) <= 200 else f" of {len(str(folder)):,} characters"
            raise SourcePathError(
                f"[source] path{shown} cannot name a folder ({why}); set it to the folder that holds the exports"
            ) from None
        if not is_dir:
            raise SourceUnavailable(f"export folder {folder} not found; check [source] path in the config")
        try:
            entries = list(folder.iterdir())
        except OSError as exc:
            raise SourceUnavailable(
                f"export folder {folder} cannot be read ({exc.strerror or type(exc).__name__}); check that the "
                "account running pms-bridge may read it"
            ) from None
        # Regular files first: a folder or a broken link named like an export is named, never read or skipped.
        entries.sort(key=lambda p: not p.is_file())
        self._files: dict[str, Path] = {}
        for p in entries:
            self._files.setdefault(p.name.casefold(), p)

    def find(self, names: list[str]) -> Path | None:
        """The file for one of ``names``: a regular file if there is one, else whatever is named so."""
        hits = [
            hit for name in names for ext in self.spec.extensions
            if (hit := self._files.get(f"{name}{ext}".casefold())) is not None
        ]
        return next((p for p in hits if p.is_file()), hits[0] if hits else None)

    def open(self, names: list[str], cursor: str | None = None, patients: object = None) -> SourceTable | None:
        """The table exported under one of ``names``, or None when there is no such file.

        Exports are read whole: ``cursor`` and ``patients`` (for API connectors) do not apply.
        """
        path = self.find(names)
        if path is None:
            return None
        problem = _not_a_file(path)
        if problem is not None:
            raise SourceFileError(f"{path.name} in the export folder {problem}; replace it with the exported table")
        try:
            encoding = detect_encoding(path, self.spec.encodings)
            with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
                first_line = fh.readline().lstrip("\ufeff")
        except OSError as exc:
            raise _unreadable(path.name, exc) from None
        delimiter = detect_delimiter(first_line, self.spec.delimiters)
        return SourceTable(path, encoding, delimiter, self.spec.batch_rows)
