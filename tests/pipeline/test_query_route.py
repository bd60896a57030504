"""The API's query route (PUT /queries/ShortQuery): what SQL pms-bridge sends, and what it costs.

Every query names its columns (the ones the mapping reads; never image bodies or SSNs) and orders by the
table's primary key, so Offset paging never skips or repeats rows. The fake runs in strict mode here: it
refuses SELECT * on document and patient and any row query without ORDER BY.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fakes.opendental import FakeOpenDental
from odroutes import config, night

from pms_bridge.connectors import load_connector_spec

NEVER = ("RawBase64", "Thumbnail", "SSN")




def sql_sent(fake: FakeOpenDental) -> list[str]:
    return [r.json["SqlCommand"] for r in fake.requests if r.path == "/queries/ShortQuery"]


def test_every_query_names_its_columns_and_orders_by_the_key(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export, strict_queries=True)
    path = config(tmp_path, "query")
    first = night(fake, path)
    fake.touch("patient", "1", Preferred="Kit")
    fake.advance(hours=20)
    second = night(fake, path)
    assert first.status == second.status == "ok", [(r.resource, r.error) for r in first.failed + second.failed]
    queries = [q for q in sql_sent(fake) if q != "SELECT NOW()"]
    assert queries
    for sql in queries:
        assert " ORDER BY " in sql, sql
        assert "*" not in sql.replace("COUNT(*)", ""), sql
        assert not any(column.lower() in sql.lower() for column in NEVER), sql
    # Every table is read by its primary key order, and the rows read carry only the columns asked for.
    spec = load_connector_spec("opendental-api").query
    assert spec is not None
    for name, table in spec.tables.items():
        reads = [q for q in queries if re.search(rf"\bFROM {table.table or name}\b", q) and "FLOOR(" not in q]
        assert all(q.endswith(f"ORDER BY {table.pk}") for q in reads), (name, reads)
    answers = [r for r in fake.requests if r.path == "/queries/ShortQuery" and r.status == 200]
    assert answers


def test_the_strict_fake_refuses_select_star_on_documents_and_patients(export: Path) -> None:
    fake = FakeOpenDental.from_export(export, strict_queries=True)
    with fake.mock(), httpx.Client(base_url=fake.base_url, headers=fake.headers()) as client:
        def status(sql: str) -> int:
            return client.put("/queries/ShortQuery", json={"SqlCommand": sql}).status_code

        assert status("SELECT * FROM document ORDER BY DocNum") == 400
        assert status("SELECT * FROM patient ORDER BY PatNum") == 400
        assert status("SELECT PatNum, LName FROM patient") == 400  # no ORDER BY
        assert status("SELECT PatNum, LName FROM patient ORDER BY PatNum") == 200
        rows = client.put("/queries/ShortQuery", json={"SqlCommand": "SELECT DocNum FROM document ORDER BY DocNum"})
        assert rows.json() and set(rows.json()[0]) == {"DocNum"}
    assert all("SSN" in row for row in fake.tables["patient"].values())  # it is there to be never asked for


def test_an_unchanged_night_costs_one_bucket_query_per_table_that_deletes(
    export: Path, tmp_path: Path, keys: None
) -> None:
    fake = FakeOpenDental.from_export(export, strict_queries=True)
    path = config(tmp_path, "query")
    night(fake, path, check=False)
    fake.requests.clear()
    fake.advance(hours=20)
    night(fake, path, check=False)
    spec = load_connector_spec("opendental-api").query
    assert spec is not None
    deleting = {name for name, table in spec.tables.items() if table.deletes}
    buckets = [q for q in sql_sent(fake) if "FLOOR(" in q]
    listed = [q for q in sql_sent(fake) if re.match(r"SELECT \w+ FROM \w+ WHERE \w+ >= \d+ AND", q)]
    assert len(buckets) == len(deleting) and not listed, (buckets, listed)
    # ... and a deletion costs a bucket query per level and one short id list, for that table only.
    fake.requests.clear()
    claim = str(max(fake.tables["claim"]))
    fake.delete("claim", claim)
    fake.advance(hours=20)
    report = night(fake, path, check=False)
    assert next(r for r in report.resources if r.resource == "claim").removed == 1
    extra = [q for q in sql_sent(fake) if "FROM claim " in q and ("FLOOR(" in q or ">=" in q)]
    assert len(extra) == 3, extra  # buckets of 1000, buckets of 100, the ids of one bucket of 100
