"""The HTTP client every REST connector and sink uses: pacing, retries that
honour Retry-After with a per-call policy (idempotent methods are retried on
transient failures, a POST is sent once: its caller settles a lost answer),
and the connector's error table (http_errors) that sorts failures into "fix
the config", "try again later", "one bad item" and "version too old".

Retries are bounded three ways, per the connector mode's ``retry`` table: a
request's attempts, each wait (the pacing slot or a Retry-After up to
``retry_after_max``, plus a jittered backoff up to ``backoff_max``), and the
run's retry budget. An API that fails past those bounds fails the request
with ApiUnavailable (exit code 3: the next run tries again) instead of
stretching a nightly run without end.

Nothing here logs or raises with credentials or PHI: errors and log events
name the method, the path (without any query string) and the status, never
headers, parameters, bodies or full URLs. TLS certificates are always
verified, except for a loopback base URL when the config explicitly says so.
Every request has a timeout.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception

from pms_bridge.connectors.http_errors import (
    ApiConfigError,
    ApiError,
    ApiItemNotFound,
    ApiMalformedAnswer,
    ApiRequestError,
    ApiUnavailable,
    ApiVersionTooOld,
    ErrorTable,
    TransientHTTPError,
)
from pms_bridge.connectors.spec import RestRetry

log = structlog.get_logger("pms_bridge.http")


IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
__all__ = [
    "ApiClient", "ApiConfigError", "ApiError", "ApiItemNotFound", "ApiMalformedAnswer", "ApiRequestError", "ApiUnavailable",
    "ApiVersionTooOld", "ErrorTable", "Pacer", "RetryPolicy", "TransientHTTPError", "is_loopback",
]

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _where(path: str) -> str:
    """The path as messages and logs show it: never a query string (it may carry ids or filters)."""
    return path.split("?", 1)[0].split("#", 1)[0]


def _retry_after(response: httpx.Response, now: Callable[[], float]) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class Pacer:
    """Keeps request starts at least ``interval`` seconds apart (per customer key)."""

    interval: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, repr=False)

    def remaining(self) -> float:
        """Seconds until the next request may start."""
        if self._last is None or self.interval <= 0:
            return 0.0
        return max(0.0, self._last + self.interval - self.clock())

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None and self.interval > 0:
            ready = self._last + self.interval
            if ready > now:
                self.sleep(ready - now)
                now = self.clock()
        self._last = now


@dataclass
class RetryPolicy:
    """How a request is retried (see spec.RestRetry, which a connector mode declares)."""

    attempts: int = 8
    initial: float = 1.0  # the first retry's backoff; doubles with each retry
    maximum: float = 10.0  # no backoff is longer
    jitter: float = 0.5  # a backoff is drawn from [(1 - jitter) * b, b]
    retry_after_max: float = 120.0  # a longer Retry-After fails the request at once
    budget: float | None = None  # retries per request over the client's life (None: no budget)
    budget_floor: int = 20  # retries allowed before the budget's ratio applies

    @classmethod
    def from_spec(cls, spec: RestRetry) -> RetryPolicy:
        return cls(spec.attempts, spec.backoff, spec.backoff_max, spec.jitter, spec.retry_after_max, spec.budget,
                   spec.budget_floor)


@dataclass
class RetryBudget:
    """Retries a client (one run) may still make: ``floor + ratio * requests``; None ratio: no limit."""

    ratio: float | None
    floor: int
    requests: int = 0  # logical requests (a request's retries not counted)
    retries: int = 0

    def spend(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        if self.ratio is not None and self.retries >= self.floor + self.ratio * self.requests:
            return False
        self.retries += 1
        return True


def _asked_to_wait(state: RetryCallState) -> float | None:
    """The Retry-After of the failed attempt's answer, if it gave one."""
    exc = state.outcome.exception() if state.outcome else None
    return exc.retry_after if isinstance(exc, TransientHTTPError) else None


