"""One writing command per practice: Store.hold, StoreBusy, interrupted runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pms_bridge.errors import ErrorKind, kind_of
from pms_bridge.model import Practice
from pms_bridge.store import Store, StoreBusy
from pms_bridge.store.lock import advisory_key

CHILD = textwrap.dedent("""
    import sys, time
    from pms_bridge.model import Practice
    from pms_bridge.store import Store
    store = Store.open(sys.argv[1], Practice(key=sys.argv[2], name="Child", timezone="America/Chicago"))
    with store.hold("run"):
        store.start_run("run", None)  # left 'running': the process dies in the middle of its run
        print("held", flush=True)
        time.sleep(120)  # killed long before
""")


@contextmanager
def _holding_child(url: str, key: str) -> Iterator[subprocess.Popen[str]]:
    """A separate process that holds the practice's lock until it is killed."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, key], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        for line in child.stdout:  # its log lines first
            if line.strip() == "held":
                break
        else:
            pytest.fail(f"the child did not take the lock: {child.stderr.read() if child.stderr else ''}")
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def _kill(child: subprocess.Popen[str], store: Store) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    if store.engine.dialect.name == "postgresql":
        # The server ends a dead client's session (and frees its locks) a moment after the socket closes:
        # wait for that in the server, bounded, before checking the takeover.
        key = advisory_key(store.practice.key)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SET lock_timeout = '20s'")
            conn.execute(select(func.pg_advisory_lock(key)))
            conn.execute(select(func.pg_advisory_unlock(key)))


def test_a_second_store_on_the_same_store_is_busy_at_once(store_url: str, practice: Practice) -> None:
    first, second = Store.open(store_url, practice), Store.open(store_url, practice)
    try:
        with first.hold("run"):
            before = datetime.now(UTC).replace(second=0, microsecond=0)
            with pytest.raises(StoreBusy) as busy, second.hold("purge"):
                pytest.fail("the second store got the lock the first holds")
            message = str(busy.value)
            assert message.startswith(f"practice {practice.key} is busy: `pms-bridge run` (pid {os.getpid()} "
                                      f"on host {socket.gethostname()}) started ")
            assert message.endswith(" UTC; try again when it has finished")
            started = datetime.strptime(message.split(") started ")[1][:16], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            assert abs((started - before).total_seconds()) <= 60
            assert kind_of(busy.value) is ErrorKind.SOURCE  # exit code 3
        with second.hold("purge"):  # released: free for the next command
            pass
    finally:
        first.close()
        second.close()


def test_the_holder_facts_beside_a_sqlite_store_go_with_the_lock(tmp_path: Path, practice: Practice) -> None:
    db = tmp_path / "store.sqlite"
    store = Store.open(f"sqlite:///{db}", practice)
    facts = tmp_path / "store.sqlite.lock.json"
    try:
        with store.hold("run"):
            data = json.loads(facts.read_text())
            assert (data["pid"], data["command"]) == (os.getpid(), "run")
            assert facts.stat().st_mode & 0o077 == 0
        assert not facts.exists()
    finally:
        store.close()


def test_a_lock_left_by_a_killed_process_is_taken_over(store_url: str, practice: Practice) -> None:
    store = Store.open(store_url, practice)
    try:
        with _holding_child(store_url, practice.key) as child:
            with pytest.raises(StoreBusy, match=rf"`pms-bridge run` \(pid {child.pid} on host "), store.hold("run"):
                pass
            _kill(child, store)
        with store.hold("run"):
            run_id = store.start_run("run", None)
        (latest, killed) = store.list_runs(2)
        assert latest.id == run_id and killed.status == "interrupted"
    finally:
        store.close()


def test_runs_left_running_are_marked_interrupted_by_the_next_holder(store: Store) -> None:
    crashed = store.start_run("run", None)  # no lock held: nothing is marked
    assert store.unfinished_run() is not None and store.unfinished_run().id == crashed
    second = store.start_run("check", None)
    assert {r.id: r.status for r in store.list_runs()} == {crashed: "running", second: "running"}

    with store.hold("run"):
        third = store.start_run("run", None)
        statuses = {r.id: r.status for r in store.list_runs()}
        assert statuses == {crashed: "interrupted", second: "interrupted", third: "running"}
        assert store.unfinished_run().id == third  # a reader during the run: half-updated
        store.finish_run(third, "ok", {})
    assert store.unfinished_run() is None

    with store.hold("run"):
        fourth = store.start_run("run", None)
        store.finish_run(fourth, "interrupted", {"signal": "SIGTERM"})
    last = store.unfinished_run()
    assert last is not None and (last.id, last.status) == (fourth, "interrupted")
    assert {r.id: r.status for r in store.list_runs()}[third] == "ok"  # a finished run is never re-marked


def test_other_practices_runs_are_not_marked(store_url: str, practice: Practice) -> None:
    other = Practice(key=practice.key + "-b", name="Other", timezone="America/Chicago")
    a, b = Store.open(store_url, practice), Store.open(store_url, other)
    try:
        theirs = b.start_run("run", None)
        with a.hold("run"):
            a.start_run("run", None)
        assert b.unfinished_run() is not None and b.unfinished_run().id == theirs
        assert b.unfinished_run().status == "running"
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_practices_sharing_a_postgres_store_do_not_block_each_other(postgres_url: str, practice: Practice) -> None:
    other = Practice(key=practice.key + "-b", name="Other", timezone="America/Chicago")
    a, a2, b = Store.open(postgres_url, practice), Store.open(postgres_url, practice), Store.open(postgres_url, other)
    try:
        busy = rf"practice {practice.key} is busy: `pms-bridge run` \(pid "
        with a.hold("run"), b.hold("run"), pytest.raises(StoreBusy, match=busy), a2.hold("run"):
            pass  # two practices hold at once; the first one's second command is refused
    finally:
        for s in (a, a2, b):
            s.close()
