"""The API client: pacing, retries with Retry-After, and failure classes."""

from __future__ import annotations

import itertools

import httpx
import pytest
import respx

from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiItemNotFound,
    ApiRequestError,
    ApiUnavailable,
    ApiVersionTooOld,
    RetryPolicy,
)
from pms_bridge.connectors.rest import error_table
from pms_bridge.connectors.spec import load_connector_spec

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
                     retry=RetryPolicy(attempts=attempts, initial=1.0, maximum=30.0, jitter=0.0),
                     errors=error_table(load_connector_spec("opendental-api").rest))


@respx.mock
def test_requests_are_paced_from_start_to_start() -> None:
    clock = FakeClock()
    starts: list[float] = []
    respx.get(f"{BASE}/x").mock(side_effect=lambda r: (starts.append(clock.now), httpx.Response(200, json=[]))[1])
    api = client(clock, interval=5.0)
    for _ in range(4):
        api.request("GET", "/x")
        clock.now += 1.2  # the call and our own work take time too
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [5.0, 5.0, 5.0]
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
    assert clock.sleeps == [1.0, 7.0 + 2.0, 4.0]  # backoff 1, then Retry-After 7 and backoff 2, then backoff 4


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
    with pytest.raises(ApiItemNotFound, match=r"PUT /tasks/42 -> 404 \(no such task\)") as exc:
        client(FakeClock()).request("PUT", "/tasks/42", json={"TaskStatus": "Done"})
    assert exc.value.item == "Task"
    respx.get(f"{BASE}/documents/7").mock(return_value=httpx.Response(404, text=""))
    with pytest.raises(ApiItemNotFound, match="no such item"):  # an id in the path is one item too
        client(FakeClock()).request("GET", "/documents/7")


@pytest.mark.parametrize(("body", "item"), [
    ('"Patient not found."', "Patient"),  # Open Dental's JSON string (apitasks.html)
    ("Appointment not found.", "Appointment"),
    ("Smith not found.", None),  # a word we do not know never reaches a message: it could be a name
])
@respx.mock
def test_a_404_naming_an_item_on_a_list_path_is_that_items_problem(body: str, item: str | None) -> None:
    route = respx.post(f"{BASE}/tasks").mock(return_value=httpx.Response(404, text=body))
    with pytest.raises(ApiItemNotFound) as exc:
        client(FakeClock()).request("POST", "/tasks", json={"KeyNum": 5})
    assert exc.value.item == item and route.call_count == 1
    assert "Smith" not in str(exc.value)
    assert str(exc.value) == f"POST /tasks -> 404 (no such {(item or 'item').lower()})"


@pytest.mark.parametrize("body", [
    '"Resource not found: GET /tasks"',  # what the API answers for a path it does not serve
    "<html><body><h1>404 - File or directory not found.</h1></body></html>",  # a web server's page
    "",
    "Not Found",
    "File or directory not found.",
])
@respx.mock
def test_a_404_naming_no_item_is_a_wrong_base_url(body: str) -> None:
    respx.post(f"{BASE}/tasks").mock(return_value=httpx.Response(404, text=body))
    with pytest.raises(ApiConfigError, match="base_url") as exc:
        client(FakeClock()).request("POST", "/tasks", json={})
    assert not isinstance(exc.value, ApiRequestError)


@pytest.mark.parametrize(("method", "path", "params", "body", "message"), [
    ("GET", "/claims", {"SecDateTEdit": "2026-03-01 00:00:00"}, None,
     ("GET /claims needs Open Dental 23.3.11 or newer (the office's version is older): claims are not read; "
     "upgrade Open Dental or ignore the CLM rules")),
    ("GET", "/insverifies", {}, None, "GET /insverifies needs Open Dental 23.2.23 or newer"),
    ("GET", "/patplans", {"PatNum": "5"}, None, "GET /patplans needs Open Dental 22.4.27 or newer"),
    ("GET", "/refattaches", {}, None, "GET /refattaches needs Open Dental 22.4.27 or newer"),
    ("PUT", "/tasks/9", None, {"TaskStatus": "Done"}, "marking tasks Done in Open Dental needs Open Dental 24.2.10"),
])
@respx.mock
def test_a_400_for_an_old_version_names_the_feature_and_the_version(method, path, params, body, message) -> None:
    route = respx.route(method=method, url__startswith=f"{BASE}{path}").mock(
        return_value=httpx.Response(400, json="This method is not available in this version of Open Dental.")
    )
    with pytest.raises(ApiVersionTooOld) as exc:
        client(FakeClock()).request(method, path, params=params, json=body)
    assert str(exc.value).startswith(message) and route.call_count == 1  # not retried
    assert exc.value.floor is not None and isinstance(exc.value, ApiRequestError)


@respx.mock
def test_version_floors_depend_on_the_parameters_that_need_them() -> None:
    respx.get(f"{BASE}/claims").mock(return_value=httpx.Response(400, text="Upgrade Open Dental to use this."))
    with pytest.raises(ApiVersionTooOld, match=r"^GET /claims -> 400: the office's Open Dental version") as exc:
        client(FakeClock()).request("GET", "/claims", params={"PatNum": "5"})  # per patient: older than the floor
    assert exc.value.floor is None
    respx.put(f"{BASE}/tasks/9").mock(return_value=httpx.Response(400, text="Not supported in your version."))
    with pytest.raises(ApiVersionTooOld) as exc:
        client(FakeClock()).request("PUT", "/tasks/9", json={"Descript": "x"})
    assert exc.value.floor is None  # only TaskStatus needs 24.2.10


@respx.mock
def test_a_plain_400_is_not_a_version_problem_and_the_econnector_still_passes() -> None:
    respx.get(f"{BASE}/insverifies").mock(side_effect=[
        httpx.Response(400, text="VerifyType is invalid."),
        httpx.Response(400, text="The eConnector is not available."),
        httpx.Response(200, json=[]),
    ])
    api = client(FakeClock())
    with pytest.raises(ApiRequestError) as exc:
        api.request("GET", "/insverifies")
    assert not isinstance(exc.value, ApiVersionTooOld)
    assert api.request("GET", "/insverifies").json() == []  # eConnector down: retried, not "too old"
