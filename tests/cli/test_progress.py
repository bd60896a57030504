"""Progress while syncing: a rich bar per table on a terminal, rate-limited log lines otherwise, and how much
of an export file has been read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console
from structlog.testing import capture_logs

from pms_bridge.cli.progress import LogProgress, TerminalProgress, sync_progress
from pms_bridge.connectors.files import MOST_READ, SourceTable

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _terminal() -> tuple[Console, StringIO]:
    buffer = StringIO()
    return Console(force_terminal=True, file=buffer, width=100, color_system=None), buffer


def _frames(buffer: StringIO) -> list[list[str]]:
    """The frames rich drew, each as its lines (a frame starts at the top line, "Syncing")."""
    lines = [line.rstrip() for line in _CONTROL.sub("\n", buffer.getvalue()).splitlines() if line.strip()]
    frames: list[list[str]] = []
    for line in lines:
        if "Syncing" in line:
            frames.append([])
        if frames:
            frames[-1].append(line)
    return frames


def _line(frame: list[str], resource: str) -> str:
    [line] = [line for line in frame if re.search(rf"(^|\s){resource}\s", line)]
    return line


pytestmark = pytest.mark.usefixtures("all_log_levels")  # tests/conftest.py


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_shows_a_bar_per_table_and_keeps_finished_tables_as_compact_lines() -> None:
    console, buffer = _terminal()
    clock = _Clock()
    with TerminalProgress(console, get_time=clock) as progress:
        progress("patient", 2_000, 0.6)
        frame = _frames(buffer)[-1]
        assert re.search(r"patient\s+[━╸╺]+\s+2,000 rows\s+60%", _line(frame, "patient"))

        clock.now += 3
        progress("patient", 3_300, 1.0)
        progress("appointment", 5_000, 0.25)
        frame = _frames(buffer)[-1]
        done = _line(frame, "patient")
        assert done.startswith("✓ patient") and "3,300 rows" in done and "0:00:03" in done
        assert "━" not in done and "%" not in done  # compact: no bar, no percent
        assert re.search(r"appointment\s+[━╸╺]+\s+5,000 rows\s+25%", _line(frame, "appointment"))
        assert re.search(r"Syncing\s+8,300 rows", frame[0])

        # An API resource: no known size, a pulsing bar and the row count, no percent.
        progress("appointment", 20_000, 1.0)
        progress("claim", 500, None)
        frame = _frames(buffer)[-1]
        claim = _line(frame, "claim")
        assert "━" in claim and "500 rows" in claim and "%" not in claim
        assert [line[:1] for line in frame[1:]] == ["✓", "✓", " "]


def test_a_table_that_ends_without_its_last_call_is_shown_as_stopped() -> None:
    console, buffer = _terminal()
    with TerminalProgress(console, get_time=_Clock()) as progress:
        progress("procedurelog", 5_000, 0.4)
        progress("claim", 100, 0.9)  # procedurelog failed part way: sync went on to the next table
        frame = _frames(buffer)[-1]
    stopped = _line(frame, "procedurelog")
    assert stopped.startswith("· procedurelog") and "5,000 rows" in stopped and "━" not in stopped
    assert re.search(r"Syncing\s+5,100 rows", frame[0])


def test_off_a_terminal_progress_is_logged_at_most_every_interval_plus_once_per_finished_table() -> None:
    clock = _Clock()
    progress = LogProgress(interval=10.0, clock=clock)
    with capture_logs() as logs:
        for rows in range(5_000, 45_001, 5_000):  # a chunk every 3 s: a line at 12 s and 24 s
            clock.now += 3
            progress("procedurelog", rows, rows / 50_000)
        progress("procedurelog", 50_000, 1.0)
        clock.now += 1
        progress("claim", 5_000, None)  # 1 s after the last line: not yet
        clock.now += 10
        progress("claim", 10_000, None)
        progress("claim", 12_000, 1.0)
    assert logs == [
        {"event": "sync.progress", "log_level": "info", "resource": "procedurelog", "rows": 20_000, "percent": 40},
        {"event": "sync.progress", "log_level": "info", "resource": "procedurelog", "rows": 40_000, "percent": 80},
        {"event": "sync.table_read", "log_level": "info", "resource": "procedurelog", "rows": 50_000},
        {"event": "sync.progress", "log_level": "info", "resource": "claim", "rows": 10_000, "percent": None},
        {"event": "sync.table_read", "log_level": "info", "resource": "claim", "rows": 12_000},
    ]


def test_off_a_terminal_nothing_is_drawn() -> None:
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=False)
    with capture_logs() as logs, sync_progress(console) as progress:
        assert isinstance(progress, LogProgress)
        progress("patient", 3_300, 1.0)
    assert buffer.getvalue() == ""
    assert [entry["event"] for entry in logs] == ["sync.table_read"]


def test_fraction_read_goes_from_nothing_to_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "procedurelog.csv"
    path.write_text("ProcNum,PatNum,ProcFee\n" + "".join(f"{n},{n % 97},{n * 1.5:.2f}\n" for n in range(1, 20_001)))
    table = SourceTable(path, "utf-8", ",", batch_rows=1_000)
    assert table.fraction_read() is None  # not being read
    fractions = []
    for _chunk in table.chunks():
        fractions.append(table.fraction_read())
    assert len(fractions) == 20
    assert fractions == sorted(fractions) and len(set(fractions)) > 5  # it moves as the file is read
    assert 0.0 < fractions[0] < 0.2
    assert fractions[-1] == MOST_READ  # the whole file is read, yet the table's end is the sync's to say
    assert table.fraction_read() is None  # closed


def test_fraction_read_of_an_empty_file_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    table = SourceTable(path, "utf-8", ",", batch_rows=10)
    assert list(table.chunks()) == [] and table.fraction_read() is None


def test_a_run_off_a_terminal_logs_each_table_on_stderr_and_nothing_on_stdout(export: Path, write_config) -> None:
    config = write_config(export)
    done = subprocess.run(
        [sys.executable, "-m", "pms_bridge", "run", "-v", "--config", str(config), "--as-of", "2026-03-02T08:00"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sync.table_read" not in done.stdout and "Result: OK" in done.stdout
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    read = [e for e in events if e["event"] == "sync.table_read"]
    loaded = [e for e in events if e["event"] == "resource.loaded"]
    assert [(e["resource"], e["rows"]) for e in read] == [(e["resource"], e["rows"]) for e in loaded]
    assert {"patient", "appointment", "procedurelog"} <= {e["resource"] for e in read}
