"""Transport security of the API client: TLS always verified (opt-out only for loopback), a
timeout on every request, and no secret or query string in any exception or log event."""

from __future__ import annotations

import ssl
import traceback
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiError,
    ApiRequestError,
    ApiUnavailable,
    RetryPolicy,
    is_loopback,
)
from pms_bridge.connectors.rest import make_client

BASE = "https://api.example.test/api/v1"
DEV = "dev-S3CRET-7f3a"
CUST = "cust-S3CRET-91bc"
AUTH = f"ODFHIR {DEV}/{CUST}"
PHI = "Smithson"  # a surname in a query string: never in a message or a log event
LEAKS = ("S3CRET", DEV, CUST, AUTH, PHI)


pytestmark = pytest.mark.usefixtures("all_log_levels")  # tests/conftest.py


def no_sleep(_seconds: float) -> None:
    pass


def api(base: str = BASE, **kw: Any) -> ApiClient:
    kw.setdefault("retry", RetryPolicy(attempts=3, initial=0.01, maximum=0.01, jitter=0.0))
    return ApiClient(base, {"Authorization": AUTH, "Content-Type": "application/json"}, sleep=no_sleep, **kw)


def ssl_context(client: ApiClient) -> ssl.SSLContext:
    return client._http._transport._pool._ssl_context  # type: ignore[attr-defined]  # httpx internals


def source(**kw: Any) -> SimpleNamespace:
    """A `[source]` section as make_client reads it (without insecure_local_tls unless given)."""
    values = {"mode": "cloud", "base_url": BASE, "min_request_interval": 0, "timeout": 12.5,
              "developer_key_env": "OD_DEV", "customer_key_env": "OD_CUST"}
    return SimpleNamespace(**{**values, **kw})


ENV = {"OD_DEV": DEV, "OD_CUST": CUST}


# ----------------------------------------------------------------------------- TLS


def test_tls_is_verified_by_default() -> None:
    client = api()
    assert client.verify is True
    assert ssl_context(client).verify_mode == ssl.CERT_REQUIRED and ssl_context(client).check_hostname


def test_make_client_verifies_tls_when_the_config_says_nothing() -> None:
    client = make_client(load_connector_spec("opendental-api"), source(), ENV, sleep=no_sleep)
    assert client.verify is True and ssl_context(client).verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "[::1]"])
def test_verification_can_be_turned_off_for_loopback_only_and_says_so(host: str) -> None:
    with capture_logs() as events:
        client = api(f"https://{host}:30223/api/v1", verify=False)
    assert ssl_context(client).verify_mode == ssl.CERT_NONE
    warnings = [e for e in events if e["event"] == "tls.verification_disabled"]
    assert warnings == [{"event": "tls.verification_disabled", "log_level": "warning",
                         "host": host.strip("[]").lower()}]


@pytest.mark.parametrize("host", [
    "api.opendental.com", "od-server", "10.0.0.5", "192.168.1.20", "[fe80::1]", "0.0.0.0",
    "localhost.example.com", "127.0.0.1.nip.io", "[::ffff:10.0.0.1]",
])
def test_verification_cannot_be_turned_off_for_another_host(host: str) -> None:
    with capture_logs() as events, pytest.raises(ApiConfigError, match="only for a loopback base_url") as exc:
        api(f"https://{host}/api/v1", verify=False)
    assert "insecure_local_tls" in str(exc.value)
    assert not any(e["event"] == "tls.verification_disabled" for e in events)


def test_make_client_passes_insecure_local_tls() -> None:
    spec = load_connector_spec("opendental-api")
    local = make_client(spec, source(base_url="https://127.0.0.1:30223/api/v1", insecure_local_tls=True), ENV)
    assert local.verify is False
    with pytest.raises(ApiConfigError, match="api.opendental.com"):
        make_client(spec, source(base_url="https://api.opendental.com/api/v1", insecure_local_tls=True), ENV)
    assert make_client(spec, source(insecure_local_tls=False), ENV).verify is True


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["localhost", "127.0.0.1", "127.255.255.254", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["", "10.0.0.1", "localhost.evil.test", "128.0.0.1", "::2"]))


