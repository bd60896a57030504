"""Generated bad inputs: mutated table exports, mutated config files and mutated API answers.

Every generator takes a seeded ``random.Random`` and returns the mutated input with a short
description (mutation names, column names and ids only: never cell values). The test decides what
"intact" means for each; for exports the generator also says which stored rows may legitimately
leave the snapshot (``recognizable_ids``: a row whose id still stands in its column of the mutated
file must stay).
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import random
from dataclasses import dataclass, field
from typing import Any

GARBAGE = [
    "0000-00-00", "9999-12-31", "2026-02-30", "2026-13-45 25:61:00", "yesterday", "-1", "1e309", "NaN",
    "٣", "\u200b", "ｘ", "'; DROP TABLE patient; --", "\\", "\"", "NULL", "None", "true", "0x1F", " 12 ",
    "18446744073709551616", "-0", "01/02/2026", "2026-03-02T08:00:00+25:00", "\ufffd", "🦷", "<b>",
]
HUGE = 200_000  # above the csv module's default field limit (131,072)


def garbage_cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.08:
        return "x" * rng.choice([1_000, HUGE])
    if roll < 0.14:
        return "a\x00b"
    if roll < 0.2:
        return "line\nbreak"
    return rng.choice(GARBAGE)


# --------------------------------------------------------------------------- table exports

@dataclass
class Export:
    """One table's export, parsed from the pristine file."""

    name: str  # file stem, e.g. "patient"
    header: list[str]
    rows: list[list[str]]
    key: str  # the primary-key column
    protected: set[str] = field(default_factory=set)  # columns a cell mutation leaves alone (the mapping's skip)

    @property
    def ids(self) -> set[str]:
        i = self.header.index(self.key)
        return {r[i].strip() for r in self.rows if len(r) > i}


@dataclass
class MutatedFile:
    data: bytes
    what: str
    encoding: str = "utf-8"
    delimiter: str = ","


