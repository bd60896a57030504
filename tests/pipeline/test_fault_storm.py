"""`pms-bridge run` through a fault storm on the Open Dental API (a fifth of all requests fail: 5xx, refused
connections, answers lost after the work was done), in simulated time: the run ends with the clean run's
snapshot and tasks, no duplicate task in Open Dental, in a small multiple of the clean run's time; a dead or
mostly failing API ends the run quickly as unreachable (exit code 3)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.faults import STORM_KINDS, StormyOpenDental
from odroutes import FakeClock  # each request takes 0.3 simulated seconds

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import ApiUnavailable
from pms_bridge.connectors.spec import load_connector_spec
from pms_bridge.errors import ErrorKind, kind_of
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

SPEC = load_connector_spec("opendental-api")
LISTS = {"patient": "Patient Coordinator", "scheduling": "Scheduling Coordinator",
         "financial": "Financial Coordinator", "clinical": "Clinical Coordinator"}
BOOKKEEPING = {"practice", "row_hash", "source_hash", "first_run", "changed_run", "source_updated_at"}


def office(export: Path, mode: str) -> StormyOpenDental:
    settings = SPEC.rest.modes[mode]
    fake = StormyOpenDental.from_export(export, base_url=settings.base_url, page_size=settings.page_size)
    for name in LISTS.values():
        fake.add_tasklist(name)
    return fake


def write_config(tmp: Path, key: str, mode: str) -> Path:
    config = tmp / f"{key}.toml"
    lists = "".join(f'{role} = "{name}"\n' for role, name in LISTS.items())
    config.write_text(
        f'[practice]\nname = "Storm Dental"\nkey = "{key}"\ntimezone = "America/Chicago"\n'
        f'[source]\nconnector = "opendental-api"\nmode = "{mode}"\n'
        'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n'
        f'[store]\npath = "{key}.sqlite"\n'
        f'[[sinks]]\ntype = "opendental-tasks"\nuser_num = 1\n[sinks.task_lists]\n{lists}'
    )
    return config


def run(config: Path, mode: str, clock: FakeClock, seed: int = 0) -> Any:
    # The client takes the retries and the timeout the connector file declares for the mode.
    http = {"clock": clock, "sleep": clock.sleep, "on_request": clock.on_request, "rng": random.Random(seed)}
    return run_sync(load_config(config), DEMO_AS_OF, check=True, http=http)


def snapshot(config: Path) -> dict[str, dict[str, dict]]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return {e: {r["source_id"]: {k: v for k, v in r.items() if k not in BOOKKEEPING} for r in store.rows(e)}
                for e in store.counts()}
    finally:
        store.close()


def task_keys(fake: StormyOpenDental) -> list[str]:
    return sorted(t["Descript"].split("[pms-bridge ")[1].split("]")[0] for t in fake.tasks.values())


@dataclass
class CleanRun:
    snapshot: dict[str, dict[str, dict]]
    task_keys: list[str]
    seconds: float
    requests: int


@pytest.fixture(scope="module")
def clean_runs(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CleanRun]:
    """The sample practice run once per mode without faults: what a storm's run must match."""
    folder = tmp_path_factory.mktemp("clean-runs")
    runs = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OD_DEV", "dev-key")
        env.setenv("OD_CUST", "cust-key")
        for mode in ("service", "cloud"):
            fake, clock = office(export, mode), FakeClock()
            config = write_config(folder, f"clean-{mode}", mode)
            with fake.mock():
                assert run(config, mode, clock).status == "ok"
            runs[mode] = CleanRun(snapshot(config), task_keys(fake), clock.now, len(fake.requests))
    return runs


