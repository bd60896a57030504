"""Open the store's database: SQLite file (owner-only) or a server by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from pms_bridge.private_files import private_dir
from pms_bridge.store import errors
from pms_bridge.store.errors import StoreError, file_failure
from pms_bridge.store.migrations import ensure_schema

__all__ = ["StoreError", "create_private_file", "ensure_schema", "open_engine", "sqlite_url"]

# The databases a store can live in (any driver SQLAlchemy has for them; psycopg by default).
_BACKENDS = ("sqlite", "postgresql", "postgres")


def create_private_file(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the owner only."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("the [store] url is not a database URL: write sqlite:///PATH or "
                         "postgresql://USER@HOST/DATABASE (or use [store] path)") from None
    if parsed.drivername.split("+")[0] not in _BACKENDS:
        raise StoreError(f"the [store] url scheme {parsed.drivername!r} is not one pms-bridge stores in: use "
                         "postgresql://USER@HOST/DATABASE, or [store] path for a SQLite file")
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Per connection, nothing written: the journal mode is set once the store's version is known.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(errors.busy_timeout_s * 1000)}")
    cursor.close()


def _prepare_new_sqlite(path: Path) -> None:
    """A new store file is created owner-only; an existing one is not touched before its version is read."""
    try:
        if path.is_dir():
            raise StoreError(f"the store file {path} is a folder, not a file: "
                             "set [store] path to a file name inside it")
        if path.exists():
            return
        create_private_file(path)
    except OSError as exc:  # a name too long, a loop of links, a folder we may not look into, ...
        raise file_failure(exc, path) from None


def open_engine(url: str) -> Engine:
    parsed = _parse(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database not in (None, "", ":memory:"):
        _prepare_new_sqlite(Path(parsed.database))
    try:
        engine = create_engine(parsed, future=True)
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise StoreError(
            f"the database driver for {parsed.get_backend_name()} is not installed ({getattr(exc, 'name', exc)}); "
            "for PostgreSQL: pip install 'pms-bridge[postgres]'"
        ) from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    errors.install(engine)
    return engine
