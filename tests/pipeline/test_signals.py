"""SIGINT / SIGTERM during a run: it stops at a safe point, is recorded as interrupted, exits 130 / 143
with one line, releases the lock, and the next run resumes to the same tasks as a clean run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.pipeline.interrupt import Interrupted, checkpoint, stop_on_signals
from pms_bridge.sample import generate_practice
from pms_bridge.store import Store

AS_OF = DEMO_AS_OF.isoformat()
SAFE_POINT_LINE = "Interrupted: the run stopped at a safe point; stored data is consistent and the next run resumes."
CONFIG = """\
[practice]
name = "Signal Dental"
timezone = "America/Chicago"

[source]
connector = "csv"
mapping = "opendental"
path = "{exports}"

[store]
path = "{store}"
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample practice big enough that a run takes seconds: time to be stopped in the middle."""
    folder = tmp_path_factory.mktemp("signals") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=11, patients=300)
    return folder


@pytest.fixture(scope="module")
def clean_tasks(tmp_path_factory: pytest.TempPathFactory, big_export: Path) -> list[tuple]:
    """The tasks of a run nobody stopped (compared with those of a run resumed after a signal)."""
    clean = _config(tmp_path_factory.mktemp("clean"), big_export, "clean")
    assert runner.invoke(app, ["run", "--config", str(clean), "--as-of", AS_OF]).exit_code == 0
    tasks = _comparable(runner.invoke(app, ["tasks", "--config", str(clean), "--status", "all"]).stdout)
    assert tasks, "the sample practice has planted problems"
    return tasks


def _config(folder: Path, exports: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(CONFIG.format(exports=exports.as_posix(), store=f"state/{name}.sqlite"), encoding="utf-8")
    return path


def _latest_status(db: Path) -> str | None:
    if not db.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            row = conn.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # not created yet, or busy for a moment
        return None
    return row[0] if row else None


def _comparable(tasks_json: str) -> list[tuple]:
    return sorted((t["key"], t["status"], t["title"], t["detail"], t["due"]) for t in json.loads(tasks_json))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_stops_at_a_safe_point_and_the_next_run_resumes(
    tmp_path: Path, big_export: Path, clean_tasks: list[tuple], signum: int, code: int
) -> None:
    config = _config(tmp_path, big_export, "office")
    db = tmp_path / "state" / "office.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pms_bridge", "run", "--config", str(config), "--as-of", AS_OF],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _latest_status(db) != "running":
            assert proc.poll() is None, f"the run ended before it could be stopped: {proc.communicate()}"
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    assert stderr.splitlines() == [SAFE_POINT_LINE]  # one line, nothing else
    assert "Result:" not in stdout  # no summary of a run that did not finish
    assert _latest_status(db) == "interrupted"

    runs = runner.invoke(app, ["runs", "--config", str(config), "--json"])
    assert runs.exit_code == 0 and json.loads(runs.stdout)[0]["status"] == "interrupted"
    assert "was interrupted" in runs.stderr
    check = runner.invoke(app, ["check", "--config", str(config), "--as-of", AS_OF, "--format", "json"])
    assert check.exit_code == 0 and "was interrupted" in check.stderr
    json.loads(check.stdout)  # the warning stays off stdout

    resumed = runner.invoke(app, ["run", "--config", str(config), "--as-of", AS_OF])  # the lock was released
    assert resumed.exit_code == 0, resumed.output
    assert runner.invoke(app, ["runs", "--config", str(config)]).stderr == ""  # nothing unfinished any more
    ours = runner.invoke(app, ["tasks", "--config", str(config), "--status", "all"]).stdout
    assert _comparable(ours) == clean_tasks


def test_a_signal_is_honoured_at_the_next_safe_point_only(tmp_path: Path, export: Path) -> None:
    """In-process: the first signal sets a flag; sync stops after the chunk it is storing."""
    cfg = load_config(_config(tmp_path, export, "office"))
    seen: list[str] = []

    def progress(resource: str, rows: int, fraction: float | None) -> None:
        seen.append(resource)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while the run is busy: handled at the next safe point

    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        run_sync(cfg, DEMO_AS_OF, progress=progress, check=True)
    assert stopped.value.exit_code == 143 and not stopped.value.at_once
    assert len(seen) == 2, "stopped at the first safe point after the signal"
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        [run] = store.list_runs()
        assert run.status == "interrupted" and run.finished_at is not None
        assert store.unfinished_run() == run
    finally:
        store.close()
    again = run_sync(cfg, DEMO_AS_OF, check=True)  # the lock is free, and the next run completes
    assert again.status == "ok" and again.tasks is not None and again.tasks.open_tasks > 0


def test_the_second_signal_stops_at_once_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        os.kill(os.getpid(), signal.SIGINT)  # the first one only asks
        os.kill(os.getpid(), signal.SIGINT)  # the second one raises here
    assert stopped.value.at_once and stopped.value.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is before
    checkpoint()  # nothing pending once the command is over


def test_a_signal_after_the_last_safe_point_still_ends_the_command_as_interrupted() -> None:
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
    assert stopped.value.finished and stopped.value.exit_code == 143


def test_a_killed_run_leaves_its_lock_to_the_next_run_which_marks_it_interrupted(
    tmp_path: Path, big_export: Path, clean_tasks: list[tuple]
) -> None:
    """SIGKILL cannot be handled: the run row stays 'running' and the lock's holder is dead."""
    config = _config(tmp_path, big_export, "office")
    db = tmp_path / "state" / "office.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pms_bridge", "run", "--config", str(config), "--as-of", AS_OF],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _latest_status(db) != "running":
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert _latest_status(db) == "running"
    warned = runner.invoke(app, ["tasks", "--config", str(config)])
    assert "has not finished" in warned.stderr

    resumed = runner.invoke(app, ["run", "--config", str(config), "--as-of", AS_OF])
    assert resumed.exit_code == 0, resumed.output
    runs = json.loads(runner.invoke(app, ["runs", "--config", str(config), "--json"]).stdout)
    assert [r["status"] for r in runs] == ["ok", "interrupted"]
    ours = runner.invoke(app, ["tasks", "--config", str(config), "--status", "all"]).stdout
    assert _comparable(ours) == clean_tasks