@pytest.mark.parametrize("mode", ["service", "cloud"])
def test_a_fault_storm_gives_the_clean_result_in_a_small_multiple_of_its_time(
    clean_runs: dict[str, CleanRun], export: Path, tmp_path: Path, keys: None, mode: str
) -> None:
    clean, stormy, clock = clean_runs[mode], office(export, mode), FakeClock()
    stormy.storm(0.2, seed=4)
    with stormy.mock():
        report = run(write_config(tmp_path, f"storm-{mode}", mode), mode, clock, seed=4)

    assert report.status == "ok", [(r.resource, r.error) for r in report.failed]
    # The storm was one: every kind of fault, about a fifth of all requests, answers lost after a task was made.
    assert set(stormy.faults) == set(STORM_KINDS)
    assert 0.15 <= sum(stormy.faults.values()) / len(stormy.requests) <= 0.25
    assert any(r.method == "POST" and r.path == "/tasks" for r in stormy.lost_answers)
    # Same snapshot, same tasks, no task twice in Open Dental.
    assert snapshot(tmp_path / f"storm-{mode}.toml") == clean.snapshot
    keys_made = task_keys(stormy)
    assert keys_made == clean.task_keys and len(keys_made) == len(set(keys_made)) > 0
    assert report.tasks.push_failures == 0
    # The issue asks for at most ~3x the clean run; the shipped retries keep it under 2x.
    assert clock.now <= 2.0 * clean.seconds, (clock.now, clean.seconds)


@pytest.mark.parametrize("mode", ["service", "cloud"])
def test_a_storm_whose_lost_answers_each_cost_the_modes_full_timeout_stays_within_a_few_clean_runs(
    clean_runs: dict[str, CleanRun], export: Path, tmp_path: Path, keys: None, mode: str
) -> None:
    """A lost answer is only noticed when the read timeout runs out: the mode's timeout bounds what it costs."""
    clean, stormy, clock = clean_runs[mode], office(export, mode), FakeClock()
    stormy.storm(0.2, seed=4)
    stormy.on_lost = lambda kind: clock.sleep(SPEC.rest.modes[mode].timeout if kind == "lost-timeout" else 0.0)
    with stormy.mock():
        report = run(write_config(tmp_path, f"slow-storm-{mode}", mode), mode, clock, seed=4)
    assert report.status == "ok" and report.tasks.push_failures == 0
    assert any(kind == "lost-timeout" for kind in stormy.faults)
    # Measured: service 3.6x since the claim lines (/claimprocs, per patient) joined the run: more requests, more
    # lost answers each costing the 20 s timeout, while a clean request costs the fake clock next to nothing.
    assert clock.now <= 4.0 * clean.seconds, (clock.now / clean.seconds)


@pytest.mark.parametrize(("mode", "limit"), [("service", 35.0), ("cloud", 80.0)])
def test_a_dead_api_ends_the_run_as_unreachable_after_one_requests_retries(
    export: Path, tmp_path: Path, keys: None, mode: str, limit: float
) -> None:
    fake = office(export, mode)
    fake.storm(1.0, seed=1, kinds=("503", "connect"))
    clock = FakeClock()
    with fake.mock(), pytest.raises(ApiUnavailable, match="still failing after 8 attempts") as exc:
        run(write_config(tmp_path, f"dead-{mode}", mode), mode, clock)
    assert kind_of(exc.value) is ErrorKind.SOURCE  # exit code 3: the next run tries again
    assert len(fake.requests) == SPEC.rest.modes[mode].retry.attempts
    assert clock.now <= limit


def test_an_api_failing_half_the_time_ends_the_run_on_the_retry_budget(
    clean_runs: dict[str, CleanRun], export: Path, tmp_path: Path, keys: None
) -> None:
    clean, stormy, clock = clean_runs["service"], office(export, "service"), FakeClock()
    stormy.storm(0.5, seed=2)
    with stormy.mock(), pytest.raises(ApiUnavailable, match="all its retry budget allows") as exc:
        run(write_config(tmp_path, "half", "service"), "service", clock, seed=2)
    assert kind_of(exc.value) is ErrorKind.SOURCE
    # It gave up before sending as many requests as the clean run needed, instead of crawling to the end
    # (which, with half the requests failing and each waiting out its backoff, takes over twice as long).
    assert len(stormy.requests) < clean.requests
    assert clock.now < 1.5 * clean.seconds