def _write(header: list[str], rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cells(export: Export, rng: random.Random) -> tuple[int, int]:
    """A random data cell outside the protected columns: (row index, column index)."""
    columns = [i for i, c in enumerate(export.header) if c not in export.protected]
    return rng.randrange(len(export.rows)), rng.choice(columns)


def mutate_export(export: Export, rng: random.Random) -> MutatedFile:
    """One mutation of one export (plus, now and then, a second one on top)."""
    header, rows = list(export.header), [list(r) for r in export.rows]
    kind = rng.choice(MUTATIONS)
    return kind(export, header, rows, rng)


def _cut(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    data = _write(header, rows).encode()
    at = rng.randrange(0, len(data))
    return MutatedFile(data[:at], f"cut at byte {at} of {len(data)}")


def _empty(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    choice = rng.choice(["zero bytes", "header only", "blank lines", "BOM only"])
    data = {"zero bytes": b"", "header only": _write(header, []).encode(), "blank lines": b"\r\n\r\n\n",
            "BOM only": codecs.BOM_UTF8}[choice]
    return MutatedFile(data, f"empty file ({choice})")


def _stray(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    text = _write(header, rows)
    lines = text.split("\r\n")
    n = rng.randrange(1, max(2, len(lines) - 1))
    char = rng.choice([",", '"', ";", "\t", "|", "\r", "\n", '""', ',"'])
    pos = rng.randrange(0, len(lines[n]) + 1)
    lines[n] = lines[n][:pos] + char + lines[n][pos:]
    return MutatedFile("\r\n".join(lines).encode(), f"stray {char!r} in line {n + 1} at {pos}")


def _cell(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    changed = []
    for _ in range(rng.choice([1, 1, 3, 10])):
        r, c = _cells(export, rng)
        rows[r][c] = garbage_cell(rng)
        changed.append(header[c])
    return MutatedFile(_write(header, rows).encode(), f"garbage cells in {sorted(set(changed))}")


def _dates(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    dated = [i for i, c in enumerate(header) if ("Date" in c or "Time" in c or "Stamp" in c)
             and c not in export.protected] or [i for i, c in enumerate(header) if c not in export.protected]
    c = rng.choice(dated)
    value = rng.choice(["0000-00-00", "0000-00-00 00:00:00", "9999-12-31", "9999-12-31 23:59:59", "0001-01-01",
                        "1800-01-01", "2026-02-29", "31/12/2026", "garbage", "", "2026-03-02 24:00:00"])
    for row in rng.sample(rows, k=max(1, len(rows) // rng.choice([1, 3, 10]))):
        row[c] = value
    return MutatedFile(_write(header, rows).encode(), f"dates in {header[c]} set to one odd value")


def _columns(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    c = rng.randrange(len(header))
    action = rng.choice(["rename", "remove", "remove header only", "duplicate", "swap", "case", "blank"])
    if action == "rename":
        header[c] = header[c] + "_renamed"
    elif action == "remove":
        del header[c]
        for row in rows:
            del row[c]
    elif action == "remove header only":
        del header[c]
    elif action == "duplicate":
        header.append(header[c])
        for row in rows:
            row.append(rng.choice([row[c], "other"]))
    elif action == "swap":
        d = rng.randrange(len(header))
        header[c], header[d] = header[d], header[c]
    elif action == "case":
        header[c] = header[c].upper()
    else:
        header[c] = ""
    return MutatedFile(_write(header, rows).encode(), f"column {export.header[c]}: {action}")


def _duplicates(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    picked = rng.sample(range(len(rows)), k=min(len(rows), rng.choice([1, 2, 5])))
    for i in picked:
        twin = list(rows[i])
        _, c = _cells(export, rng)
        twin[c] = garbage_cell(rng) if rng.random() < 0.5 else twin[c]
        rows.insert(rng.randrange(len(rows) + 1), twin)
    return MutatedFile(_write(header, rows).encode(), f"{len(picked)} duplicate key(s)")


def _encoding(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    text = _write(header, rows)
    choice = rng.choice(["utf-16", "utf-16-le no BOM", "utf-8 BOM", "cp1252", "latin-1 bytes", "utf-32", "mixed"])
    if choice == "utf-16":
        return MutatedFile(text.encode("utf-16"), "UTF-16 with BOM", "utf-16")
    if choice == "utf-16-le no BOM":
        return MutatedFile(text.encode("utf-16-le"), "UTF-16-LE without BOM", "utf-16-le")
    if choice == "utf-8 BOM":
        return MutatedFile(codecs.BOM_UTF8 + text.encode(), "UTF-8 with BOM", "utf-8-sig")
    if choice == "utf-32":
        return MutatedFile(text.encode("utf-32"), "UTF-32", "utf-32")
    r, c = _cells(export, rng)
    rows[r][c] = rows[r][c] + "é€"
    text = _write(header, rows)
    if choice == "cp1252":
        return MutatedFile(text.encode("cp1252"), "Windows-1252", "cp1252")
    if choice == "latin-1 bytes":
        return MutatedFile(text.encode("utf-8") + b"\xff\xfe\x81", "UTF-8 with invalid bytes at the end", "latin-1")
    half = len(text) // 2
    return MutatedFile(text[:half].encode("utf-8") + text[half:].encode("cp1252"), "half UTF-8, half cp1252",
                       "latin-1")


def _nul(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    data = bytearray(_write(header, rows).encode())
    for _ in range(rng.choice([1, 5, 50])):
        data.insert(rng.randrange(len(data) + 1), 0)
    return MutatedFile(bytes(data), "NUL bytes")


def _delimiter(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    delimiter = rng.choice(["\t", ";", "|"])
    if rng.random() < 0.5:
        return MutatedFile(_write(header, rows, delimiter).encode(), f"delimiter {delimiter!r}", delimiter=delimiter)
    mixed = _write(header, rows[: len(rows) // 2], delimiter) + _write([], rows[len(rows) // 2:])[2:]
    return MutatedFile(mixed.encode(), f"delimiter {delimiter!r} for the first half only", delimiter=delimiter)


def _quoted(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    return MutatedFile(_write(header, rows, quoting=csv.QUOTE_ALL).encode(), "every cell quoted")


def _binary(export: Export, header: list[str], rows: list[list[str]], rng: random.Random) -> MutatedFile:
    data = bytearray(_write(header, rows).encode())
    start = rng.randrange(len(data))
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 4096])))
    data[start:start] = junk
    return MutatedFile(bytes(data), f"{len(junk)} random bytes at {start}", "latin-1")


MUTATIONS = [_cut, _empty, _stray, _cell, _cell, _dates, _columns, _duplicates, _encoding, _nul, _delimiter,
             _quoted, _binary]


def recognizable_ids(original: Export, mutated: MutatedFile) -> set[str] | None:
    """Ids of the original rows that still stand in the key column of the mutated file; None when the file
    as a whole cannot be read as CSV (then no stored row may leave)."""
    try:
        text = mutated.data.decode(mutated.encoding)
    except UnicodeDecodeError:
        return None
    try:
        parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=mutated.delimiter))
    except csv.Error:
        return None
    parsed = [r for r in parsed if r and not (len(r) == 1 and not r[0].strip())]
    if not parsed:
        return None
    header = [c.strip() for c in parsed[0]]
    at = header.index(original.key) if original.key in header else original.header.index(original.key)
    return {r[at].strip() for r in parsed[1:] if len(r) > at} & original.ids


# --------------------------------------------------------------------------- config files

def mutate_config(text: str, rng: random.Random) -> tuple[bytes, str]:
    """One mutation of a valid config file's text."""
    lines = text.splitlines()
    kind = rng.choice(["type", "type", "unknown key", "drop line", "binary", "utf-16", "truncate", "duplicate",
                       "value", "value", "junk line", "table"])
    if kind == "utf-16":
        return text.encode(rng.choice(["utf-16", "utf-16-le", "utf-32"])), "encoded as UTF-16/32"
    if kind == "binary":
        data = bytearray(text.encode())
        junk = bytes(rng.randrange(256) for _ in range(rng.choice([1, 8, 64])))
        at = rng.randrange(len(data) + 1)
        data[at:at] = junk
        return bytes(data), f"{len(junk)} random bytes at {at}"
    if kind == "truncate":
        at = rng.randrange(len(text))
        return text[:at].encode(), f"cut at {at}"
    assignments = [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")]
    i = rng.choice(assignments)
    key = lines[i].split("=", 1)[0].strip()
    if kind == "type":
        value = rng.choice(['1', '-1', '3.5', 'true', '[]', '["a", 1]', '{}', '{ a = 1 }', '1979-05-27', '""',
                            'nan', 'inf', '9223372036854775808', '"\\u0000"'])
        lines[i] = f"{key} = {value}"
        return "\n".join(lines).encode(), f"{key}: wrong type"
    if kind == "value":
        value = rng.choice(['"."', '"/dev/null"', '"/"', '"nonexistent/deeper/still"', '"Mars/Olympus"', '"UTC"',
                            '"   "', '"' + "x" * 5000 + '"', '"../../.."', '"state"', '"opendental-api"', '"canonical"',
                            '"changes"', '"full"', '"postgresql://nobody@127.0.0.1:1/none"', '"sqlite://"',
                            '"%s"', '"\\t"', "2.0", "0", "-0.5", '"PATIENT"', '["XYZ999"]', '"🦷"'])
        lines[i] = f"{key} = {value}"
        return "\n".join(lines).encode(), f"{key}: odd value"
    if kind == "unknown key":
        lines.insert(i + 1, f"{rng.choice(['paht', 'Path', 'extra', 'clinics', 'mode', 'key', 'x.y'])} = \"z\"")
        return "\n".join(lines).encode(), f"unknown key after {key}"
    if kind == "drop line":
        del lines[i]
        return "\n".join(lines).encode(), f"{key} removed"
    if kind == "duplicate":
        lines.insert(i + 1, lines[i])
        return "\n".join(lines).encode(), f"{key} twice"
    if kind == "table":
        headers = [j for j, line in enumerate(lines) if line.startswith("[")]
        j = rng.choice(headers)
        change = rng.choice(["drop", "rename", "array"])
        if change == "drop":
            del lines[j]
        elif change == "rename":
            lines[j] = lines[j].replace("]", "x]", 1)
        else:
            lines[j] = "[" + lines[j] + "]"
        return "\n".join(lines).encode(), f"table header {change}"
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(["= 1", "[", "a = ", "]]", "\x00", "key = 'unclosed"]))
    return "\n".join(lines).encode(), "junk line"


# --------------------------------------------------------------------------- API answers

STATUSES = [200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 409, 410, 413, 418, 422, 429, 500,
            501, 502, 503, 504, 520, 599]
RETRY_AFTER = ["", "soon", "-5", "0", "1", "99999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "1.5", "NaN"]


@dataclass
class ApiFault:
    """What to do to the answer of the ``at``-th request of a run."""

    at: int
    kind: str  # "status", "body" or "items"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # replaces the answer's body
    items: str | None = None  # an item mutation, applied to the real answer
    what: str = ""


def api_fault(rng: random.Random, requests: int) -> ApiFault:
    at = rng.randrange(max(1, requests))
    kind = rng.choice(["status", "body", "items", "items"])
    if kind == "status":
        status = rng.choice(STATUSES)
        headers = {"Retry-After": rng.choice(RETRY_AFTER)} if rng.random() < 0.5 else {}
        body = rng.choice([b"", b"Internal Server Error", b'{"message": "no"}', b"<html>busy</html>", b"[]", b"null"])
        return ApiFault(at, kind, status, headers, body, what=f"status {status}, body {body!r}, headers {headers}")
    if kind == "body":
        body, what = rng.choice([
            (b"", "empty body"), (b"{", "truncated object"), (b"[{", "truncated list"), (b"<html></html>", "HTML"),
            (b"null", "null"), (b"true", "true"), (b"42", "a number"), (b'"text"', "a string"),
            (b'{"data": []}', "an object"), (b"[1, 2, 3]", "numbers"), (b'["a"]', "strings"), (b"[null]", "[null]"),
            (b"[[]]", "a list of lists"), (b"[NaN, Infinity]", "NaN"), (b"\xff\xfe\x00", "binary"),
            (b"[" * 50 + b"]" * 50, "nested 50 deep"), (b'[{"a": 1}]', "a foreign object"),
            (b"[1e999999]", "a huge number"), (b'{"message": "The office\'s eConnector is not running."}', "message"),
        ])
        return ApiFault(at, kind, 200, {}, body, what=f"200 with {what}")
    mutation = rng.choice(["null", "int", "float", "bool", "empty", "garbage", "huge", "nested", "missing", "extra",
                           "dup", "truncate", "date"])
    return ApiFault(at, kind, items=mutation, what=f"items: {mutation}")


def mutate_items(payload: Any, fault: ApiFault, keys: set[str], rng: random.Random) -> tuple[Any, str]:
    """An item-level mutation of a JSON list answer; the items' own key fields (``keys``) are left alone."""
    if not isinstance(payload, list) or not payload or not all(isinstance(i, dict) for i in payload):
        return payload, "not a list of objects: unchanged"
    payload = copy.deepcopy(payload)
    item = rng.choice(payload)
    fields = [f for f in item if f not in keys]
    if not fields:
        return payload, "no field but the key: unchanged"
    name = rng.choice(fields)
    mutation = fault.items
    if mutation == "dup":
        payload.insert(rng.randrange(len(payload) + 1), copy.deepcopy(item))
    elif mutation == "truncate":
        return json.dumps(payload)[: rng.randrange(1, len(json.dumps(payload)))], "truncated JSON"
    elif mutation == "missing":
        del item[name]
    elif mutation == "extra":
        item["Unexpected" + name] = {"nested": [1, 2]}
    else:
        item[name] = {
            "null": None, "int": rng.choice([0, -1, 2**63, 987654]), "float": rng.choice([0.5, -1e300, 1e308]),
            "bool": rng.choice([True, False]), "empty": "", "garbage": garbage_cell(rng), "huge": "x" * HUGE,
            "nested": {"a": [1, {"b": None}]}, "date": rng.choice(["0001-01-01", "0000-00-00 00:00:00", "9999-12-31",
                                                                  "2026-02-30", "13/13/2026", "soon"]),
        }[mutation or "null"]
    return payload, f"{mutation} in field {name}"
