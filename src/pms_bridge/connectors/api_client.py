"""The HTTP client every REST connector and sink uses: pacing, retries that
honour Retry-After, and a table that sorts failures into "fix the config"
and "try again later" (after Airbyte's error-handler idea).

Nothing here logs or raises with credentials or PHI: errors and log events
name the method, the path (without any query string) and the status, never
headers, parameters, bodies or full URLs. TLS certificates are always
verified, except for a loopback base URL when the config explicitly says so.
Every request has a timeout.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from pms_bridge.connectors.files import SourceUnavailable
from pms_bridge.connectors.opendental_versions import VersionFloor, version_floor

log = structlog.get_logger("pms_bridge.http")


class ApiError(Exception):
    """Base of errors from a PMS API."""


class ApiConfigError(ApiError):
    """The API refused us for a reason retrying cannot fix (keys, permissions, URL): exit code 2."""


class ApiRequestError(ApiError):
    """One request was rejected (a bad parameter for one resource); the rest of the run goes on."""


class ApiItemNotFound(ApiRequestError):
    """404 for one item (a stale PatNum or AptNum, a deleted task): that item's problem, not the office's.

    ``item`` is the kind the API named ("Patient", "Appointment", "Task"), or None when only the
    path's id says it was one item.
    """

    def __init__(self, message: str, item: str | None) -> None:
        self.item = item
        super().__init__(message)


class ApiVersionTooOld(ApiRequestError):
    """400 because the office runs an Open Dental version older than the call needs.

    ``floor`` is the documented requirement when one covers the call (see opendental_versions).
    """

    def __init__(self, message: str, floor: VersionFloor | None) -> None:
        self.floor = floor
        super().__init__(message)


class ApiUnavailable(SourceUnavailable, ApiError):
    """Still failing after retries (exit code 3)."""


class TransientHTTPError(ApiError):
    def __init__(self, status: int, retry_after: float | None, what: str) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(what)


# Status -> what to tell the person who set it up. Anything else 4xx is a request error.
CONFIG_ERRORS = {
    401: "the API refused the keys (401): check the developer and customer keys in the environment variables "
    "(or OS keyring entries) named in [source], and that the customer key has the API permissions this needs",
    403: "the API refused the request (403): the customer key lacks a permission this needs",
    404: "the API has no such endpoint (404): check [source] base_url (it ends in /api/v1)",
    410: "the API retired this method (410): upgrade pms-bridge",
}
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Open Dental answers 400 when the office's eConnector is down: that passes.
TRANSIENT_400_MARKERS = ("econnector", "timed out", "timeout")
# ... and 400 when the office's version is too old for the call (apiimplementation.html). Its exact
# wording is not documented, so any 400 that speaks of a version, an upgrade or a missing feature.
VERSION_400 = re.compile(r"\bversions?\b|\bupgrade|\bnot (?:yet )?(?:available|supported)\b", re.IGNORECASE)
# "Patient not found." (404 for one item: apitasks.html, apicommlogs.html). A wrong base URL gives
# an HTML page, an empty body or a "resource not found" from the server: those name no item.
ITEM_NOT_FOUND = re.compile(r"([A-Za-z]+(?: [A-Za-z]+){0,2})\s+(?:is\s+)?not\s+found\.?", re.IGNORECASE)
NOT_AN_ITEM = frozenset({"resource", "file", "directory", "page", "endpoint", "method", "route", "url", "path", "api"})
# Kinds a message may name: anything else in a body (it could be a name) never leaves this module.
ITEM_KINDS = frozenset({
    "patient", "appointment", "task", "tasklist", "task list", "commlog", "document", "mount", "sheet", "eform",
    "claim", "claimproc", "procedure", "procedurelog", "procedurecode", "provider", "referral", "refattach",
    "definition", "insplan", "inssub", "patplan", "insverify", "carrier", "operatory", "clinic", "user", "userod",
})


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


def _reply_text(response: httpx.Response) -> str:
    """The start of an error body; Open Dental sends its messages as JSON strings."""
    text = response.text[:300].strip()
    if text.startswith('"'):
        try:
            decoded = jsonlib.loads(response.text)
        except ValueError:
            return text
        if isinstance(decoded, str):
            return decoded[:300].strip()
    return text


def _missing_item(text: str) -> tuple[bool, str | None]:
    """Whether a 404 body says one item is gone, and its kind ("Patient") when it is one we know."""
    match = ITEM_NOT_FOUND.fullmatch(text)
    if match is None:
        return False, None
    item = " ".join(match.group(1).split())
    if NOT_AN_ITEM & set(item.lower().split()):
        return False, None
    return True, (item if item.lower() in ITEM_KINDS else None)


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

    def __repr__(self) -> str:
        return f"ApiClient(host={self.host!r}, verify={self.verify}, requests={self.requests})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(self.retry.maximum, self.retry.initial * 2 ** (state.attempt_number - 1))
        backoff *= 1 + random.uniform(0, self.retry.jitter)  # noqa: S311 - jitter, not crypto
        if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.retry.maximum)
        return backoff

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> httpx.Response:
        """One logical request; transient failures are retried, config failures raised at once."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientHTTPError | httpx.TransportError)),
            stop=stop_after_attempt(self.retry.attempts),
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
            f"{method} {_where(path)} still failing after {self.retry.attempts} attempts ({kind}); "
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
        status = response.status_code
        if status < 400:
            return response
        what = f"{method} {where} -> {status}"
        text = _reply_text(response)
        if status == 404:
            # One item gone (a stale PatNum, a task deleted in the PMS): not a wrong base URL.
            one_item, item = _missing_item(text)
            if one_item or where.rstrip("/").rsplit("/", 1)[-1].isdigit():
                raise ApiItemNotFound(f"{what} (no such {(item or 'item').lower()})", item)
        if status in CONFIG_ERRORS:
            raise ApiConfigError(f"{CONFIG_ERRORS[status]} ({method} {where})")
        body = text.lower()
        if status in TRANSIENT_STATUSES or (status == 400 and any(m in body for m in TRANSIENT_400_MARKERS)):
            log.info("http.retry", method=method, path=where, status=status)
            raise TransientHTTPError(status, _retry_after(response, self._clock), what)
        if status == 400 and VERSION_400.search(text):
            floor = version_floor(method, where, params, json)
            raise ApiVersionTooOld(
                floor.message() if floor else f"{what}: the office's Open Dental version does not support this call; "
                "upgrade Open Dental",
                floor,
            )
        raise ApiRequestError(what)
