"""Open the store's database: SQLite file (owner-only) or a server by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from pms_bridge.errors import ConfigurationProblem
from pms_bridge.private_files import private_dir
from pms_bridge.store.schema import SCHEMA_VERSION, SNAPSHOT_TABLES, metadata, schema_info


# From this schema on every store holds every table; a later schema that adds a table names it here.
FULL_SCHEMA = 2
TABLE_ADDED_IN: dict[str, int] = {}


class StoreError(ConfigurationProblem):
    """The store cannot be opened or is from a newer version."""


def create_private_file(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the owner only."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_engine(url: str) -> Engine:
    url = _normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        create_private_file(Path(parsed.database))
    try:
        engine = create_engine(url, future=True)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the database driver for {parsed.get_backend_name()} is not installed ({exc.name}); "
            "for PostgreSQL: pip install 'pms-bridge[postgres]'"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _relax_not_null(conn: Any, engine: Engine, table: Any, columns: list[str]) -> bool:
    """Let columns the model made optional hold NULL (e.g. the start of a planned appointment).

    Returns True when the table was rebuilt with all of the model's columns.
    """
    if engine.dialect.name == "sqlite":  # SQLite cannot alter a column: rebuild the table, rows kept
        old = f"{table.name}_before_migration"
        for index in inspect(conn).get_indexes(table.name):
            conn.execute(text(f'DROP INDEX "{index["name"]}"'))
        conn.execute(text(f'ALTER TABLE {table.name} RENAME TO "{old}"'))
        table.create(conn)
        kept = ", ".join(f'"{c["name"]}"' for c in inspect(conn).get_columns(old) if c["name"] in table.c)
        conn.execute(text(f'INSERT INTO {table.name} ({kept}) SELECT {kept} FROM "{old}"'))
        conn.execute(text(f'DROP TABLE "{old}"'))
        return True
    for name in columns:
        conn.execute(text(f'ALTER TABLE {table.name} ALTER COLUMN "{name}" DROP NOT NULL'))
    return False


def ensure_schema(engine: Engine) -> None:
    """Create missing tables and add missing columns: the store migrates itself.

    A store written by a newer pms-bridge is refused before anything in it is changed, and so is a
    store that lacks a table it had (a damaged store is not a fresh start: its history would be lost).
    """
    existing = set(inspect(engine).get_table_names())
    if schema_info.name in existing:
        with engine.connect() as conn:
            row = conn.execute(schema_info.select()).first()
        version = row.version if row is not None else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise StoreError(f"this store was written by a newer pms-bridge (schema {version}); upgrade pms-bridge")
        lost = sorted(t for t in metadata.tables if TABLE_ADDED_IN.get(t, FULL_SCHEMA) <= version and t not in existing)
        if lost:
            raise StoreError(
                f"the store lacks table(s) it had ({', '.join(lost)}): it looks damaged. Restore it from a backup, "
                "or move it away to start afresh (task history and dismissals would then be lost)"
            )
    metadata.create_all(engine)
    inspector = inspect(engine)
    snapshot_tables = {t.name for t in SNAPSHOT_TABLES.values()}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            described = {c["name"]: c for c in inspector.get_columns(table.name)}
            existing = set(described)
            if table.name in snapshot_tables:
                # Minimum necessary: a field the model no longer keeps (e.g. patients' phone numbers)
                # is dropped with its data, not left behind in old stores.
                for gone in sorted(existing - {c.name for c in table.columns}):
                    conn.execute(text(f'ALTER TABLE {table.name} DROP COLUMN "{gone}"'))
                relaxed = [c.name for c in table.columns
                           if c.name in described and c.nullable and not described[c.name]["nullable"]]
                if relaxed and _relax_not_null(conn, engine, table, relaxed):
                    existing = {c.name for c in table.columns}
            for column in table.columns:
                if column.name not in existing:
                    if not column.nullable and column.default is None:
                        raise StoreError(f"cannot add required column {table.name}.{column.name} automatically")
                    col_type = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {col_type}'))
        version = conn.execute(schema_info.select()).first()
        if version is None:
            conn.execute(schema_info.insert().values(id=1, version=SCHEMA_VERSION))
        elif version.version < SCHEMA_VERSION:
            conn.execute(schema_info.update().values(version=SCHEMA_VERSION))
