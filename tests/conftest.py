"""Shared fixtures. Service-backed tests skip when the service is absent,
unless PMS_BRIDGE_REQUIRE_SERVICES=1 (set by .ci/run), which makes them fail."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helpers (odexport)

from pms_bridge.model import Practice  # noqa: E402
from pms_bridge.store import Store  # noqa: E402

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
def postgres_url() -> str:
    reason = _postgres_available()
    if reason is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
        pytest.skip(f"{reason}; set PMS_BRIDGE_TEST_POSTGRES_URL to run these tests")
    return POSTGRES_URL


@pytest.fixture
def practice() -> Practice:
    # A unique key per test keeps tests apart inside a shared PostgreSQL database.
    return Practice(key=f"t-{uuid.uuid4().hex[:12]}", name="Test Dental", timezone="America/Chicago")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'store.sqlite'}"
    return request.getfixturevalue("postgres_url")


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
