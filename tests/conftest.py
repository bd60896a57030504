"""Shared fixtures. Service-backed tests skip when the service is absent,
unless PMS_BRIDGE_REQUIRE_SERVICES=1 (set by .ci/run), which makes them fail.

The suite is hermetic: nothing it writes lands in the checkout. Hypothesis keeps its example
database and caches in a temporary folder (removed at exit); screenshots go to the `artifacts`
folder, a temporary one unless PMS_BRIDGE_TEST_ARTIFACTS names a folder to keep them in
(.ci/run sets it to test-artifacts/)."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helpers (odexport)

from pms_bridge.model import Practice  # noqa: E402
from postgres_rows import delete_practice_rows  # noqa: E402
from pms_bridge.store import Store  # noqa: E402

# Before any test imports hypothesis' database: its storage (examples, constants cache) in a temporary
# folder instead of .hypothesis/ in the checkout.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="pms-bridge-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", _HYPOTHESIS_HOME)
try:
    from hypothesis import settings as _hypothesis_settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    set_hypothesis_home_dir(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"])
    _hypothesis_settings.register_profile(
        "pms-bridge",
        database=DirectoryBasedExampleDatabase(os.path.join(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"], "examples")),
    )
    _hypothesis_settings.load_profile("pms-bridge")

# No test reaches the internet: a host name other than loopback or a reserved test name (RFC 6761:
# .test, .invalid, .example, .localhost) is not resolved, and the test that asked fails.
_OFFLINE_SUFFIXES = (".test", ".invalid", ".example", ".localhost", "localhost")
_real_getaddrinfo = socket.getaddrinfo
_public_lookups: list[str] = []


def _offline_getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name.lower().rstrip(".").endswith(_OFFLINE_SUFFIXES):
        return _real_getaddrinfo(host, *args, **kwargs)
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        _public_lookups.append(name)
        raise socket.gaierror(socket.EAI_NONAME, f"tests run offline: {name} is not resolved") from None
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _offline_getaddrinfo


@pytest.fixture(autouse=True)
def _no_public_host_lookups() -> Iterator[None]:
    _public_lookups.clear()
    yield
    if _public_lookups:
        names = sorted(set(_public_lookups))
        _public_lookups.clear()
        pytest.fail(f"the test looked up {names}: serve it with respx or use a .test host")


POSTGRES_URL = os.environ.get("PMS_BRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("PMS_BRIDGE_REQUIRE_SERVICES") == "1"


def _postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'pms-bridge[postgres]')"
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    try:
        conn = psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password,
            dbname=url.database, connect_timeout=3,
        )
        conn.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = _postgres_available()
    if reason is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
        pytest.skip(f"{reason}; set PMS_BRIDGE_TEST_POSTGRES_URL to run these tests")
    yield from _session_database(POSTGRES_URL)


_SESSION_DB_PREFIX = "pmsb_test_"
_SESSION_DB_STALE_SECONDS = 6 * 3600


def _session_database(url: str) -> Iterator[str]:
    """A database of the session's own on the server, dropped at the end: tables a test session creates (and
    the schema version of the code under test) never meet another session's. A server that refuses CREATE
    DATABASE leaves the shared database, whose rows the store fixtures delete per practice."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"{_SESSION_DB_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}"
    params = {"host": server.host, "port": server.port or 5432, "user": server.username,
              "password": server.password, "dbname": server.database, "autocommit": True}
    try:
        with psycopg.connect(**params) as conn:
            _drop_stale_session_databases(conn)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        yield url
        return
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**params) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _drop_stale_session_databases(conn) -> None:  # noqa: ANN001 - a psycopg connection
    """Databases of sessions that were killed before their teardown, once nobody uses them any more."""
    from psycopg import sql

    rows = conn.execute(
        "SELECT datname FROM pg_database d WHERE datname LIKE %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)", (_SESSION_DB_PREFIX + "%",)).fetchall()
    for (name,) in rows:
        started = name.removeprefix(_SESSION_DB_PREFIX).split("_")[0]
        if started.isdigit() and int(started) < time.time() - _SESSION_DB_STALE_SECONDS:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A database of the test's own on the session's PostgreSQL server (a group's shared store), dropped after."""
    yield from _session_database(postgres_url)


RABBITMQ_URL = os.environ.get("PMS_BRIDGE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PMS_BRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _broker(url: str, what: str, env: str) -> str:
    """``url`` when the broker answers; otherwise skip (or fail under PMS_BRIDGE_REQUIRE_SERVICES=1) with the reason."""
    try:
        from kombu import Connection
    except ImportError:
        reason = "Celery is not installed (pip install -e '.[test]')"
    else:
        try:
            with Connection(url, connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
            return url
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            reason = f"{what} not reachable at {url.split('@')[-1]}: {type(exc).__name__}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(f"{reason}; set {env} to run these tests")


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    return _broker(RABBITMQ_URL, "RabbitMQ", "PMS_BRIDGE_TEST_RABBITMQ_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _broker(REDIS_URL, "Redis", "PMS_BRIDGE_TEST_REDIS_URL")


MARIADB_URL = os.environ.get("PMS_BRIDGE_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")


def _mariadb_connect(url: str, database: str | None = None):  # noqa: ANN202 - a pymysql connection
    from fakes.office_db import connect

    return connect(url, database=database, autocommit=True)


def _mariadb_available() -> str | None:
    """None when an account that may create databases and users answers, else the reason."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "PyMySQL is not installed (pip install -e '.[test]')"
    from sqlalchemy.engine import make_url

    try:
        _mariadb_connect(MARIADB_URL).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        shown = make_url(MARIADB_URL).render_as_string(hide_password=True)
        return f"MariaDB/MySQL not reachable at {shown}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """An administrator's URL (mysql://...) on a MariaDB/MySQL server, with a database of this session's own,
    dropped at the end. Tests create the office's tables and their own accounts in it."""
    reason = _mariadb_available()
    if reason is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
        pytest.skip(f"{reason}; set PMS_BRIDGE_TEST_MARIADB_URL to run these tests")
    from sqlalchemy.engine import make_url

    name = f"{_SESSION_DB_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:8]}"
    conn = _mariadb_connect(MARIADB_URL)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (_SESSION_DB_PREFIX + "%",))
            for (stale,) in cur.fetchall():  # sessions killed before their teardown
                started = stale.removeprefix(_SESSION_DB_PREFIX).split("_")[0]
                if started.isdigit() and int(started) < time.time() - _SESSION_DB_STALE_SECONDS:
                    cur.execute(f"DROP DATABASE IF EXISTS `{stale}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        conn = _mariadb_connect(MARIADB_URL)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests leave files for a human (screenshots, PDFs): PMS_BRIDGE_TEST_ARTIFACTS (relative to
    the repository) when set, else a temporary folder under pytest's basetemp."""
    keep = os.environ.get("PMS_BRIDGE_TEST_ARTIFACTS")
    if keep:
        folder = Path(__file__).resolve().parents[1] / keep
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("test-artifacts")


@pytest.fixture
def practice() -> Practice:
    # A unique key per test keeps tests apart inside a shared PostgreSQL database.
    return Practice(key=f"t-{uuid.uuid4().hex[:12]}", name="Test Dental", timezone="America/Chicago")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, practice: Practice) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'store.sqlite'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    delete_practice_rows(url, practice.key)  # the test's unique practice key: its rows only


@pytest.fixture
def store(store_url: str, practice: Practice) -> Iterator[Store]:
    s = Store.open(store_url, practice)
    yield s
    s.close()


CONFIG_TEMPLATE = """\
[practice]
name = "Test Dental"
key = "{key}"
timezone = "America/Chicago"

[source]
connector = "csv"
mapping = "{mapping}"
path = "{path}"

[store]
{store}
"""


@pytest.fixture
def write_config(tmp_path: Path, practice: Practice):  # noqa: ANN201
    """Write a config for an export folder; returns its path."""

    def write(export: Path, mapping: str = "opendental", store_url: str | None = None, extra: str = "") -> Path:
        store_line = f'url = "{store_url}"' if store_url else 'path = "state/store.sqlite"'
        text = CONFIG_TEMPLATE.format(key=practice.key, mapping=mapping, path=export.as_posix(), store=store_line)
        path = tmp_path / "practice.toml"
        path.write_text(text + extra, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample practice (150 patients, seed 7) as Open Dental table exports, shared: never change it."""
    from pms_bridge.cli.demo import DEMO_AS_OF
    from pms_bridge.sample import generate_practice

    folder = tmp_path_factory.mktemp("od-sample") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=7, patients=150)
    return folder


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API keys the fake Open Dental accepts, in the variables the test configs name."""
    monkeypatch.setenv("OD_DEV", "dev-key")
    monkeypatch.setenv("OD_CUST", "cust-key")


@pytest.fixture
def all_log_levels() -> Iterator[None]:
    """Let info events through whatever an earlier test configured, so capture_logs sees them
    (use with ``pytestmark = pytest.mark.usefixtures("all_log_levels")``)."""
    import logging

    import structlog

    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(**old)


@pytest.fixture
def office_db(mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The fake office's Open Dental database (tests/fakes/office_db.py) in the session's MariaDB database,
    empty until a test loads a FakeOpenDental into it; OD_DB_PASSWORD holds its SELECT-only account's
    password (the variable odroutes' "db" configs name). Its accounts and tables are dropped at the end."""
    from fakes.office_db import OfficeDatabase

    office = OfficeDatabase(mariadb_url)
    try:
        monkeypatch.setenv("OD_DB_PASSWORD", office.reader().password)
        yield office
    finally:
        office.close()
