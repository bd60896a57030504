"""Retries under a fault storm: bounded and jittered backoff on top of the pacing, Retry-After honoured up
to an explicit cap, a per-run retry budget, and the values each mode declares in the connector file."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import respx

from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiRequestError,
    ApiUnavailable,
    RetryPolicy,
)
from pms_bridge.connectors.rest import error_table
from pms_bridge.connectors.spec import (
    ConnectorSpecError,
    RestRetry,
    load_connector_spec,
)
from pms_bridge.errors import ErrorKind, kind_of

BASE = "https://api.example.test/api/v1"
SHIPPED = load_connector_spec("opendental-api")


class FakeClock:
    """Time that moves only when the client sleeps, or by ``latency`` per request."""

    def __init__(self, latency: float = 0.0) -> None:
        self.now = 1000.0
        self.latency = latency
        self.sleeps: list[float] = []
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def on_request(self, method: str, path: str) -> None:
        self.starts.append(self.now)
        self.now += self.latency


def client(clock: FakeClock, policy: RetryPolicy, interval: float = 0.0, seed: int = 1) -> ApiClient:
    return ApiClient(BASE, {}, min_interval=interval, clock=clock, sleep=clock.sleep, on_request=clock.on_request,
                     retry=policy, rng=random.Random(seed), errors=error_table(SHIPPED.rest))


def policy(**kw: float) -> RetryPolicy:
    values = {"attempts": 5, "initial": 1.0, "maximum": 8.0, "jitter": 0.5, **kw}
    return RetryPolicy(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the backoff
def test_backoff_doubles_up_to_its_cap_and_is_jittered_below_it() -> None:
    api = client(FakeClock(), policy(initial=1.0, maximum=8.0, jitter=0.5))
    for attempt in range(1, 11):
        ceiling = min(8.0, 2.0 ** (attempt - 1))
        draws = [api.backoff(attempt) for _ in range(300)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in draws), attempt
        assert max(draws) - min(draws) > ceiling * 0.3, attempt  # spread over the range, not one value
    steady = client(FakeClock(), policy(jitter=0.0))
    assert [steady.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_two_clients_that_failed_together_do_not_retry_together() -> None:
    one, two = client(FakeClock(), policy(), seed=1), client(FakeClock(), policy(), seed=2)
    assert [round(one.backoff(n), 6) for n in range(1, 5)] != [round(two.backoff(n), 6) for n in range(1, 5)]


@respx.mock
def test_a_retry_waits_for_the_pacing_slot_then_the_backoff() -> None:
    clock = FakeClock(latency=0.3)
    respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[])])
    client(clock, policy(jitter=0.0), interval=5.0).request("GET", "/x")
    gaps = [b - a for a, b in zip(clock.starts, clock.starts[1:], strict=False)]
    assert gaps == pytest.approx([5.0 + 1.0, 5.0 + 2.0])  # the pacing is the floor; the backoff comes on top


@respx.mock
def test_a_retry_after_within_the_cap_is_honoured() -> None:
    clock = FakeClock(latency=0.3)
    respx.get(f"{BASE}/x").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "20"}),
        httpx.Response(200, json=[]),
    ])
    client(clock, policy(retry_after_max=30.0), interval=5.0).request("GET", "/x")
    gap = clock.starts[1] - clock.starts[0]
    assert 20.0 <= gap <= 20.0 + 0.3 + 1.0  # never sooner than asked, plus at most the first backoff


@respx.mock
def test_a_retry_after_beyond_the_cap_fails_the_request_at_once_as_unreachable() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(503, headers={"Retry-After": "86400"}))
    with pytest.raises(ApiUnavailable, match=r"asked to wait 86400 s .* longer than the 120 s") as exc:
        client(clock, policy(retry_after_max=120.0)).request("GET", "/x")
    assert route.call_count == 1 and clock.sleeps == []  # no night spent waiting
    assert kind_of(exc.value) is ErrorKind.SOURCE and ErrorKind.SOURCE.exit_code == 3
    assert "retry_after_max" in str(exc.value)


@respx.mock
def test_a_request_failing_every_try_takes_bounded_time_in_each_shipped_mode() -> None:
    limits = {"cloud": 80.0, "service": 35.0}  # seconds one dead request may cost, pacing included
    for mode, limit in limits.items():
        settings = SHIPPED.rest.modes[mode]
        clock = FakeClock(latency=0.0)
        api = client(clock, RetryPolicy.from_spec(settings.retry), interval=settings.min_request_interval)
        respx.get(f"{BASE}/{mode}").mock(return_value=httpx.Response(503))
        with pytest.raises(ApiUnavailable, match=f"still failing after {settings.retry.attempts} attempts"):
            api.request("GET", f"/{mode}")
        assert len(clock.starts) == settings.retry.attempts
        assert clock.starts[-1] - clock.starts[0] <= limit, mode


# ---------------------------------------------------------------- the run's retry budget
@respx.mock
def test_the_retry_budget_ends_a_run_that_fails_too_often() -> None:
    clock = FakeClock()
    # Every request fails once, then answers: each needs one retry.
    respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])] * 20)
    api = client(clock, policy(budget=0.5, budget_floor=2))
    for _ in range(5):  # 2 + 0.5 x requests: retries 1..5 fit the budget of requests 1..5
        api.request("GET", "/x")
    with pytest.raises(ApiUnavailable, match=r"^GET /x failed \(503, attempt 1\) and is not retried further: this "
                       "run already retried 5 times for 6 requests, all its retry budget allows") as exc:
        api.request("GET", "/x")
    assert kind_of(exc.value) is ErrorKind.SOURCE
    assert api.requests == 11  # 5 x (failure + retry), then the 6th request's one try


@respx.mock
def test_without_a_budget_retries_are_bounded_per_request_only() -> None:
    respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])] * 30)
    api = client(FakeClock(), policy(budget=None))
    for _ in range(30):
        api.request("GET", "/x")
    assert api.budget.retries == 30


@respx.mock
def test_after_a_request_runs_out_of_retries_the_next_are_tried_once_until_one_succeeds() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503)] * 5 + [httpx.Response(504)]
                                        + [httpx.Response(200, json=[])] + [httpx.Response(503)] * 2
                                        + [httpx.Response(200, json=[])])
    api = client(clock, policy(attempts=5))
    with pytest.raises(ApiUnavailable, match="still failing after 5 attempts"):
        api.request("GET", "/x")
    with pytest.raises(ApiUnavailable, match="right after another request ran out of retries"):
        api.request("GET", "/x")  # one try: the API looks down
    assert route.call_count == 6
    api.request("GET", "/x")  # a success: retries again from here
    assert api.request("GET", "/x").json() == [] and route.call_count == 10


@respx.mock
def test_an_error_answer_shows_the_api_is_up_again() -> None:
    route = respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503)] * 3 + [httpx.Response(400, text="bad")]
                                        + [httpx.Response(503), httpx.Response(200, json=[])])
    api = client(FakeClock(), policy(attempts=3))
    with pytest.raises(ApiUnavailable):
        api.request("GET", "/x")
    with pytest.raises(ApiRequestError):
        api.request("GET", "/x")  # one try, and an answer: the API is up
    assert api.request("GET", "/x").json() == [] and route.call_count == 6  # retried again


@respx.mock
def test_a_post_failing_once_does_not_make_the_api_look_down() -> None:
    respx.post(f"{BASE}/tasks").mock(return_value=httpx.Response(503))
    get = respx.get(f"{BASE}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])
    api = client(FakeClock(), policy())
    with pytest.raises(ApiUnavailable):
        api.request("POST", "/tasks", json={})  # sent once by design: its caller settles it
    assert api.request("GET", "/x").json() == [] and get.call_count == 2


# ---------------------------------------------------------------- per mode, from the connector file
def test_each_mode_declares_its_retries_in_the_connector_file() -> None:
    cloud, service = (RetryPolicy.from_spec(SHIPPED.rest.modes[m].retry) for m in ("cloud", "service"))
    assert cloud == RetryPolicy(attempts=8, initial=1.0, maximum=8.0, jitter=0.5, retry_after_max=120.0,
                                budget=0.5, budget_floor=20)
    assert service == RetryPolicy(attempts=8, initial=0.5, maximum=8.0, jitter=0.5, retry_after_max=30.0,
                                  budget=0.5, budget_floor=20)
    assert SHIPPED.rest.modes["cloud"].min_request_interval == 5.0  # the cloud's floor between tries


def test_a_connector_file_without_retries_gets_bounded_defaults() -> None:
    acme = load_connector_spec(Path(__file__).parent / "acme" / "acme-api.toml")
    assert acme.rest is not None
    retry = acme.rest.modes["cloud"].retry
    assert retry == RestRetry()
    assert retry.attempts <= 10 and retry.backoff_max <= 60 and retry.retry_after_max <= 600 and retry.budget


@pytest.mark.parametrize(("table", "words"), [
    ("backoff = 10.0\nbackoff_max = 2.0\n", "backoff_max (2.0) is below backoff (10.0)"),
    ("jitter = 1.5\n", "jitter"),
    ("retry_after_max = 86400\n", "retry_after_max"),
    ("attemps = 3\n", "attemps"),
])
def test_a_bad_retry_table_names_the_key(tmp_path: Path, table: str, words: str) -> None:
    text = (Path(__file__).parent / "acme" / "acme-api.toml").read_text()
    assert "min_request_interval = 0.0\n" in text
    path = tmp_path / "acme-api.toml"
    path.write_text(text.replace("min_request_interval = 0.0\n",
                                 f"min_request_interval = 0.0\n[rest.modes.cloud.retry]\n{table}", 1))
    with pytest.raises(ConnectorSpecError, match="retry") as exc:
        load_connector_spec(path)
    assert words in str(exc.value)


@pytest.mark.parametrize("mode", ["cloud", "service"])
def test_the_client_of_a_source_retries_as_its_mode_declares(mode: str) -> None:
    from pms_bridge.connectors.rest import make_client

    source = SimpleNamespace(mode=mode, base_url=None, min_request_interval=None, timeout=60.0,
                             developer_key_env="OD_DEV", customer_key_env="OD_CUST")
    api = make_client(SHIPPED, source, {"OD_DEV": "d", "OD_CUST": "c"})
    assert api.retry == RetryPolicy.from_spec(SHIPPED.rest.modes[mode].retry)
    assert api.pacer.interval == SHIPPED.rest.modes[mode].min_request_interval


@pytest.mark.parametrize(("mode", "configured", "expected"), [
    ("cloud", None, 60.0), ("service", None, 20.0), ("service", 45.0, 45.0),
])
def test_a_lost_answer_costs_the_modes_timeout_unless_the_config_sets_one(
    mode: str, configured: float | None, expected: float
) -> None:
    """On the office network a lost answer should not cost the cloud's minute before its retry."""
    from pms_bridge.connectors.rest import make_client

    source = SimpleNamespace(mode=mode, base_url=None, min_request_interval=None, timeout=configured,
                             developer_key_env="OD_DEV", customer_key_env="OD_CUST")
    api = make_client(SHIPPED, source, {"OD_DEV": "d", "OD_CUST": "c"})
    assert api._http.timeout.read == expected
    api.close()
