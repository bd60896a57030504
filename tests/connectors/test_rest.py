"""The REST engine on its own: paging edge cases and malformed pages."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from pms_bridge.connectors import SourceFileError, load_connector_spec
from pms_bridge.connectors.api_client import ApiClient, RetryPolicy
from pms_bridge.connectors.rest import RestConnector, cell, error_table, read_cursor

BASE = "https://od.example.test/api/v1"


def connector(page_size: int = 2) -> RestConnector:
    client = ApiClient(BASE, {"Authorization": "x"}, retry=RetryPolicy(attempts=1), sleep=lambda s: None,
                       errors=error_table(load_connector_spec("opendental-api").rest))
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


# ------------------------------------------------------------------ query route
def query_connector() -> RestConnector:
    client = ApiClient(BASE, {"Authorization": "x"}, retry=RetryPolicy(attempts=1), sleep=lambda s: None,
                       errors=error_table(load_connector_spec("opendental-api").rest))
    return RestConnector(load_connector_spec("opendental-api"), client, page_size=100, route="query")


def short_query(tables: dict[str, dict[int, dict[str, str]]], sent: list[str]):  # noqa: ANN201
    """A ShortQuery endpoint over ``tables`` (the fake's SQL subset, strict), recording every SQL."""
    from datetime import datetime

    from fakes.opendental_shapes import run_short_query

    def answer(request: httpx.Request) -> httpx.Response:
        sql = json.loads(request.content)["SqlCommand"]
        sent.append(sql)
        rows = run_short_query(sql, tables, datetime(2026, 3, 2, 8, 0), strict=True)
        offset = int(request.url.params.get("Offset", 0))
        return httpx.Response(200, json=rows[offset:offset + 100])

    return answer


@respx.mock
def test_the_query_route_names_the_columns_and_orders_by_the_key() -> None:
    sent: list[str] = []
    sheets = {n: {"SheetNum": str(n), "PatNum": "7", "SheetType": "11", "IsDeleted": "1" if n == 3 else "0",
                  "DateTSheetEdited": "2026-03-01 09:00:00", "RawBase64": "never"} for n in (1, 2, 3)}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=short_query({"sheet": sheets}, sent))
    table = query_connector().open(["sheet"], cursor='{"server_time": "2026-03-01 08:00:00"}',
                                   columns=["PatNum", "SheetType", "PatNum"])
    assert table is not None and table.header() == ["SheetNum", "PatNum", "SheetType"]
    assert [r[0] for r in rows(table)] == ["1", "2"]  # the soft-deleted sheet is not read
    assert sent == ["SELECT NOW()", "SELECT SheetNum, PatNum, SheetType FROM sheet WHERE DateTSheetEdited > "
                    "'2026-03-01 07:55:00' AND IsDeleted = 0 ORDER BY SheetNum"]
    assert read_cursor(table.fingerprint()) == "2026-03-02 08:00:00"


@respx.mock
def test_a_table_without_a_change_stamp_reads_keys_above_the_last_run() -> None:
    sent: list[str] = []
    mounts = {n: {"MountNum": str(n), "PatNum": "7", "DocCategory": "3"} for n in (11, 12, 13, 15)}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=short_query({"mount": mounts}, sent))
    table = query_connector().open(["mount"], cursor='{"server_time": null, "after_key": 12}', columns=["PatNum"])
    assert [r[0] for r in rows(table)] == ["13", "15"]
    assert sent == ["SELECT MountNum, PatNum FROM mount WHERE MountNum > 12 ORDER BY MountNum"]  # no NOW()
    assert json.loads(table.fingerprint())["after_key"] == 15
    nothing_new = query_connector().open(["mount"], cursor=table.fingerprint(), columns=["PatNum"])
    assert rows(nothing_new) == [] and json.loads(nothing_new.fingerprint())["after_key"] == 15


def test_the_query_route_never_reads_image_bodies_or_ssns() -> None:
    with pytest.raises(SourceFileError, match="never reads"):
        query_connector().open(["document"], columns=["PatNum", "RawBase64"])
    with pytest.raises(SourceFileError, match="never reads"):
        query_connector().open(["patient"], columns=["ssn"])
    with pytest.raises(ValueError, match="never SELECT"):
        query_connector().open(["patient"])


@respx.mock
def test_reconcile_lists_ids_only_where_a_bucket_differs() -> None:
    sent: list[str] = []
    stored = set(range(1, 2501))
    live = {n: {"PatPlanNum": str(n)} for n in stored - {1500, 2300}}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=short_query({"patplan": live}, sent))
    connector = query_connector()
    assert connector.reconcile(["patplan"], stored) == {1500, 2300}
    # One query for the buckets of 1000, then per differing bucket one for its buckets of 100 and one id list.
    assert len(sent) == 1 + 2 * 2, sent
    assert sent[-1] == ("SELECT PatPlanNum FROM patplan WHERE PatPlanNum >= 2300 AND PatPlanNum < 2400 "
                        "ORDER BY PatPlanNum")
    sent.clear()
    assert connector.reconcile(["patplan"], stored - {1500, 2300}) == set() and len(sent) == 1
    assert connector.reconcile(["definition"], {1}) is None  # a table that declares no deletions


@respx.mock
def test_reconcile_of_soft_deletes_counts_only_live_rows() -> None:
    sent: list[str] = []
    sheets = {n: {"SheetNum": str(n), "IsDeleted": "1" if n in (4, 9) else "0"} for n in range(1, 11)}
    respx.put(f"{BASE}/queries/ShortQuery").mock(side_effect=short_query({"sheet": sheets}, sent))
    assert query_connector().reconcile(["sheet"], set(range(1, 11))) == {4, 9}
    assert all("IsDeleted = 0" in sql for sql in sent)


# ------------------------------------------------------------------ deletions on the resources route
@respx.mock
def test_deleted_appointments_are_listed_from_the_day_before_the_last_run() -> None:
    from datetime import date

    route = respx.get(f"{BASE}/histappointments").mock(return_value=httpx.Response(
        200, json=[{"HistApptNum": 9, "HistApptAction": "Deleted", "AptNum": 41}]))
    assert connector().deleted_ids(["appointment"], date(2026, 3, 1), date(2026, 3, 3)) == {"41"}
    params = route.calls[0].request.url.params
    assert (params["HistApptAction"], params["dateStart"], params["dateEnd"]) == ("Deleted", "2026-03-01", "2026-03-03")
    assert connector().deleted_ids(["patplan"], date(2026, 3, 1), date(2026, 3, 3)) is None


@respx.mock
def test_rechecked_patients_come_one_by_one_and_an_unknown_one_is_no_evidence() -> None:
    respx.get(f"{BASE}/patients/5").mock(return_value=httpx.Response(200, json={"PatNum": 5, "PatStatus": "Deleted"}))
    respx.get(f"{BASE}/patients/6").mock(return_value=httpx.Response(404, json="Patient not found."))
    table = connector().recheck(["patient"], ["5", "6", "x; DROP"])
    assert table is not None and rows(table) == [["5", "Deleted"]]
    assert connector().recheck_limit(["patient"]) == 50 and connector().recheck_limit(["claim"]) == 0


def test_lists_that_are_whole_say_so() -> None:
    refattaches = connector().open(["refattach"], cursor='{"server_time": "2026-03-01 08:00:00"}')
    assert refattaches is not None and refattaches.complete and refattaches.change_field is None
    plans = connector().open(["patplan"], patients=["12", "3", "3"])
    assert plans is not None and plans.patients == ["3", "12"] and not plans.complete
