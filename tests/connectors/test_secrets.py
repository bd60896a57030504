"""API keys: the environment variable named in the config, else the OS keyring (optional)."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.api_client import ApiConfigError
from pms_bridge.connectors.rest import MissingSecret as RestMissingSecret
from pms_bridge.connectors.rest import auth_headers
from pms_bridge.connectors.secrets import KEYRING_SERVICE, MissingSecret, read_secret

DEV = "dev-S3CRET-7f3a"
CUST = "cust-S3CRET-91bc"


class FakeKeyring(types.ModuleType):
    """Stands in for the `keyring` package: a dict of (service, user) -> password."""

    def __init__(self, entries: dict[tuple[str, str], str] | None = None, error: Exception | None = None) -> None:
        super().__init__("keyring")
        self.entries = entries or {}
        self.error = error
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append((service, username))
        if self.error is not None:
            raise self.error
        return self.entries.get((service, username))


InstallKeyring = Callable[..., FakeKeyring]


@pytest.fixture
def fake_keyring(monkeypatch: pytest.MonkeyPatch) -> InstallKeyring:
    def install(entries: dict[tuple[str, str], str] | None = None, error: Exception | None = None) -> FakeKeyring:
        fake = FakeKeyring(entries, error)
        monkeypatch.setitem(sys.modules, "keyring", fake)
        return fake

    return install


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import keyring` fails, as when the optional extra is not installed."""
    monkeypatch.setitem(sys.modules, "keyring", None)


def test_the_environment_variable_comes_first(fake_keyring: InstallKeyring) -> None:
    fake = fake_keyring({(KEYRING_SERVICE, "OD_CUST"): "from-keyring"})
    assert read_secret("OD_CUST", env={"OD_CUST": f"  {CUST}\n"}) == CUST
    assert fake.asked == []  # the keyring is not even asked


@pytest.mark.parametrize("env", [{}, {"OD_CUST": ""}, {"OD_CUST": "   "}], ids=["unset", "empty", "blank"])
def test_unset_variable_falls_back_to_the_keyring(fake_keyring: InstallKeyring, env: dict[str, str]) -> None:
    fake = fake_keyring({("pms-bridge", "OD_CUST"): f"{CUST} "})
    assert read_secret("OD_CUST", env=env) == CUST
    assert fake.asked == [("pms-bridge", "OD_CUST")]  # service "pms-bridge", user = the variable's name


def test_reads_os_environ_by_default(fake_keyring: InstallKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_keyring()
    monkeypatch.setenv("PMS_BRIDGE_TEST_KEY", CUST)
    assert read_secret("PMS_BRIDGE_TEST_KEY") == CUST


def test_neither_says_both_ways_and_names_no_value(fake_keyring: InstallKeyring) -> None:
    fake_keyring({(KEYRING_SERVICE, "OTHER"): DEV})
    with pytest.raises(MissingSecret) as exc:
        read_secret("OD_CUST", env={"OD_DEV": DEV}, setting="[source] customer_key_env")
    message = str(exc.value)
    assert "environment variable OD_CUST (named by [source] customer_key_env) is not set" in message
    assert "no entry for service 'pms-bridge', user 'OD_CUST'" in message
    assert "keyring set pms-bridge OD_CUST" in message
    assert "pip install" not in message  # keyring is installed here
    assert "S3CRET" not in message


def test_keyring_not_installed_says_how_to_install_it(no_keyring: None) -> None:
    with pytest.raises(MissingSecret) as exc:
        read_secret("OPENDENTAL_CUSTOMER_KEY", env={})
    message = str(exc.value)
    assert "environment variable OPENDENTAL_CUSTOMER_KEY" in message
    assert "keyring support is not installed" in message
    assert "pip install 'pms-bridge[keyring]'" in message
    assert "keyring set pms-bridge OPENDENTAL_CUSTOMER_KEY" in message


def test_a_broken_keyring_backend_is_reported_by_type_not_text(fake_keyring: InstallKeyring) -> None:
    class NoKeyringError(RuntimeError):
        pass

    fake_keyring(error=NoKeyringError(f"backend dump: {CUST}"))
    with pytest.raises(MissingSecret) as exc:
        read_secret("OD_CUST", env={})
    assert "could not be read (NoKeyringError)" in str(exc.value)
    assert "S3CRET" not in str(exc.value) and exc.value.__cause__ is None and exc.value.__context__ is None


def test_missing_secret_is_a_config_error_and_rest_reexports_it() -> None:
    assert issubclass(MissingSecret, ApiConfigError)  # exit code 2
    assert RestMissingSecret is MissingSecret


KEYS = {"developer_key_env": "OD_DEV", "customer_key_env": "OD_CUST"}  # the [source] keys naming them


def test_auth_header_from_env_and_keyring(fake_keyring: InstallKeyring) -> None:
    fake_keyring({(KEYRING_SERVICE, "OD_CUST"): CUST})
    spec = load_connector_spec("opendental-api")
    assert spec.rest is not None
    headers = auth_headers(spec.rest, KEYS, {"OD_DEV": DEV})
    assert headers["Authorization"] == f"ODFHIR {DEV}/{CUST}"


def test_auth_header_without_keys_names_the_setting(no_keyring: None) -> None:
    spec = load_connector_spec("opendental-api")
    assert spec.rest is not None
    with pytest.raises(MissingSecret, match=r"OD_CUST \(named by \[source\] customer_key_env\)") as exc:
        auth_headers(spec.rest, KEYS, {"OD_DEV": DEV})
    assert DEV not in str(exc.value)


def test_keyring_is_imported_lazily() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import pms_bridge.connectors.rest, pms_bridge.connectors.secrets;"
        "print('keyring' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
