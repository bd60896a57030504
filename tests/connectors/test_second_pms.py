"""A second PMS with no engine code: only a connector file and a mapping file (tests/connectors/acme/).

"Acme Dental Cloud" is made up: cursor-paged JSON under a `data` key, the key in an `X-Api-Key`
header, its own error table (409 "sync in progress" is transient). It is synced end to end into a
store through the same engine that reads Open Dental.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from pms_bridge.connectors import load_connector_spec
from pms_bridge.connectors.api_client import ApiConfigError, RetryPolicy
from pms_bridge.connectors.rest import RestConnector, make_client
from pms_bridge.mapping import load_mapping
from pms_bridge.model import Practice
from pms_bridge.pipeline.sync import sync
from pms_bridge.store import Store

HERE = Path(__file__).parent / "acme"
BASE = "https://api.acme-dental.test/v2"
KEY = "acme-SECRET-key"

TABLES: dict[str, list[dict[str, Any]]] = {
    "providers": [
        {"id": 1, "surname": "Doe", "role": "dds"},
        {"id": 2, "surname": "Roe", "role": "rdh"},
        {"id": 3, "surname": "Poe", "role": "dds"},
    ],
    "patients": [
        {"id": 10, "given_name": "Ann", "surname": "Ash", "dob": "1980-01-02"},
        {"id": 11, "given_name": "Bob", "surname": "Birch", "dob": "1975-05-06"},
    ],
    "appointments": [
        {"id": 100, "patient": 10, "provider": 1, "starts_at": "2026-03-03T09:00:00", "length_minutes": 60,
         "state": "booked"},
        {"id": 101, "patient": 11, "provider": 2, "starts_at": "2026-03-04T10:00:00", "length_minutes": 30,
         "state": "cancelled"},
        {"id": 102, "patient": 10, "provider": 1, "starts_at": "2026-02-20T08:00:00", "length_minutes": 45,
         "state": "done"},
    ],
}


class FakeAcme:
    """Acme's list methods: `per_page` rows under `data`, `meta.next` the cursor of the next page."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.busy_once = {"patients"}  # the practice's nightly sync runs: 409 once

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.headers.get("X-Api-Key") != KEY:
            return httpx.Response(401, json={"error": "bad key"})
        name = request.url.path.rsplit("/", 1)[-1]
        if name in self.busy_once:
            self.busy_once.discard(name)
            return httpx.Response(409, json={"error": "sync in progress"})
        rows = TABLES[name]
        size = int(request.url.params.get("per_page", 50))
        start = int(request.url.params.get("cursor", "0"))
        page = rows[start:start + size]
        more = start + size < len(rows)
        return httpx.Response(200, json={"data": page, "meta": {"next": str(start + size) if more else None}})


def acme_client(env: dict[str, str]):
    spec = load_connector_spec(HERE / "acme-api.toml")
    source = SimpleNamespace(mode=None, base_url=None, min_request_interval=None, timeout=10.0,
                             api_key_env="ACME_API_KEY")
    client = make_client(spec, source, env, sleep=lambda s: None, retry=RetryPolicy(attempts=3, initial=0, maximum=0))
    return spec, client


@respx.mock
def test_a_made_up_pms_syncs_end_to_end_from_two_declarative_files(tmp_path: Path) -> None:
    fake = FakeAcme()
    respx.get(url__startswith=BASE).mock(side_effect=fake)
    spec, client = acme_client({"ACME_API_KEY": KEY})
    mapping = load_mapping(str(HERE / "acme.toml"))
    store = Store.open(f"sqlite:///{tmp_path / 'acme.sqlite'}", Practice(key="acme", name="Acme", timezone="UTC"))
    try:
        connector = RestConnector(spec, client, page_size=spec.rest.modes["cloud"].page_size)
        report = sync(connector, mapping, store, store.start_run("run", None), spec.name, full_exports=False)
        assert report.status == "ok", report.to_summary()
        counts = store.counts()
        assert (counts["provider"], counts["patient"], counts["appointment"]) == (3, 2, 3)
        again = sync(connector, mapping, store, store.start_run("run", None), spec.name, full_exports=False)
        assert sum(r.stored.inserted + r.stored.updated for r in again.resources) == 0  # an upsert by Acme's ids
    finally:
        client.close()
        store.close()
    # Cursor paging under "data", the declared key header, the connector's own params.
    providers = [c for c in fake.calls if c.url.path.endswith("/providers")]
    assert [dict(c.url.params) for c in providers[:2]] == [{"per_page": "2"}, {"per_page": "2", "cursor": "2"}]
    assert all(c.headers["X-Api-Key"] == KEY and "Authorization" not in c.headers for c in fake.calls)
    assert all(c.url.params.get("include") == "cancelled" for c in fake.calls if c.url.path.endswith("/appointments"))
    # 409 "sync in progress" was retried (Acme's error table), not a failed resource.
    assert sum(1 for c in fake.calls if c.url.path.endswith("/patients")) == 3  # 409 then its page; the second run one page


@respx.mock
def test_the_made_up_pms_error_table_and_key_come_from_its_file() -> None:
    respx.get(url__startswith=BASE).mock(side_effect=FakeAcme())
    _, client = acme_client({"ACME_API_KEY": "wrong-key"})
    try:
        with pytest.raises(ApiConfigError, match=r"Acme refused the API key: check .*api_key_env") as exc:
            client.request("GET", "/providers")
        assert "wrong-key" not in str(exc.value)
    finally:
        client.close()


@respx.mock
def test_a_practice_config_selects_the_made_up_pms_by_its_files(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What an integrator writes: the connector and the mapping as paths, the key's variable by its own name."""
    from pms_bridge.config import load_config
    from pms_bridge.pipeline import run_sync

    respx.get(url__startswith=BASE).mock(side_effect=FakeAcme())
    monkeypatch.setenv("ACME_API_KEY", KEY)
    config = tmp_path / "acme-practice.toml"
    config.write_text(
        '[practice]\nname = "Acme Smiles"\ntimezone = "America/Chicago"\n'
        f'[source]\nconnector = "{(HERE / "acme-api.toml").as_posix()}"\nmapping = "{(HERE / "acme.toml").as_posix()}"\n'
        'api_key_env = "ACME_API_KEY"\n[store]\npath = "acme.sqlite"\n', encoding="utf-8")
    cfg = load_config(config)
    assert cfg.source.secret_env == {"api_key_env": "ACME_API_KEY"}
    waits: list[float] = []
    report = run_sync(cfg, None, http={"sleep": waits.append})  # the 409 is waited out, not slept through
    assert report.status == "ok" and report.connector == "acme-api"
    assert len(waits) == 1 and waits[0] > 0  # one retry, after a backoff
    assert {e: n for e, n in report.snapshot_counts.items() if n} == {"provider": 3, "patient": 2, "appointment": 3}
    assert KEY not in str(report.to_summary())
