"""Export files that are not whole or not readable: a cut last row is flagged, a file that cannot be read
is named, and one very long cell does not fail the file."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path

import pytest

from pms_bridge.connectors import FileConnector, SourceFileError, load_connector_spec

SPEC = load_connector_spec("csv")


def _read(folder: Path, name: str = "t") -> tuple[list[tuple[int, list[str]]], str | None]:
    table = FileConnector(SPEC, folder).open([name])
    assert table is not None
    rows = [row for chunk in table.chunks() for row in chunk]
    return rows, table.cut


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("a,b,c\n1,2,3\n4,5", "the last row (line 3) has 2 of 3 cells and no line break after it"),
        ('a,b,c\n1,2,3\n4,"5,6\n', "a quoted cell opened on line 3 never closes"),
        ('a,b,c\n1,2,3\n4,"5\n6,7,8', "a quoted cell opened on line 3 never closes"),
        ('a,b,c\n1,"x\ny",3\n4,5', "the last row (line 4) has 2 of 3 cells and no line break after it"),
    ],
)
def test_a_file_that_ends_inside_a_row_is_flagged_cut_and_its_rows_still_come(tmp_path: Path, text: str,
                                                                              cut: str) -> None:
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    rows, found = _read(tmp_path)
    assert found == cut
    assert len(rows) == 2 and rows[0][1][0] == "1"  # the row before the cut is read ...
    assert rows[1][1][0] == "4"  # ... and so is the cut one (the sync quarantines it when it is short)


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\n1,2,3\n4,5,6",  # a whole last row without a final line break is fine
        "a,b,c\n1,2,3\n4,5,6\n",
        "a,b,c\n1,2,3\n4,5\n",  # short, but ended by a line break: a bad row, not a cut file
        "a,b,c\n1,2,3\n4,5,6\n\n  ",
        'a,b,c\n1,"x\ny",3\n4,5,"6"',
        'a,b,c\n1,ab"c,3',  # a stray quote inside an unquoted cell is literal
    ],
)
def test_a_whole_file_is_not_flagged(tmp_path: Path, text: str) -> None:
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    rows, cut = _read(tmp_path)
    assert cut is None and rows


def test_cut_is_reset_when_the_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3", encoding="utf-8")
    table = FileConnector(SPEC, tmp_path).open(["t"])
    assert table is not None
    list(table.chunks())
    assert table.cut is not None
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    list(table.chunks())
    assert table.cut is None


def test_a_ten_megabyte_cell_is_read_not_refused(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    (tmp_path / "t.csv").write_text(f"a,b\n1,{big}\n2,ok\n", encoding="utf-8")
    rows, cut = _read(tmp_path)
    assert cut is None
    assert [line for line, _ in rows] == [2, 3] and len(rows[0][1][1]) == len(big) and rows[1][1] == ["2", "ok"]


# ------------------------------------------------------------------------ files that are no files
def _named_error(folder: Path, name: str) -> str:
    with pytest.raises(SourceFileError) as caught:
        FileConnector(SPEC, folder).open([name])
    return str(caught.value)


def test_a_folder_named_like_an_export_is_named(tmp_path: Path) -> None:
    (tmp_path / "appointment.csv").mkdir()
    (tmp_path / "patient.csv").write_text("PatNum\n1\n", encoding="utf-8")
    message = _named_error(tmp_path, "appointment")
    assert message.startswith("appointment.csv in the export folder is a folder, not an export file")
    assert FileConnector(SPEC, tmp_path).open(["patient"]) is not None  # the others still open


def test_a_regular_file_wins_over_a_folder_of_the_same_table(tmp_path: Path) -> None:
    (tmp_path / "appointment.txt").mkdir()
    (tmp_path / "appointment.csv").write_text("AptNum\n1\n", encoding="utf-8")
    table = FileConnector(SPEC, tmp_path).open(["appointment"])
    assert table is not None and table.source == "appointment.csv"


def test_a_symlink_loop_is_named(tmp_path: Path) -> None:
    os.symlink(tmp_path / "document.csv", tmp_path / "document.csv")
    assert "document.csv in the export folder is a symbolic link that loops back on itself" in _named_error(
        tmp_path, "document")


def test_a_dangling_link_is_named(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone" / "sheet.csv", tmp_path / "sheet.csv")
    message = _named_error(tmp_path, "sheet")
    assert "sheet.csv in the export folder is a link to" in message and "which does not exist" in message


def test_a_pipe_named_like_an_export_is_named_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "claim.csv")  # opening it would wait for a writer forever
    assert "claim.csv in the export folder is not a regular file" in _named_error(tmp_path, "claim")


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "claim.csv").write_text("ClaimNum\n1\n", encoding="utf-8")
    (tmp_path / "patient.csv").write_text("PatNum\n1\n", encoding="utf-8")
    real_open = pathlib.Path.open

    def no_permission(self: Path, *args: object, **kwargs: object):
        if self.name == "claim.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", no_permission)
    message = _named_error(tmp_path, "claim")
    assert message.startswith("claim.csv: cannot be read (Permission denied); check that the account")
    patient = FileConnector(SPEC, tmp_path).open(["patient"])
    assert patient is not None and patient.header() == ["PatNum"]


def test_a_file_that_stops_being_readable_after_it_was_opened_is_named(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "claim.csv").write_text("ClaimNum\n1\n", encoding="utf-8")
    table = FileConnector(SPEC, tmp_path).open(["claim"])
    assert table is not None

    def broken(self: Path, *args: object, **kwargs: object):
        raise OSError(5, "Input/output error", str(self))

    monkeypatch.setattr(pathlib.Path, "open", broken)
    with pytest.raises(SourceFileError, match=r"^claim.csv: cannot be read \(Input/output error\)"):
        table.header()
    with pytest.raises(SourceFileError, match=r"^claim.csv: cannot be read \(Input/output error\)"):
        list(table.chunks())