# ------------------------------------------------------------------------- timeouts


@respx.mock
def test_every_request_carries_the_configured_timeout() -> None:
    seen: list[dict[str, float | None]] = []
    respx.get(f"{BASE}/patients").mock(
        side_effect=lambda request: (seen.append(request.extensions["timeout"]), httpx.Response(200, json=[]))[1]
    )
    client = make_client(load_connector_spec("opendental-api"), source(), ENV, sleep=no_sleep)
    assert client._http.timeout == httpx.Timeout(12.5)
    client.request("GET", "/patients")
    client.request("GET", "/patients", params={"Offset": 100})
    assert seen == [{"connect": 12.5, "read": 12.5, "write": 12.5, "pool": 12.5}] * 2


@pytest.mark.parametrize("timeout", [None, 0, -1])
def test_a_client_without_a_timeout_is_refused(timeout: float | None) -> None:
    with pytest.raises(ValueError, match="timeout"):
        api(timeout=timeout)


# ------------------------------------------------------- no secrets in errors or logs


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


ERROR_PATHS = {
    "401": ([httpx.Response(401, text=f"Invalid Authorization: {AUTH}")], ApiConfigError),
    "403": ([httpx.Response(403, text=f"{CUST} lacks permission")], ApiConfigError),
    "404": ([httpx.Response(404, text=f"no such endpoint for {CUST}")], ApiConfigError),
    "5xx-exhausted": ([httpx.Response(503, text=f"down for {CUST}")] * 3, ApiUnavailable),
    "429-exhausted": ([httpx.Response(429, headers={"Retry-After": "0"}, text=AUTH)] * 3, ApiUnavailable),
    "transport-exhausted": ([httpx.ConnectError(f"refused; sent {AUTH}")] * 3, ApiUnavailable),
    "timeout-exhausted": ([httpx.ReadTimeout(f"read timed out {CUST}")] * 3, ApiUnavailable),
    "request-error-400": ([httpx.Response(400, text=f"PatNum is required, key {CUST}")], ApiRequestError),
    "request-error-redirects": ([httpx.TooManyRedirects(f"loop with {AUTH}")], ApiRequestError),
    "request-error-decoding": ([httpx.DecodingError(f"bad gzip {CUST}")], ApiRequestError),
}

RETRY_EVENTS = {"5xx-exhausted": 3, "429-exhausted": 3}  # answers retried; transport errors are retried unlogged


@pytest.mark.parametrize("case", list(ERROR_PATHS))
@respx.mock
def test_no_error_path_leaks_the_key_or_the_query(case: str) -> None:
    effects, expected = ERROR_PATHS[case]
    route = respx.route(host="api.example.test").mock(side_effect=list(effects))
    client = api()
    with capture_logs() as events, pytest.raises(ApiError) as info:
        client.request("GET", f"/patients?LName={PHI}", params={"PatNum": 42})
    exc = info.value
    assert type(exc) is expected
    assert route.calls.last.request.headers["Authorization"] == AUTH  # the key was really sent
    assert "GET /patients" in str(exc)

    texts = [repr(client), "".join(traceback.format_exception(exc))]
    for link in chain(exc):
        texts += [str(link), repr(link), *map(repr, link.args)]
    texts += [repr(event) for event in events]
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} leaked in {text!r}"
    assert exc.__cause__ is None and exc.__context__ is None  # no httpx error (and its request) chained on

    assert route.call_count == len(effects)  # every planned answer asked for, none more
    retries = [e for e in events if e["event"] == "http.retry"]
    assert len(retries) == RETRY_EVENTS.get(case, 0)
    assert all(e["path"] == "/patients" for e in retries)  # logged: method + path


def test_the_client_repr_shows_no_headers() -> None:
    client = api()
    assert repr(client) == "ApiClient(host='api.example.test', verify=True, requests=0)"
