"""The PostgreSQL tests clean up: a session works in a database of its own, dropped at its end, and the
databases of sessions killed before their teardown are dropped by a later session."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def root(request: pytest.FixtureRequest) -> ModuleType:
    """tests/conftest.py as pytest loaded it (``import conftest`` may find another folder's)."""
    path = str(Path(__file__).with_name("conftest.py"))
    return next(p for p in request.config.pluginmanager.get_plugins() if getattr(p, "__file__", None) == path)


def _admin(root: ModuleType) -> psycopg.Connection:
    url = make_url(root.POSTGRES_URL)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                           dbname=url.database, autocommit=True)


def _databases(conn: psycopg.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_the_session_has_a_database_of_its_own(postgres_url: str, root: ModuleType) -> None:
    ours = make_url(postgres_url).database
    assert ours != make_url(root.POSTGRES_URL).database
    assert ours.startswith("pmsb_test_")
    with _admin(root) as conn:
        assert ours in _databases(conn)


def test_a_killed_sessions_database_is_dropped_later_a_live_one_is_kept(postgres_url: str, root: ModuleType) -> None:
    stale = f"pmsb_test_{int(time.time()) - 7 * 3600}_{uuid.uuid4().hex[:8]}"
    recent = f"pmsb_test_{int(time.time()) - 60}_{uuid.uuid4().hex[:8]}"
    with _admin(root) as conn:
        for name in (stale, recent):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            root._drop_stale_session_databases(conn)
            left = _databases(conn)
            assert stale not in left
            assert recent in left  # another session may still be starting up in it
            assert make_url(postgres_url).database in left  # this session's own (recent)
        finally:
            for name in (stale, recent):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
