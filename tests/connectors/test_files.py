"""Finding, decoding and splitting exported files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pms_bridge.connectors import FileConnector, SourceFileError, SourceUnavailable, load_connector_spec
from pms_bridge.connectors.files import detect_delimiter, detect_encoding

SPEC = load_connector_spec("csv")


def test_shipped_connector_files_load() -> None:
    assert load_connector_spec("opendental-csv").default_mapping == "opendental"
    assert SPEC.default_mapping == "canonical"


@pytest.mark.parametrize(
    ("line", "expected"),
    [("a,b,c", ","), ("a\tb\tc", "\t"), ("a;b;c", ";"), ("a|b|c", "|"), ("PatNum\tLName, FName\tX", "\t"), ("a", ",")],
)
def test_delimiter_from_header(line: str, expected: str) -> None:
    assert detect_delimiter(line, SPEC.delimiters) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF8 + b"a,b", "utf-8-sig"),
        ("Zoë".encode(), "utf-8-sig"),
        ("Zoë".encode("cp1252"), "cp1252"),
    ],
)
def test_encoding(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert detect_encoding(path, SPEC.encodings) == expected


def test_encoding_looks_past_the_start_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n" + b"1,plain\n" * 100_000 + "2,Zoë\n".encode("cp1252"))
    assert detect_encoding(path, SPEC.encodings) == "cp1252"


def test_finds_files_case_insensitively_and_by_extension(tmp_path: Path) -> None:
    (tmp_path / "Appointment.TXT").write_text("AptNum\tPatNum\n1\t2\n", encoding="utf-8")
    table = FileConnector(SPEC, tmp_path).open(["appointment"])
    assert table is not None and table.source == "Appointment.TXT" and table.delimiter == "\t"
    assert FileConnector(SPEC, tmp_path).open(["patient"]) is None


def test_rows_come_in_batches_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text('a,b\n1,2\n\n3,"multi\nline"\n4,5\n', encoding="utf-8")
    spec = SPEC.model_copy(update={"batch_rows": 2})
    table = FileConnector(spec, tmp_path).open(["t"])
    assert table is not None
    assert table.header() == ["a", "b"]
    chunks = list(table.chunks())
    assert [len(c) for c in chunks] == [2, 1]
    assert [line for chunk in chunks for line, _ in chunk] == [2, 5, 6]  # blank line 3 skipped
    assert chunks[0][1][1] == ["3", "multi\nline"]


def test_utf16_export(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_bytes("a\tb\r\n1\tZoë\r\n".encode("utf-16"))
    table = FileConnector(SPEC, tmp_path).open(["t"])
    assert table is not None and table.encoding == "utf-16"
    assert [cells for chunk in table.chunks() for _, cells in chunk] == [["1", "Zoë"]]


def test_empty_file_and_broken_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    table = FileConnector(SPEC, tmp_path).open(["empty"])
    assert table is not None
    with pytest.raises(SourceFileError, match="empty"):
        table.header()
    (tmp_path / "nul.csv").write_bytes(b"a,b\n1,2\n3,\x00\n")
    broken = FileConnector(SPEC, tmp_path).open(["nul"])
    assert broken is not None
    # Python 3.11+ (the floor) reads a NUL byte as a character: the row is read, not lost or refused.
    assert [cells for chunk in broken.chunks() for _, cells in chunk] == [["1", "2"], ["3", "\x00"]]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="export folder .* not found"):
        FileConnector(SPEC, tmp_path / "nope")
