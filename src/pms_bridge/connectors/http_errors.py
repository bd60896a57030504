"""Failures of a PMS API and the table that sorts an answer into one of them.

Each connector declares its own rules (``[[rest.errors]]`` in its TOML: status, optional body and
path patterns, and what the failure is); generic HTTP rules follow them. What a failure is decides
what happens: a config problem stops the run (exit 2), a transient one is retried, one bad item or
a call the office's version lacks is that request's problem and the rest of the run goes on.

Messages name the method, the path (never its query string) and the status; a body's words reach
a message only when the connector lists them as item kinds (anything else could be a name).
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from pms_bridge.connectors.files import SourceUnavailable
from pms_bridge.connectors.opendental_versions import VersionFloor
from pms_bridge.errors import ConfigurationProblem, ItemSkipped

Action = Literal["config", "transient", "item", "version", "request"]


class ApiError(Exception):
    """Base of errors from a PMS API."""


class ApiConfigError(ApiError, ConfigurationProblem):
    """The API refused us for a reason retrying cannot fix (keys, permissions, URL): exit code 2."""


class ApiRequestError(ApiError, ItemSkipped):
    """One request was rejected (a bad parameter for one resource); the rest of the run goes on."""


class ApiMalformedAnswer(ApiRequestError):
    """A success status whose answer is no data (204 where a list was asked for): that request's problem."""


class ApiItemNotFound(ApiRequestError):
    """404 for one item (a stale PatNum or AptNum, a deleted task): that item's problem, not the office's.

    ``item`` is the kind the API named ("Patient", "Appointment", "Task"), or None when only the
    path's id says it was one item.
    """

    def __init__(self, message: str, item: str | None) -> None:
        self.item = item
        super().__init__(message)


class ApiVersionTooOld(ApiRequestError):
    """The office runs a PMS version older than the call needs.

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


@dataclass(frozen=True)
class ErrorRule:
    """One row of the table: which answers it covers and what they are."""

    status: tuple[int, ...]
    action: Action
    body: str | None = None  # regular expression searched in the answer's text, ignoring case
    path: str | None = None  # regular expression searched in the request's path
    message: str | None = None  # config: what to fix; version: said when no floor covers the call
    item_kinds: frozenset[str] = frozenset()  # item: kinds a body's (?P<item>...) may name in a message
    not_items: frozenset[str] = frozenset()  # item: words that mean the body names no item
    _body: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _path: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_body", re.compile(self.body, re.IGNORECASE) if self.body else None)
        object.__setattr__(self, "_path", re.compile(self.path) if self.path else None)

    def match(self, status: int, path: str, text: str) -> tuple[bool, str | None]:
        """Whether the rule covers the answer, and the item kind its body names (item rules)."""
        if status not in self.status:
            return False, None
        if self._path is not None and not self._path.search(path):
            return False, None
        if self._body is None:
            return True, None
        found = self._body.search(text)
        if found is None:
            return False, None
        item = found.groupdict().get("item")
        if item is None:
            return True, None
        item = " ".join(item.split())
        if {w.lower() for w in item.split()} & self.not_items:
            return False, None
        return True, (item if item.lower() in self.item_kinds else None)


# Generic HTTP, after a connector's own rules.
GENERIC_RULES: tuple[ErrorRule, ...] = (
    # Redirects are never followed (the keys would go to another address), so one means a wrong URL.
    ErrorRule(tuple(range(300, 400)), "config", message="the API answered with a redirect (HTTP 3xx), which "
              "pms-bridge does not follow so that its keys are never sent elsewhere: check [source] base_url "
              "(https rather than http? the full path, such as /api/v1?)"),
    ErrorRule((401,), "config", message="the API refused the credentials (401): check the keys in the environment "
              "variables (or OS keyring entries) named in [source]"),
    ErrorRule((403,), "config", message="the API refused the request (403): the key lacks a permission this needs"),
    ErrorRule((404,), "config", message="the API has no such endpoint (404): check [source] base_url"),
    ErrorRule((408, 429, 500, 502, 503, 504), "transient"),
)

# Versions of a PMS whose floors are known (``version_floors`` in a connector file).
FloorLookup = Callable[[str, str, Mapping[str, Any] | None, Any], VersionFloor | None]


def _no_floor(method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> VersionFloor | None:
    return None


@dataclass(frozen=True)
class ErrorTable:
    rules: Sequence[ErrorRule] = ()
    floors: FloorLookup = _no_floor

    def classify(self, status: int, path: str, text: str) -> tuple[ErrorRule | None, str | None]:
        for rule in (*self.rules, *GENERIC_RULES):
            matched, item = rule.match(status, path, text)
            if matched:
                return rule, item
        return None, None

    def error(
        self, method: str, where: str, response: httpx.Response, params: Mapping[str, Any] | None, body: Any,
        retry_after: float | None,
    ) -> ApiError:
        """The exception for a failed answer (TransientHTTPError: retry it)."""
        status = response.status_code
        what = f"{method} {where} -> {status}"
        rule, item = self.classify(status, where, reply_text(response))
        if rule is None or rule.action == "request":
            return ApiRequestError(what)
        if rule.action == "item":
            return ApiItemNotFound(f"{what} (no such {(item or 'item').lower()})", item)
        if rule.action == "config":
            return ApiConfigError(f"{rule.message or what} ({method} {where})")
        if rule.action == "transient":
            return TransientHTTPError(status, retry_after, what)
        floor = self.floors(method, where, params, body)
        return ApiVersionTooOld(floor.message() if floor else f"{what}: {rule.message or 'upgrade the PMS'}", floor)


def reply_text(response: httpx.Response) -> str:
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
