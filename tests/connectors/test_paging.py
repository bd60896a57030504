"""Paginators, the record selector, and the client's per-call retry policy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pms_bridge.connectors import SourceFileError
from pms_bridge.connectors.api_client import ApiClient, ApiUnavailable, RetryPolicy
from pms_bridge.connectors.paging import (
    CursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    RecordSelector,
    pages,
)

ROWS = [{"id": i} for i in range(5)]
BASE = "https://api.example.test/v1"


def serve_offset(params: dict[str, Any]) -> Any:
    start = int(params["Offset"])
    return ROWS[start:start + int(params["Limit"])]


def serve_pages(params: dict[str, Any]) -> Any:
    size, page = int(params["size"]), int(params["page"])
    return {"result": {"items": ROWS[(page - 1) * size:page * size]}}


def serve_cursor(params: dict[str, Any]) -> Any:
    start = int(params.get("cursor", 0))
    return {"data": ROWS[start:start + 2], "next": str(start + 2) if start + 2 < len(ROWS) else None}


@pytest.mark.parametrize(("fetch", "paginator", "selector", "requests"), [
    (serve_offset, OffsetPaginator(2), RecordSelector(), 3),
    (serve_pages, PageNumberPaginator(2, "page", "size"), RecordSelector("result.items"), 3),
    (serve_cursor, CursorPaginator("next", "cursor"), RecordSelector("data"), 3),
])
def test_every_paginator_reads_every_row_once(fetch, paginator, selector, requests) -> None:
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any]) -> Any:
        sent.append(params)
        return fetch(params)

    assert [r for page in pages(record, paginator, selector, "GET /x") for r in page] == ROWS
    assert len(sent) == requests


def test_a_page_that_repeats_or_is_not_a_list_is_an_error() -> None:
    with pytest.raises(SourceFileError, match="repeats the previous one"):
        list(pages(lambda p: ROWS[:2], OffsetPaginator(2), RecordSelector(), "GET /x"))
    with pytest.raises(SourceFileError, match=r"GET /x: the page at start is not a list of rows"):
        list(pages(lambda p: {"rows": []}, CursorPaginator(), RecordSelector("data"), "GET /x"))


@respx.mock
def test_a_post_is_sent_once_and_a_put_is_retried() -> None:
    respx.post(f"{BASE}/tasks").mock(return_value=httpx.Response(503))
    put = respx.put(f"{BASE}/tasks/1").mock(side_effect=[httpx.Response(503), httpx.Response(200, json={})])
    api = ApiClient(BASE, {}, retry=RetryPolicy(attempts=4, initial=0, maximum=0), sleep=lambda s: None)
    with pytest.raises(ApiUnavailable, match="after 1 attempts"):
        api.request("POST", "/tasks", json={})  # its caller settles a lost answer by the marker
    assert api.requests == 1
    api.request("PUT", "/tasks/1", json={})
    assert put.call_count == 2
    with pytest.raises(ApiUnavailable, match="after 4 attempts"):
        api.request("POST", "/tasks", json={}, retry=True)  # a caller may declare a POST safe to repeat


@respx.mock
def test_the_engine_knows_no_pms_errors_its_connector_file_declares_them() -> None:
    from pms_bridge.connectors import load_connector_spec
    from pms_bridge.connectors.api_client import ApiRequestError, ApiVersionTooOld
    from pms_bridge.connectors.rest import error_table

    route = respx.get(f"{BASE}/insverifies").mock(return_value=httpx.Response(400, text="The eConnector is down."))
    plain = ApiClient(BASE, {}, retry=RetryPolicy(attempts=3, initial=0, maximum=0), sleep=lambda s: None)
    with pytest.raises(ApiRequestError):  # generic HTTP: a 400 is one request's problem
        plain.request("GET", "/insverifies")
    assert route.call_count == 1
    od = ApiClient(BASE, {}, retry=RetryPolicy(attempts=3, initial=0, maximum=0), sleep=lambda s: None,
                   errors=error_table(load_connector_spec("opendental-api").rest))
    with pytest.raises(ApiUnavailable):  # Open Dental's file: the eConnector being down passes
        od.request("GET", "/insverifies")
    respx.get(f"{BASE}/claims").mock(return_value=httpx.Response(400, text="Not available in this version."))
    with pytest.raises(ApiVersionTooOld, match="GET /claims needs Open Dental 23.3.11"):
        od.request("GET", "/claims")
