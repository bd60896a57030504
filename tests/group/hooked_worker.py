"""`pms-bridge worker` with test hooks, run as its own process by the group tests.

PMSB_TEST_PAUSE_DIR: when a file named `pause` is there, the first pool process to store its
PMSB_TEST_PAUSE_AT-th chunk of rows takes it (an atomic rename: one process in all workers wins),
writes `paused-<pid>` and sleeps (at most 10 minutes): the job is then mid-sync, some rows stored and some
not, for the test to kill. PMSB_TEST_SLOW_SECONDS: every run sleeps this long before its rules, holding the location's lock (to
make two runs of one location meet).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pms_bridge.pipeline.run as pipeline_run
from pms_bridge.cli.main import app
from pms_bridge.store.store import Store

PAUSE_DIR = os.environ.get("PMSB_TEST_PAUSE_DIR")
PAUSE_AT = int(os.environ.get("PMSB_TEST_PAUSE_AT", "3"))
SLOW_SECONDS = float(os.environ.get("PMSB_TEST_SLOW_SECONDS", "0"))

if PAUSE_DIR:
    stored_chunks = [0]
    real_upsert = Store.upsert_records

    def upsert_then_maybe_pause(self, *args, **kwargs):
        result = real_upsert(self, *args, **kwargs)
        stored_chunks[0] += 1
        if stored_chunks[0] == PAUSE_AT:
            token = Path(PAUSE_DIR) / "pause"
            try:
                token.rename(Path(PAUSE_DIR) / f"taken-{os.getpid()}")
            except OSError:
                return result  # another process took it
            (Path(PAUSE_DIR) / f"paused-{os.getpid()}").write_text(self.practice.key, encoding="utf-8")
            time.sleep(600)
        return result

    Store.upsert_records = upsert_then_maybe_pause

if SLOW_SECONDS:
    real_check = pipeline_run.check_store

    def slow_check(*args, **kwargs):
        time.sleep(SLOW_SECONDS)
        return real_check(*args, **kwargs)

    pipeline_run.check_store = slow_check

if __name__ == "__main__":
    sys.argv = ["pms-bridge", "worker", *sys.argv[1:]]
    app()
