"""The error table, answer by answer: what each HTTP answer of a PMS API becomes (and so the exit code and
whether it is retried). Generic rules first, then Open Dental's own table from connectors/opendental-api.toml."""

from __future__ import annotations

import httpx
import pytest

from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.http_errors import (
    ApiConfigError,
    ApiItemNotFound,
    ApiRequestError,
    ApiVersionTooOld,
    ErrorTable,
    TransientHTTPError,
)
from pms_bridge.connectors.rest import error_table


def _error(table: ErrorTable, status: int, text: str = "", path: str = "/patients") -> Exception:
    response = httpx.Response(status, text=text, request=httpx.Request("GET", f"https://pms.test{path}"))
    return table.error("GET", path, response, None, None, None)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_generic_transient_answers_are_retried(status: int) -> None:
    error = _error(ErrorTable(), status)
    assert type(error) is TransientHTTPError and error.status == status


@pytest.mark.parametrize(("status", "says"), [(401, "credentials (401)"), (403, "permission"), (404, "base_url")])
def test_generic_refusals_are_configuration_problems(status: int, says: str) -> None:
    error = _error(ErrorTable(), status)
    assert type(error) is ApiConfigError and says in str(error) and "(GET /patients)" in str(error)


@pytest.mark.parametrize("status", [400, 405, 409, 418, 422, 501])
def test_other_answers_fail_the_one_request(status: int) -> None:
    error = _error(ErrorTable(), status)
    assert type(error) is ApiRequestError and str(error) == f"GET /patients -> {status}"


NO_ITEM = "-"  # not an item error
OPEN_DENTAL = [
    (404, '"Patient not found."', "/patients/Simple", ApiItemNotFound, "Patient"),  # a JSON string, decoded
    (404, "Task list not found", "/tasklists", ApiItemNotFound, "Task list"),  # a kind of two words
    (404, "Smith not found.", "/patients/Simple", ApiItemNotFound, None),  # no known kind: never echoed
    (404, "Resource not found: GET /nope", "/nope", ApiConfigError, NO_ITEM),  # the API's own: a wrong URL
    (404, "Page not found", "/patients", ApiConfigError, NO_ITEM),
    (404, "", "/tasks/42", ApiItemNotFound, None),  # an id in the path: one item
    (410, "", "/tasks", ApiConfigError, NO_ITEM),
    (400, "The eConnector is not running", "/patients", TransientHTTPError, NO_ITEM),
    (400, "Request timed out", "/patients", TransientHTTPError, NO_ITEM),
    (400, "This method requires a newer version", "/claims", ApiVersionTooOld, NO_ITEM),
    (400, "PatNum is required", "/patplans", ApiRequestError, NO_ITEM),
]


def _open_dental() -> ErrorTable:
    rest = load_connector_spec("opendental-api").rest
    assert rest is not None
    return error_table(rest)


@pytest.mark.parametrize(("status", "text", "path", "kind", "item"), OPEN_DENTAL)
def test_open_dental_answers(status: int, text: str, path: str, kind: type, item: str | None) -> None:
    error = _error(_open_dental(), status, text, path)
    assert (type(error), getattr(error, "item", NO_ITEM)) == (kind, item)
    assert "Smith" not in str(error)


@pytest.mark.parametrize(("text", "path", "says"), [
    ('"Patient not found."', "/patients/Simple", "no such patient"),
    ("Smith not found.", "/patients/Simple", "no such item"),
    ("", "/tasks/42", "no such item"),
])
def test_an_item_error_names_the_kind_it_knows(text: str, path: str, says: str) -> None:
    assert str(_error(_open_dental(), 404, text, path)) == f"GET {path} -> 404 ({says})"
