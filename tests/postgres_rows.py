"""Removing what a test wrote to a shared PostgreSQL database (a module of its own: ``from conftest import``
may find another folder's conftest)."""

from __future__ import annotations

from sqlalchemy import create_engine


def delete_practice_rows(url: str, key: str) -> None:
    """Remove what a test wrote to a shared PostgreSQL database: every row of practice `key` and of
    the practices named after it (`key-b` ...), in every pms-bridge table the database has."""
    from sqlalchemy import delete, inspect, or_
    from sqlalchemy.engine import make_url

    from pms_bridge.store.schema import metadata

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        existing = set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # a connection a test left open
            for table in reversed(metadata.sorted_tables):
                column = table.c.get("practice") if table.name != "practices" else table.c.get("key")
                if table.name in existing and column is not None:
                    conn.execute(delete(table).where(or_(column == key, column.like(f"{key}-%"))))
    finally:
        engine.dispose()
