"""A sample group on a real broker and PostgreSQL, with worker processes the tests start and kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.cli.sample_group import write_group_files
from pms_bridge.sample import generate_group

HOOKED_WORKER = Path(__file__).with_name("hooked_worker.py")
AS_OF = DEMO_AS_OF.isoformat()
READY_SECONDS = 60


@dataclass
class SampleGroup:
    folder: Path
    file: Path
    store_url: str
    broker: str
    name: str
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, *, env: dict[str, str] | None = None, concurrency: int = 1) -> subprocess.Popen:
        """A `pms-bridge worker` process of its own session (its pool processes die with it on killpg)."""
        log = self.folder / f"worker-{len(self.workers) + 1}.log"
        proc = subprocess.Popen(
            [sys.executable, str(HOOKED_WORKER), "--group", str(self.file), "--concurrency", str(concurrency)],
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        proc.log = log  # type: ignore[attr-defined]
        self.workers.append(proc)
        deadline = time.monotonic() + READY_SECONDS
        while " ready." not in log.read_text(encoding="utf-8", errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{log.read_text(encoding='utf-8', errors='replace')[-3000:]}")
            time.sleep(0.2)
        return proc

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """`pms-bridge group run --group FILE --as-of AS_OF --json ARGS` as a user runs it."""
        return subprocess.run(
            [sys.executable, "-m", "pms_bridge", "group", "run", "--group", str(self.file), "--as-of", AS_OF,
             "--json", *args], check=False, capture_output=True, text=True, timeout=timeout)

    def start_run(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "pms_bridge", "group", "run", "--group", str(self.file), "--as-of", AS_OF,
             "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            _kill_group(proc.pid)  # orphaned pool processes of a killed worker


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def summary(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout.strip(), f"no summary on stdout; stderr:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def make_group(folder: Path, store_url: str, broker: str, locations: int, patients: int, **queue: object) -> SampleGroup:
    reports = generate_group(folder, as_of=DEMO_AS_OF, locations=locations, patients=patients)
    group_file = write_group_files(folder, [r.out_dir for r in reports], store_url, broker)
    name = f"Test Group {uuid.uuid4().hex[:10]}"  # its own queue on the shared broker
    text = group_file.read_text(encoding="utf-8").replace('name = "Sample Dental Group"', f'name = "{name}"')
    settings = {"retry_backoff_seconds": 1, "busy_poll_seconds": 1, **queue}
    text = text.replace("[queue]\n", "[queue]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    group_file.write_text(text, encoding="utf-8")
    return SampleGroup(folder, group_file, store_url, broker, name)


def delete_queue(group: SampleGroup) -> None:
    from kombu import Connection

    from pms_bridge.config.group import load_group

    queue = load_group(group.file).queue
    with suppress(Exception), Connection(group.broker, connect_timeout=3) as conn:
        conn.channel().queue_delete(queue)  # best effort: a test's queue left behind holds no data
