"""The HTTP client every REST connector and sink uses: pacing, retries that
honour Retry-After with a per-call policy (idempotent methods are retried on
transient failures, a POST is sent once: its caller settles a lost answer),
and the connector's error table (http_errors) that sorts failures into "fix
the config", "try again later", "one bad item" and "version too old".

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
from typing import Any

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from pms_bridge.connectors.http_errors import (
    ApiConfigError,
    ApiError,
    ApiItemNotFound,
    ApiRequestError,
    ApiUnavailable,
    ApiVersionTooOld,
    ErrorTable,
    TransientHTTPError,
)

log = structlog.get_logger("pms_bridge.http")


IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
__all__ = [
    "ApiClient", "ApiConfigError", "ApiError", "ApiItemNotFound", "ApiRequestError", "ApiUnavailable",
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
    attempts: int = 6
    initial: float = 1.0
    maximum: float = 60.0
    jitter: float = 0.25


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

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``: exponential, capped, with jitter."""
        backoff = min(self.retry.maximum, self.retry.initial * 2 ** (attempt - 1))
        return backoff * (1 + random.uniform(0, self.retry.jitter))  # noqa: S311 - jitter, not crypto

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.retry.maximum)
        return self.backoff(state.attempt_number)

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
        attempts = self.retry.attempts if retry else 1
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientHTTPError | httpx.TransportError)),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, params, json)
        except (TransientHTTPError, httpx.TransportError) as exc:
            kind = exc.status if isinstance(exc, TransientHTTPError) else type(exc).__name__
        # Raised outside the handler: no __context__ chaining the httpx error (and its request) along.
        raise ApiUnavailable(
            f"{method} {_where(path)} still failing after {attempts} attempts ({kind}); "
            "the office server, its eConnector or the API may be down: the next run will try again"
        )

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
        if response.status_code < 400:
            return response
        error = self.errors.error(method, where, response, params, json, _retry_after(response, self._clock))
        if isinstance(error, TransientHTTPError):
            log.info("http.retry", method=method, path=where, status=response.status_code)
        raise error
