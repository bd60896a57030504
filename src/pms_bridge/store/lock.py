"""One writing command per practice at a time: the run lock.

SQLite: an OS file lock on ``<store file>.lock`` (filelock; the OS frees it when the holding process
dies, on Windows too), with who holds it in ``<store file>.lock.json`` (a separate file: taking a file
lock may truncate the lock file, and the database itself may be busy when the facts are wanted).
PostgreSQL: a session advisory lock per practice on a connection kept open for the command (the
server frees it when the session ends), with who holds it in the ``run_locks`` table.

A dead holder's lock is therefore free: the next command takes it and overwrites the stale facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import structlog
from filelock import FileLock, Timeout
from sqlalchemy import Engine, delete, func, select

from pms_bridge.store import schema
from pms_bridge.store.errors import Holder, busy, file_failure

log = structlog.get_logger("pms_bridge.store")


def _me(command: str) -> Holder:
    return Holder(pid=os.getpid(), host=socket.gethostname(), command=command, started_at=datetime.now(UTC))


@contextmanager
def run_lock(engine: Engine, practice: str, command: str) -> Iterator[None]:
    """Hold the practice's run lock for the block; :class:`StoreBusy` at once when a live process holds it."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, practice, command):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":  # a private in-memory store: nobody else can write it
        yield
        return
    with _sqlite_lock(Path(database), practice, command):
        yield


# ------------------------------------------------------------------ SQLite


def _lock_file(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def _holder_file(db: Path) -> Path:
    return db.with_name(db.name + ".lock.json")


def _file_lock(db: Path) -> FileLock:
    return FileLock(_lock_file(db), timeout=0, mode=0o600, thread_local=False)


def _read_holder(db: Path) -> Holder | None:
    try:
        data = json.loads(_holder_file(db).read_text(encoding="utf-8"))
        return Holder(pid=int(data["pid"]), host=str(data["host"]), command=str(data["command"]),
                      started_at=datetime.fromisoformat(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):  # gone, or written by hand: the lock still stands
        return None


def sqlite_holder(db: Path) -> Holder | None:
    """Who holds the run lock of this SQLite store, when a live process does."""
    lock = _file_lock(db)
    try:
        lock.acquire()
    except Timeout:
        return _read_holder(db)
    except OSError:
        return None
    lock.release()
    return None


def _write_holder(db: Path, holder: Holder) -> None:
    target = _holder_file(db)
    partial = target.with_name(target.name + ".tmp")
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"pid": holder.pid, "host": holder.host, "command": holder.command,
                   "started_at": holder.started_at.isoformat()}, out)
    os.replace(partial, target)


@contextmanager
def _sqlite_lock(db: Path, practice: str, command: str) -> Iterator[None]:
    lock = _file_lock(db)
    try:
        lock.acquire()
    except Timeout:
        raise busy(practice, _read_holder(db)) from None
    except OSError as exc:
        raise file_failure(exc, _lock_file(db)) from None
    try:
        try:
            _write_holder(db, _me(command))
        except OSError as exc:
            raise file_failure(exc, _holder_file(db)) from None
        log.info("store.locked", practice=practice, command=command)
        yield
    finally:
        with suppress(OSError):
            _holder_file(db).unlink()
        lock.release()


# -------------------------------------------------------------- PostgreSQL


def advisory_key(practice: str) -> int:
    """The practice's advisory lock key: a signed 64-bit number derived from its key."""
    digest = hashlib.sha256(f"pms-bridge run lock {practice}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _postgres_holder(engine: Engine, practice: str) -> Holder | None:
    t = schema.run_locks
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.practice == practice)).first()
    if row is None:  # the holder took the lock an instant ago and has not written its facts yet
        return None
    return Holder(pid=row.pid, host=row.host, command=row.command, started_at=row.started_at)


@contextmanager
def _postgres_lock(engine: Engine, practice: str, command: str) -> Iterator[None]:
    key = advisory_key(practice)
    conn = engine.connect()  # dedicated: the lock lives as long as this session
    try:
        got = conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one()
        conn.commit()
        if not got:
            raise busy(practice, _postgres_holder(engine, practice))
        me = _me(command)
        t = schema.run_locks
        with engine.begin() as write:
            write.execute(delete(t).where(t.c.practice == practice))
            write.execute(t.insert().values(practice=practice, pid=me.pid, host=me.host[:255],
                                            command=me.command[:32], started_at=me.started_at))
        log.info("store.locked", practice=practice, command=command)
        try:
            yield
        finally:
            with suppress(Exception), engine.begin() as write:  # best effort: a stale row is overwritten
                write.execute(delete(t).where(t.c.practice == practice))
    finally:
        # Unlocked before the session closes: a closing session frees its locks only once the server has
        # ended it, a moment after the client moved on. Closing still frees it if the unlock fails.
        with suppress(Exception):
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()
        with suppress(Exception):
            conn.invalidate()
        conn.close()