class ApiClient:
    """A paced, retrying httpx client for one API account."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        min_interval: float = 0.0,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        verify: bool = True,
        on_request: Callable[[str, str], None] | None = None,
        errors: ErrorTable | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        try:
            host = httpx.URL(self.base_url).host
        except httpx.InvalidURL:
            raise ApiConfigError("[source] base_url is not a valid URL (it looks like https://host/api/v1)") from None
        if timeout is None or not timeout > 0:
            raise ValueError("every request needs a timeout: give a positive number of seconds")
        if not verify:
            if not is_loopback(host):
                raise ApiConfigError(
                    f"TLS certificate checks can be turned off ([source] insecure_local_tls) only for a loopback "
                    f"base_url (localhost, 127.0.0.1, ::1), not for {host or 'this URL'}: remove the setting, and give "
                    "the API a certificate this machine trusts (SSL_CERT_FILE can name a CA bundle holding your own CA)"
                )
            log.warning("tls.verification_disabled", host=host)
        self.host = host
        self.verify = verify
        self.pacer = Pacer(min_interval, clock, sleep)
        self.retry = retry or RetryPolicy()
        self.budget = RetryBudget(self.retry.budget, self.retry.budget_floor)
        self._rng = rng or random.Random()  # jitter, not crypto
        self._down = False  # a request ran out of retries: until one succeeds, the next are not retried
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, verify=verify)
        self.requests = 0  # every attempt, for reports and tests
        self._on_request = on_request  # (method, path) at each attempt's start: metrics, tests
        self.errors = errors or ErrorTable()

    def __repr__(self) -> str:
        return f"ApiClient(host={self.host!r}, verify={self.verify}, requests={self.requests})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backoff(self, attempt: int) -> float:
        """Seconds added before attempt ``attempt + 1``: exponential, capped, jittered below the cap."""
        backoff = min(self.retry.maximum, self.retry.initial * 2 ** (attempt - 1))
        return backoff * (1 - self._rng.uniform(0, self.retry.jitter))

    def _wait(self, state: RetryCallState) -> float:
        """The pacing slot or the Retry-After, whichever is later, then the backoff."""
        retry_after = _asked_to_wait(state)
        floor = max(self.pacer.remaining(), min(retry_after or 0.0, self.retry.retry_after_max))
        return floor + self.backoff(state.attempt_number)

    def _stop(self, attempts: int, stopped: list[str]) -> Callable[[RetryCallState], bool]:
        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= attempts:
                return True
            retry_after = _asked_to_wait(state)
            if retry_after is not None and retry_after > self.retry.retry_after_max:
                stopped.append(
                    f"the API asked to wait {retry_after:.0f} s before trying again, longer than the "
                    f"{self.retry.retry_after_max:.0f} s a run waits (the connector mode's retry_after_max)"
                )
                return True
            if not self.budget.spend():
                stopped.append(
                    f"this run already retried {self.budget.retries} times for {self.budget.requests} requests, "
                    "all its retry budget allows: the API looks overloaded or down"
                )
                log.warning("http.retry_budget_spent", retries=self.budget.retries, requests=self.budget.requests)
                return True
            return False

        return stop

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry: bool | None = None,
    ) -> httpx.Response:
        """One logical request; transient failures are retried, config failures raised at once.

        ``retry`` defaults to the method's idempotence: GET, PUT, DELETE, HEAD and OPTIONS are retried,
        a POST is sent once (retrying one whose answer was lost would write a second copy).
        """
        if retry is None:
            retry = method.upper() in IDEMPOTENT
        attempts = self.retry.attempts if retry and not self._down else 1
        stopped: list[str] = []  # why retrying stopped before the last attempt
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientHTTPError | httpx.TransportError)),
            stop=self._stop(attempts, stopped),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        self.budget.requests += 1
        try:
            response = retrying(self._attempt, method, path, params, json)
        except (TransientHTTPError, httpx.TransportError) as exc:
            kind = exc.status if isinstance(exc, TransientHTTPError) else type(exc).__name__
            made = retrying.statistics.get("attempt_number", attempts)
        except ApiError:
            self._down = False  # it answered: up, if not pleased
            raise
        else:
            self._down = False
            return response
        where = _where(path)
        if retry:
            self._down = True
        # Raised outside the handler: no __context__ chaining the httpx error (and its request) along.
        if stopped:
            raise ApiUnavailable(f"{method} {where} failed ({kind}, attempt {made}) and is not retried further: "
                                 f"{stopped[0]}; the next run will try again")
        if retry and attempts == 1 and self.retry.attempts > 1:
            raise ApiUnavailable(f"{method} {where} failed ({kind}) right after another request ran out of "
                                 "retries: the API looks down; the next run will try again")
        raise ApiUnavailable(
            f"{method} {where} still failing after {made} attempts ({kind}); "
            "the office server, its eConnector or the API may be down: the next run will try again"
        )

    def read_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
    ) -> Any:
        """The decoded answer of a request that reads data (ValueError: the body is not JSON).

        Only a 2xx with content is data: a 204 (or 205) is a malformed answer for that request, never
        an empty list, since an empty list may say the PMS deleted stored rows.
        """
        response = self.request(method, path, params=params, json=json)
        if response.status_code in (204, 205):
            raise ApiMalformedAnswer(
                f"{method} {_where(path)} answered {response.status_code} with no data where data was asked for; "
                "nothing was read from it (the next run asks again)"
            )
        return response.json()

    def _attempt(self, method: str, path: str, params: dict[str, Any] | None, json: Any) -> httpx.Response:
        self.pacer.wait()
        self.requests += 1
        if self._on_request is not None:
            self._on_request(method, path)
        where = _where(path)
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TransportError:
            raise  # retried; its text is never shown (ApiUnavailable names only its type)
        except httpx.RequestError as exc:  # too many redirects, an undecodable body: not worth retrying
            failed = type(exc).__name__
        else:
            failed = None
        if failed is not None:  # raised outside the handler, so no __context__ carries the request along
            raise ApiRequestError(f"{method} {where} failed ({failed})")
        if 200 <= response.status_code < 300:
            return response
        error = self.errors.error(method, where, response, params, json, _retry_after(response, self._clock))
        if isinstance(error, TransientHTTPError):
            log.info("http.retry", method=method, path=where, status=response.status_code)
        raise error
