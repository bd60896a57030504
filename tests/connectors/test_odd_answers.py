"""Answers of the right status but the wrong shape: never data, never evidence that stored rows were deleted.

A JSON list of non-objects, a 204, a redirect, and a garbled bucket row of the query route's id
reconciliation each fail that request (or that resource's deletion check) with an error of a documented
kind; the rows a good night stored stay. Synthetic data only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fakes.opendental import FakeOpenDental
from fakes.opendental_shapes import run_short_query
from odroutes import config, night, rows

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.connectors import SourceFileError, load_connector_spec
from pms_bridge.connectors.api_client import (
    ApiClient,
    ApiConfigError,
    ApiMalformedAnswer,
    RetryPolicy,
)
from pms_bridge.connectors.paging import RecordSelector
from pms_bridge.connectors.rest import RestConnector, error_table
from pms_bridge.errors import ConfigurationProblem, ItemSkipped
from pms_bridge.pipeline import fanout

BASE = "https://od.example.test/api/v1"
SPEC = load_connector_spec("opendental-api")


def connector(route: str = "resources") -> RestConnector:
    client = ApiClient(BASE, {"Authorization": "x"}, retry=RetryPolicy(attempts=1), sleep=lambda s: None,
                       errors=error_table(SPEC.rest))
    return RestConnector(SPEC, client, page_size=100, route=route)


NOT_OBJECTS = {
    "a list of lists": "[[]]",
    "numbers": "[1, 2, 3]",
    "strings": '["Jane Synthetic"]',
    "[null]": "[null]",
    "NaN": "[NaN, Infinity]",
    "a huge number": "[1e999999]",
    "objects, then a number": '[{"ProvNum": 1}, 7]',
}


# --------------------------------------------------------------------------- the record selector
@pytest.mark.parametrize("body", NOT_OBJECTS.values(), ids=NOT_OBJECTS.keys())
def test_a_list_of_non_objects_is_a_malformed_page_not_rows(body: str) -> None:
    answer = json.loads(body)
    with pytest.raises(SourceFileError, match=r"GET /x: the page .* is not a list of rows: item \d+ is") as caught:
        RecordSelector().rows(answer, "GET /x: the page at offset 0")
    assert isinstance(caught.value, ItemSkipped)
    assert "Jane" not in str(caught.value)  # the kind of value only, never the value


def test_a_list_of_objects_and_an_empty_list_are_rows() -> None:
    assert RecordSelector().rows([{"a": 1}, {}], "GET /x") == [{"a": 1}, {}]
    assert RecordSelector("data").rows({"data": []}, "GET /x") == []


@pytest.mark.parametrize("body", NOT_OBJECTS.values(), ids=NOT_OBJECTS.keys())
@respx.mock
def test_a_resource_answering_non_objects_fails_naming_its_endpoint(body: str) -> None:
    respx.get(f"{BASE}/eforms").mock(return_value=httpx.Response(200, text=body))
    table = connector().open(["eform"], patients=["5"])
    assert table is not None
    with pytest.raises(SourceFileError, match="GET /eforms: the page at offset 0 is not a list of rows"):
        table.header()


@respx.mock
def test_the_query_route_refuses_non_objects_for_the_server_clock_and_the_rows() -> None:
    respx.put(f"{BASE}/queries/ShortQuery").mock(return_value=httpx.Response(200, text="[[\"2026-03-02\"]]"))
    with pytest.raises(SourceFileError, match="PUT /queries/ShortQuery: .* not a list of rows"):
        connector("query").open(["sheet"], cursor='{"server_time": "2026-03-01 08:00:00"}', columns=["PatNum"])


# ------------------------------------------------------------------------------ 204 and redirects
@pytest.mark.parametrize("body", [b"", b"[]"])
@respx.mock
def test_a_204_on_a_list_is_a_malformed_answer_not_an_empty_list(body: bytes) -> None:
    respx.get(f"{BASE}/documents").mock(return_value=httpx.Response(204, content=body))
    table = connector().open(["document"], patients=["5"])
    assert table is not None
    with pytest.raises(ApiMalformedAnswer, match="GET /documents answered 204 with no data") as caught:
        table.header()
    assert isinstance(caught.value, ItemSkipped)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@respx.mock
def test_a_redirect_is_never_followed_and_names_the_base_url(status: int) -> None:
    elsewhere = respx.get("https://elsewhere.example.test/patplans").mock(return_value=httpx.Response(200, json=[]))
    respx.get(f"{BASE}/patplans").mock(return_value=httpx.Response(
        status, headers={"Location": "https://elsewhere.example.test/patplans"}, json=[]))
    table = connector().open(["patplan"], patients=["5"])
    assert table is not None
    with pytest.raises(ApiConfigError, match=r"redirect .* check \[source\] base_url") as caught:
        table.header()
    assert isinstance(caught.value, ConfigurationProblem)
    assert not elsewhere.called  # the keys never went to another address


@respx.mock
def test_a_204_to_a_write_is_still_a_success() -> None:
    respx.put(f"{BASE}/tasks/4").mock(return_value=httpx.Response(204))
    assert connector().client.request("PUT", "/tasks/4", json={"Descript": "x"}).status_code == 204


# ------------------------------------------------------------------ the query route's id reconciliation
def garbled_buckets(tables: dict[str, dict[int, dict[str, str]]], garble: Callable[[list[dict[str, Any]]], None]
                    ) -> Callable[[httpx.Request], httpx.Response]:
    """A ShortQuery endpoint whose bucket answers (GROUP BY) are garbled by ``garble``; id lists are true."""

    def answer(request: httpx.Request) -> httpx.Response:
        sql = json.loads(request.content)["SqlCommand"]
        found = run_short_query(sql, tables, datetime(2026, 3, 2, 8, 0), strict=True)
        if "GROUP BY" in sql:
            garble(found)
        return httpx.Response(200, json=found)

    return answer


def _set(field: str, value: Any, at: int = 0) -> Callable[[list[dict[str, Any]]], None]:
    def garble(found: list[dict[str, Any]]) -> None:
        found[at][field] = value

    return garble


def _dup(found: list[dict[str, Any]]) -> None:
    found.append(dict(found[-1]))


GARBLED = {
    "b another bucket": _set("b", 0, at=1),
    "b negative": _set("b", -1, at=1),
    "b far away": _set("b", 987654),
    "b huge": _set("b", 2**63),
    "b a fraction": _set("b", 0.5),
    "b true": _set("b", True),
    "b null": _set("b", None),
    "b text": _set("b", "soon"),
    "s null": _set("s", None),
    "n zero": _set("n", 0),
    "a bucket twice": _dup,
}


@pytest.mark.parametrize("garble", GARBLED.values(), ids=GARBLED.keys())
@respx.mock
def test_a_garbled_bucket_row_voids_the_reconcile(garble: Callable[[list[dict[str, Any]]], None]) -> None:
    stored = set(range(1, 2501))  # buckets 0, 1 and 2 of 1000 ids
    live = {n: {"PatPlanNum": str(n)} for n in stored}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=garbled_buckets({"patplan": live}, garble))
    with pytest.raises(SourceFileError, match="query patplan: the id reconciliation answer .*nothing was removed"):
        connector("query").reconcile(["patplan"], stored)


@respx.mock
def test_a_bucket_outside_the_range_asked_for_voids_the_reconcile() -> None:
    stored = set(range(1, 2501))
    live = {n: {"PatPlanNum": str(n)} for n in stored - {1500}}  # bucket 1 differs: its buckets of 100 are asked

    def garble(found: list[dict[str, Any]]) -> None:
        if len(found) > 3:  # the buckets of 100 inside 1000-1999: one of them answers for ids 3000-3099
            found[0].update(b=30, n=1, s=3001)

    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=garbled_buckets({"patplan": live}, garble))
    with pytest.raises(SourceFileError, match="outside the ids 1000 to 1999 asked for"):
        connector("query").reconcile(["patplan"], stored)


@respx.mock
def test_a_garbled_id_in_a_listed_range_voids_the_reconcile() -> None:
    stored = set(range(1, 2501))
    live = {n: {"PatPlanNum": str(n)} for n in stored - {1500}}

    def answer(request: httpx.Request) -> httpx.Response:
        sql = json.loads(request.content)["SqlCommand"]
        found = run_short_query(sql, {"patplan": live}, datetime(2026, 3, 2, 8, 0), strict=True)
        if "GROUP BY" not in sql:
            found[3]["PatPlanNum"] = "x"
        return httpx.Response(200, json=found)

    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=answer)
    with pytest.raises(SourceFileError, match="lists an id that is not a number from 1500 to 1599"):
        connector("query").reconcile(["patplan"], stored)


@respx.mock
def test_an_honest_answer_with_odd_bucket_sizes_still_reconciles() -> None:
    # 25 ids a bucket, then 2: buckets of the smaller size straddle the range asked for.
    spec = SPEC.model_copy(update={"query": SPEC.query.model_copy(update={"bucket_size": 25})})
    client = ApiClient(BASE, {"Authorization": "x"}, retry=RetryPolicy(attempts=1), sleep=lambda s: None)
    stored = set(range(1, 300))
    live = {n: {"PatPlanNum": str(n)} for n in stored - {26, 149}}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=garbled_buckets({"patplan": live}, lambda f: None))
    assert RestConnector(spec, client, page_size=100, route="query").reconcile(["patplan"], stored) == {26, 149}


# ------------------------------------------------------------------------------ stored rows survive
def answering(fake: FakeOpenDental, path: str, status: int, payload: Any) -> None:
    """Every GET of ``path`` answers ``status`` with ``payload`` (JSON), as a misbehaving server might."""
    fake._routes = [
        (method, pattern, (lambda q, body, *groups: (status, payload))
         if method == "GET" and pattern.fullmatch(path) else handler)
        for method, pattern, handler in fake._routes
    ]


def _night_again(fake: FakeOpenDental, path: Path) -> Any:
    fake.advance(hours=20)
    return night(fake, path, as_of=DEMO_AS_OF + timedelta(hours=1), check=False)


def test_odd_answers_leave_the_stored_rows(
    export: Path, tmp_path: Path, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "REFRESH_DAYS", 0)  # every patient's lists every night (pipeline/fanout.py)
    fake = FakeOpenDental.from_export(export)
    path = config(tmp_path, "resources")
    assert night(fake, path, check=False).status == "ok"
    before = {entity: set(rows(path, entity)) for entity in ("document", "form", "coverage")}
    assert all(before.values()), before

    answering(fake, "/documents", 204, [])  # "no content", with a body of []
    answering(fake, "/eforms", 200, [[]])  # a list of lists
    report = _night_again(fake, path)
    failed = {r.resource: r.error for r in report.failed}
    assert "GET /documents answered 204" in (failed.get("document") or ""), failed
    assert "GET /eforms" in (failed.get("eform") or "") and "not a list of rows" in failed["eform"], failed
    assert {entity: set(rows(path, entity)) for entity in before} == before

    answering(fake, "/patplans", 301, [])
    with pytest.raises(ApiConfigError, match="redirect"):
        _night_again(fake, path)
    assert {entity: set(rows(path, entity)) for entity in before} == before


@pytest.mark.parametrize("body", [b"", b"[]"])
@respx.mock
def test_a_sink_reading_a_list_never_takes_a_204_for_an_empty_list(body: bytes) -> None:
    """A task list read as empty would make the tasks sink post its tasks again."""
    from pms_bridge.connectors.api_client import ApiRequestError
    from pms_bridge.sinks.opendental_requests import get_all

    respx.get(f"{BASE}/tasks").mock(return_value=httpx.Response(204, content=body))
    with pytest.raises(ApiRequestError, match="GET /tasks answered 204 with no data"):
        get_all(connector().client, "/tasks", {"TaskListNum": "3"})
