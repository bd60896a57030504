"""Every ordinary store failure, named: what the user must fix (exit 2) or what cannot be reached (exit 3).

Database errors are translated in one place, an engine ``handle_error`` hook (:func:`install`), so no
Store method carries its own try/except. Messages name the store (file path, or server and database
without the password) and what to do; the database's own message is never repeated (it can quote
row values).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

from pms_bridge.errors import ConfigurationProblem, SourceUnreachable

log = structlog.get_logger("pms_bridge.store")

# How long a SQLite connection waits for another process's write to finish before it gives up.
busy_timeout_s = 30.0


class StoreError(ConfigurationProblem):
    """The store cannot be used until the user fixes something: its path, access, disk, version or damage."""


class StoreUnreachable(SourceUnreachable):
    """The store's server does not answer, or its disk failed (exit code 3)."""


class StoreBusy(SourceUnreachable):
    """Another live process holds the practice's run lock, or the database itself (exit code 3)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a practice's run lock: ids and times only."""

    pid: int
    host: str
    command: str
    started_at: datetime  # aware, UTC

    def describe(self) -> str:
        when = self.started_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"`pms-bridge {self.command}` (pid {self.pid} on host {self.host}) started {when}"


def busy(practice: str, holder: Holder | None) -> StoreBusy:
    who = holder.describe() if holder is not None else "another pms-bridge process"
    return StoreBusy(f"practice {practice} is busy: {who}; try again when it has finished")


def describe_url(url: URL) -> str:
    """The store as the user named it, without a password."""
    if url.get_backend_name() == "sqlite":
        return f"the store file {url.database}"
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return f"the store database {url.database or '?'} on {where}"


# SQLite's primary result codes (sqlite3 exceptions carry them as sqlite_errorcode since Python 3.11).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


def _sqlite(exc: BaseException, url: URL) -> Exception | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    code &= 0xFF  # extended codes (SQLITE_IOERR_WRITE ...) share their primary code's low byte
    store = describe_url(url)
    path = Path(url.database or "")
    if code == _SQLITE_FULL:
        # Exit 2, not 3: nothing will change by waiting; the user must free space or move the store.
        return StoreError(f"the disk holding {store} is full: free space on it (or move the store), then run again")
    if code in (_SQLITE_READONLY, _SQLITE_PERM):
        return StoreError(f"{store} cannot be written (a read-only file, folder or disk): give the account that "
                          "runs pms-bridge write access to it and its folder")
    if code == _SQLITE_CANTOPEN:
        if path.is_dir():
            return StoreError(f"{store} is a folder, not a file: set [store] path to a file name inside it")
        return StoreError(f"{store} cannot be opened: check that its folder exists and that the account that runs "
                          "pms-bridge may read and write it")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreError(f"{store} is damaged or not a pms-bridge store (cut short, or another kind of file): "
                          "restore it from a backup, or move it away to start afresh (task history and "
                          "dismissals would then be lost)")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreBusy(f"{store} is locked by another process (waited {busy_timeout_s:g} s){holder_note(url)}; "
                         "try again when it has finished")
    if code == _SQLITE_IOERR:
        return StoreUnreachable(f"{store} could not be read or written (a disk or network share error): check the "
                                "disk or share that holds it, then run again")
    return None


def holder_note(url: URL) -> str:
    """', held by ...' when a pms-bridge run holds this SQLite store; empty otherwise."""
    # Imported here: the lock module imports this one.
    from pms_bridge.store.lock import sqlite_holder

    holder = sqlite_holder(Path(url.database or ""))
    return f", held by {holder.describe()}" if holder is not None else ""


# PostgreSQL SQLSTATEs by what the user does about them.
_PG_FIX = {
    "28000": "the server refused the login: check the user and password in [store] url (or PGPASSWORD)",
    "28P01": "the server refused the login: check the user and password in [store] url (or PGPASSWORD)",
    "3D000": "the database does not exist on the server: create it, or fix the name in [store] url",
    "42501": "the database user lacks a permission pms-bridge needs: grant it the rights on that database",
    "53100": "the server's disk is full: free space on it, then run again",
    "25006": "the server only allows reading (a read-only replica?): point [store] url at the primary",
}
_PG_WAIT = {"53300", "57P01", "57P02", "57P03"}  # too many connections, shutting down, starting up
_PG_LOCKED = {"55P03", "40P01"}  # lock not available, deadlock


def _postgres(exc: BaseException, url: URL) -> Exception | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the driver is there when a PostgreSQL store is used
        return None
    if not isinstance(exc, psycopg.Error):
        return None
    store = describe_url(url)
    state = getattr(exc, "sqlstate", None) or ""
    text = str(exc).lower()
    if not state:  # a refused connection carries the server's reason in its text only
        if "password authentication failed" in text or "no password supplied" in text:
            state = "28P01"
        elif "does not exist" in text and "database" in text:
            state = "3D000"
    if state in _PG_FIX:
        return StoreError(f"{store}: {_PG_FIX[state]}")
    if state in _PG_LOCKED:
        return StoreBusy(f"{store} is locked by another session; try again when it has finished")
    if state in _PG_WAIT or state.startswith("08") or (not state and isinstance(exc, psycopg.OperationalError)):
        return StoreUnreachable(f"{store} does not answer or refuses connections for now: check that the server "
                                "is running and reachable from this machine, then run again")
    return None


def named(exc: BaseException, url: URL) -> Exception | None:
    """The named failure for a database driver's error; None: not an ordinary failure (a bug)."""
    backend = url.get_backend_name()
    return _sqlite(exc, url) if backend == "sqlite" else _postgres(exc, url) if backend == "postgresql" else None


def install(engine: Engine) -> None:
    """Translate the engine's ordinary failures (connect, execute, commit) into named ones."""

    @event.listens_for(engine, "handle_error")
    def _translate(context: Any) -> None:
        original = context.original_exception
        failure = named(original, engine.url)
        if failure is not None:
            log.warning("store.failed", error=type(failure).__name__, driver_error=type(original).__name__,
                        code=getattr(original, "sqlite_errorname", None) or getattr(original, "sqlstate", None))
            raise failure from original


def file_failure(exc: OSError, path: Path) -> StoreError:
    """A store file that cannot be created or secured, named by what the user fixes."""
    shown = str(path)
    store = f"the store file {shown}" if len(shown) <= 200 else (
        f"the store file named in [store] ({len(shown):,} characters)")
    if exc.errno == errno.ENAMETOOLONG:
        return StoreError(f"{store}: the name is too long for the file system; set [store] path to a shorter one")
    if exc.errno == errno.ELOOP:
        return StoreError(f"{store} runs into a loop of symbolic links: fix [store] path")
    if exc.errno == errno.ENOSPC:
        return StoreError(f"the disk holding {store} is full: free space on it (or move the store), then run again")
    if exc.errno == errno.EISDIR or _is_dir(path):
        return StoreError(f"{store} is a folder, not a file: set [store] path to a file name inside it")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"{store} cannot be written (a read-only file, folder or disk): give the account that "
                          "runs pms-bridge write access to it and its folder")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return StoreError(f"{store} lies under a file, not a folder (or under a broken or looping link): "
                          "fix [store] path")
    return StoreError(f"{store} cannot be created ({errno.errorcode.get(exc.errno or 0, 'error')}): check its "
                      "folder and the disk")


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False
