"""File sinks write regular files only: a path that is a folder, a device or a pipe is reported, never
replaced by a file; a regular file is replaced whole (a reader never sees half a list)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from odexport import write_export

from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync


def _run(tmp_path: Path, write_config, target: Path):  # noqa: ANN001, ANN202
    extra = f'\n[[sinks]]\ntype = "json"\npath = "{target.as_posix()}"\n'
    config = write_config(write_export(tmp_path / "exports"), extra=extra)
    return run_sync(load_config(config), None, check=True)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_path_that_is_not_a_regular_file_is_left_alone(tmp_path: Path, write_config, kind: str) -> None:
    target = tmp_path / "out" / "tasks.json"
    target.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    report = _run(tmp_path, write_config, target)
    assert report.tasks is not None
    (sink,) = report.tasks.sinks
    assert sink.error is not None and "not a regular file" in sink.error
    assert report.status == "partial"
    mode = target.lstat().st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISDIR(mode)  # still what it was
    assert [p.name for p in target.parent.iterdir()] == ["tasks.json"]  # no temporary file left behind


def test_a_regular_file_is_replaced_owner_only(tmp_path: Path, write_config) -> None:
    target = tmp_path / "out" / "tasks.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    report = _run(tmp_path, write_config, target)
    assert report.tasks is not None and report.tasks.sinks[0].error is None
    assert target.read_text(encoding="utf-8").startswith("[")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_write_sweeps_temp_copies_a_killed_writer_left_but_not_one_in_progress(tmp_path: Path) -> None:
    """A run killed between writing a list's temp copy and renaming it leaves the copy (maybe with names)."""
    from pms_bridge.sinks.files import LEFTOVER_AGE_S, write_private

    target = tmp_path / "out" / "tasks.html"
    target.parent.mkdir()
    stale, fresh, other = (target.parent / n for n in (".tasks.html.abc123.tmp", ".tasks.html.def456.tmp",
                                                         ".tasks.json.abc123.tmp"))
    for leftover in (stale, fresh, other):
        leftover.write_text("<p>half a list</p>")
    old = time.time() - LEFTOVER_AGE_S - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_private(target, "<p>the list</p>")
    assert target.read_text() == "<p>the list</p>"
    assert sorted(p.name for p in target.parent.iterdir()) == [".tasks.html.def456.tmp", ".tasks.json.abc123.tmp",
                                                                 "tasks.html"]
