"""The REST engine on its own: paging edge cases and malformed pages."""

from __future__ import annotations

import httpx
import pytest
import respx

from pms_bridge.connectors import SourceFileError, load_connector_spec
from pms_bridge.connectors.api_client import ApiClient, RetryPolicy
from pms_bridge.connectors.rest import RestConnector, cell, read_cursor

BASE = "https://od.example.test/api/v1"


def connector(page_size: int = 2) -> RestConnector:
    client = ApiClient(BASE, {"Authorization": "x"}, retry=RetryPolicy(attempts=1), sleep=lambda s: None)
    return RestConnector(load_connector_spec("opendental-api"), client, page_size=page_size)


def rows(table) -> list[list[str]]:  # noqa: ANN001
    return [cells for chunk in table.chunks() for _, cells in chunk]


@respx.mock
def test_pages_until_a_short_page_and_keeps_the_server_time() -> None:
    route = respx.get(f"{BASE}/appointments").mock(side_effect=[
        httpx.Response(200, json=[{"serverDateTime": "2026-03-02 08:00:00", "AptNum": 1, "IsHygiene": "true"},
                                  {"serverDateTime": "2026-03-02 08:00:00", "AptNum": 2, "IsHygiene": "false"}]),
        httpx.Response(200, json=[{"serverDateTime": "2026-03-02 08:00:01", "AptNum": 3, "IsHygiene": "false"}]),
    ])
    table = connector().open(["appointment"], cursor='{"server_time": "2026-03-01 08:00:00"}')
    assert table is not None and table.header() == ["serverDateTime", "AptNum", "IsHygiene"]
    assert [r[1:] for r in rows(table)] == [["1", "true"], ["2", "false"], ["3", "false"]]
    assert route.calls[0].request.url.params["DateTStamp"] == "2026-03-01 07:55:00"  # 5 minutes of overlap
    assert [c.request.url.params["Offset"] for c in route.calls] == ["0", "2"]
    assert read_cursor(table.fingerprint()) == "2026-03-02 08:00:00"


@respx.mock
def test_an_exactly_full_last_page_costs_one_empty_page() -> None:
    route = respx.get(f"{BASE}/providers").mock(side_effect=[
        httpx.Response(200, json=[{"ProvNum": 1}, {"ProvNum": 2}]), httpx.Response(200, json=[])])
    assert len(rows(connector().open(["provider"]))) == 2 and route.call_count == 2


@respx.mock
def test_a_repeated_page_is_an_error() -> None:
    page = [{"ProvNum": 1}, {"ProvNum": 2}]
    respx.get(f"{BASE}/providers").mock(return_value=httpx.Response(200, json=page))
    with pytest.raises(SourceFileError, match="repeats the previous one"):
        rows(connector().open(["provider"]))


@pytest.mark.parametrize("body", ["<html>busy</html>", '{"error": "x"}'])
@respx.mock
def test_a_malformed_page_is_an_error_naming_the_resource(body: str) -> None:
    respx.get(f"{BASE}/providers").mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(SourceFileError, match="GET /providers: the page at offset 0"):
        connector().open(["provider"]).header()


def test_cells_are_text_the_mapping_reads() -> None:
    assert [cell(v) for v in (None, True, 12, 130.0, 12.5, "x")] == ["", "true", "12", "130", "12.5", "x"]
    assert read_cursor("not json") is None and read_cursor('{"file": "a.csv"}') is None
