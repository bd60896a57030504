"""The API client: pacing, retries with Retry-After, and failure classes."""

from __future__ import annotations

import httpx
import pytest
import respx

from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiRequestError,
    ApiUnavailable,
    RetryPolicy,
)

BASE = "https://api.example.test/api/v1"
SECRET = "ODFHIR dev-SECRET/cust-SECRET"


class FakeClock:
    """Time that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(clock: FakeClock, interval: float = 0.0, attempts: int = 4) -> ApiClient:
    return ApiClient(BASE, {"Authorization": SECRET}, min_interval=interval, clock=clock, sleep=clock.sleep,
                     retry=RetryPolicy(attempts=attempts, initial=1.0, maximum=30.0, jitter=0.0))


@respx.mock
def test_requests_are_paced_from_start_to_start() -> None:
    clock = FakeClock()
    starts: list[float] = []
    respx.get(f"{BASE}/x").mock(side_effect=lambda r: (starts.append(clock.now), httpx.Response(200, json=[]))[1])
    api = client(clock, interval=5.0)
    for _ in range(4):
        api.request("GET", "/x")
        clock.now += 1.2  # the call and our own work take time too
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [5.0, 5.0, 5.0]
    assert api.requests == 4


@respx.mock
def test_transient_failures_are_retried_with_backoff_and_retry_after() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/x").mock(side_effect=[
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=[{"a": 1}]),
    ])
    api = client(clock)
    assert api.request("GET", "/x").json() == [{"a": 1}]
    assert route.call_count == 4
    assert clock.sleeps == [1.0, 7.0, 4.0]  # backoff 1, then Retry-After 7, then backoff 4


@respx.mock
def test_econnector_down_is_transient() -> None:
    clock = FakeClock()
    respx.get(f"{BASE}/x").mock(side_effect=[
        httpx.Response(400, text="The eConnector is not running at the office."),
        httpx.Response(200, json=[]),
    ])
    assert client(clock).request("GET", "/x").json() == []


@respx.mock
def test_still_failing_after_retries_is_source_unavailable() -> None:
    clock = FakeClock()
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(504))
    with pytest.raises(ApiUnavailable, match="still failing after 4 attempts") as exc:
        client(clock).request("GET", "/x")
    assert "SECRET" not in str(exc.value)


@pytest.mark.parametrize(("status", "words"), [(401, "check the developer and customer keys"), (404, "base_url"),
                                                (403, "permission"), (410, "upgrade")])
@respx.mock
def test_config_failures_fail_fast_without_the_key(status: int, words: str) -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(status, text="Invalid key cust-SECRET"))
    with pytest.raises(ApiConfigError, match=words) as exc:
        client(clock).request("GET", "/x")
    assert route.call_count == 1 and "SECRET" not in str(exc.value)


@respx.mock
def test_other_client_errors_are_request_errors() -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(400, text="PatNum is required."))
    with pytest.raises(ApiRequestError, match="GET /x -> 400"):
        client(FakeClock()).request("GET", "/x")


@respx.mock
def test_a_missing_item_is_a_request_error_not_a_config_error() -> None:
    respx.put(f"{BASE}/tasks/42").mock(return_value=httpx.Response(404, text="Task not found"))
    with pytest.raises(ApiRequestError, match="no such item"):
        client(FakeClock()).request("PUT", "/tasks/42", json={"TaskStatus": "Done"})
