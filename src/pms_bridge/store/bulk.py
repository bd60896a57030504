"""Bulk reads and writes of snapshot rows, at the driver: compiled once, values converted once.

SQLAlchemy's executemany re-processes every row's parameters through its compiler (about ten
microseconds a row); a first load writes a million rows, so the statement is compiled once per table
and dialect, each column's own bind processor is applied in one tight loop, and the rows go to the
driver as one executemany. The values stored are exactly the ones SQLAlchemy would store. Reading the
hashes of a chunk's rows likewise skips the compiler's expansion of a 5,000-id IN list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Column, Connection, Date, Table, and_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from pms_bridge.store import errors
from pms_bridge.store.schema import UTCDateTime

_FETCH_BATCH = 10_000  # rows a whole-table read takes from the driver at a time

Processor = Callable[[Any], Any] | None
# From this many rows on, a PostgreSQL upsert goes through COPY and a staging table.
_COPY_FROM = 200


class _Compiled:
    def __init__(self, sql: str, names: list[str], positional: bool, processors: dict[str, Processor]) -> None:
        self.sql, self.names, self.positional = sql, names, positional
        self.processors = [processors.get(name) for name in names]

    def params(self, rows: Sequence[dict[str, Any]], enums: frozenset[str] = frozenset()) -> list[Any]:
        """Each row's values in the statement's order, as the driver takes them. ``enums``: columns whose
        values may be Enum members (stored as their value)."""
        steps = [_step(proc, name in enums) for name, proc in zip(self.names, self.processors, strict=True)]
        if all(step is None for step in steps):
            values = [[row[name] for name in self.names] for row in rows]
        else:
            pairs = list(zip(self.names, steps, strict=True))
            values = [[row[name] if step is None else step(row[name]) for name, step in pairs] for row in rows]
        if self.positional:
            return [tuple(v) for v in values]
        return [dict(zip(self.names, v, strict=True)) for v in values]


def _step(processor: Processor, enum: bool) -> Processor:
    if not enum:
        return processor
    if processor is None:
        return _enum_value
    return lambda value: processor(_enum_value(value))


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """UTCDateTime then SQLite's DATETIME processor in one step: the same text ("2026-03-02 14:00:00.000000")."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _processor(column: Column[Any], dialect: Dialect) -> Processor:
    """The column type's bind processor; on SQLite, times and dates are formatted in one C call instead of
    two Python steps (a million rows take seconds less), to the very same text."""
    if dialect.name == "sqlite":
        if isinstance(column.type, UTCDateTime):
            return _sqlite_utc_text
        if type(column.type) is Date:
            return _sqlite_date_text
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _compile(stmt: Any, table: Table, dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    processors = {}
    for name in names:
        column = table.c[name.removeprefix("key_")] if name.startswith("key_") else table.c[name]
        processors[name] = _processor(column, dialect)
    return _Compiled(compiled.string, names, compiled.positional, processors)


class Bulk:
    """Upserts of whole rows, updates of one column by key, and the hashes of rows by id, for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._postgres = dialect.name == "postgresql"
        self._insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        self._cache: dict[tuple[str, str, tuple[str, ...]], _Compiled] = {}

    def upsert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
               keep: Sequence[str] = (), enums: frozenset[str] = frozenset()) -> None:
        """Insert ``rows`` (dicts with every column), updating existing keys (all columns but ``keys``, ``keep``).
        ``enums``: the columns that hold Enum members (their values are stored)."""
        if not rows:
            return
        cache_key = ("upsert", table.name, (*keys, "|", *keep))
        compiled = self._cache.get(cache_key)
        if compiled is None:
            stmt = self._insert(table)
            updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys and c.name not in keep}
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
            compiled = self._cache[cache_key] = _compile(stmt, table, self.dialect)
        if self._postgres and len(rows) >= _COPY_FROM:
            self._copy_upsert(conn, table, rows, keys, keep, compiled, enums)
        else:
            conn.exec_driver_sql(compiled.sql, compiled.params(rows, enums))

    def _copy_upsert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                     keep: Sequence[str], compiled: _Compiled, enums: frozenset[str]) -> None:
        """PostgreSQL: COPY the rows into a session's staging table, then one INSERT ... SELECT upserts them
        (a statement per row costs a round trip each, even pipelined)."""
        stage = f"pmsb_stage_{table.name}"
        names = compiled.names
        columns = ", ".join(f'"{name}"' for name in names)
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in names if c not in keys and c not in keep)
        last = {tuple(row[k] for k in keys): row for row in rows}  # one row per key (the last), as executemany left it
        try:
            conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS")
            conn.exec_driver_sql(f"TRUNCATE {stage}")
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for values in compiled.params(list(last.values()), enums):
                    copy.write_row([values[name] for name in names])
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage} "
                                 f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
        except Exception as exc:
            failure = errors.named(exc, conn.engine.url)  # the COPY runs at the driver, past the engine's hook
            if failure is None:
                raise
            raise failure from exc

    def set_column(self, conn: Connection, table: Table, column: str, rows: Sequence[dict[str, Any]],
                   keys: Sequence[str]) -> None:
        """``UPDATE table SET column = :column WHERE keys = :keys`` for each row (dicts with keys and column)."""
        if not rows:
            return
        cache_key = ("set", table.name, (column, *keys))
        compiled = self._cache.get(cache_key)
        if compiled is None:
            # The key binds are named key_<column>: a SET and a WHERE on one name would share a bind.
            where = and_(*(table.c[k] == bindparam(f"key_{k}") for k in keys))
            stmt = table.update().where(where).values({column: bindparam(column)})
            compiled = self._cache[cache_key] = _compile(stmt, table, self.dialect)
        renamed = [{column: r[column], **{f"key_{k}": r[k] for k in keys}} for r in rows]
        conn.exec_driver_sql(compiled.sql, compiled.params(renamed))

    def every(self, conn: Connection, table: Table, practice: str, columns: str) -> Iterator[Any]:
        """``columns`` of every stored row of the practice in ``table``, a batch of rows at a time (a whole
        table's rows are never held at once)."""
        mark = "%s" if self._postgres else "?"
        result = conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} WHERE practice = {mark}", (practice,))
        try:
            while rows := result.cursor.fetchmany(_FETCH_BATCH):
                yield from rows
        finally:
            result.close()

    def hashes(self, conn: Connection, table: Table, practice: str, source_ids: Sequence[str],
               columns: str = "source_id, source_hash, row_hash") -> list[Any]:
        """(source_id, source_hash, row_hash) of the practice's stored rows among ``source_ids``
        (``columns``: fewer of them)."""
        if not source_ids:
            return []
        select = f"SELECT {columns} FROM {table.name} WHERE practice = "
        if self._postgres:
            return _fetch(conn, select + "%s AND source_id = ANY(%s)", (practice, list(source_ids)))
        marks = ",".join("?" * len(source_ids))
        return _fetch(conn, select + f"? AND source_id IN ({marks})", (practice, *source_ids))


def _fetch(conn: Connection, sql: str, params: Any) -> list[Any]:
    """The rows as the driver gives them (nothing to process), the statement run through the engine so
    that its failures are named (store/errors.py)."""
    result = conn.exec_driver_sql(sql, params)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
