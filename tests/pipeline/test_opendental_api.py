"""`pms-bridge run` against a fake Open Dental: both read routes, incremental runs,
deletions, transient failures, pacing, and a wrong key."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from fakes.opendental import FakeOpenDental
from odroutes import LISTS, TASK_SINK

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import ApiConfigError, RetryPolicy
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

BOOKKEEPING = {"practice", "row_hash", "source_hash", "first_run", "changed_run", "source_updated_at"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def on_request(self, method: str, path: str) -> None:
        self.starts.append(self.now)
        self.now += 0.3  # each call takes a moment




def write_config(tmp: Path, key: str, route: str = "resources", store: str | None = None, extra: str = "") -> Path:
    config = tmp / f"{key}.toml"
    store_line = f'url = "{store}"' if store else f'path = "{key}.sqlite"'
    config.write_text(
        f'[practice]\nname = "API Dental"\nkey = "{key}"\ntimezone = "America/Chicago"\n'
        f'[source]\nconnector = "opendental-api"\nmode = "cloud"\nread_route = "{route}"\n'
        f'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n'
        f'[store]\n{store_line}\n{extra}'
    )
    return config


def run(config: Path, clock: FakeClock | None = None, **http: Any):  # noqa: ANN201
    clock = clock or FakeClock()
    options = {"clock": clock, "sleep": clock.sleep, "on_request": clock.on_request,
               "retry": RetryPolicy(attempts=8, initial=0.5, maximum=5.0), **http}
    return run_sync(load_config(config), DEMO_AS_OF, check=True, http=options)


def export_rows(export: Path, table: str) -> int:
    with (export / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def snapshot(config: Path) -> dict[str, dict[str, dict]]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    rows = {e: {r["source_id"]: {k: v for k, v in r.items() if k not in BOOKKEEPING} for r in store.rows(e)}
            for e in store.counts()}
    store.close()
    return rows


def test_resources_route_pulls_every_entity_and_runs_the_rules(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    with fake.mock():
        report = run(write_config(tmp_path, "res"))
    assert report.status == "ok", [(r.resource, r.error) for r in report.failed]
    # The API has no endpoint for providers' own code times (proccodenote): the query route reads them.
    assert report.snapshot_counts["provider_code_time"] == 0
    # Listed in full: every row of the office's table. Per-patient endpoints: the patients the rules need.
    full = {"provider": "provider", "procedure_code": "procedurecode", "patient": "patient",
            "appointment": "appointment", "procedure": "procedurelog", "verification": "insverify",
            "referral": "refattach", "claim": "claim"}
    assert {e: report.snapshot_counts[e] for e in full} == {e: export_rows(export, t) for e, t in full.items()}
    for entity, table in (("coverage", "patplan"), ("document", "document"), ("form", "sheet")):
        assert 0 < report.snapshot_counts[entity] <= export_rows(export, table) + export_rows(export, "eform"), entity
    planted = json.loads((export / "planted.json").read_text())
    assert report.checks is not None
    assert {(f.rule, f.patient_id) for f in report.checks.findings} == resources_route_findings(planted)
    assert report.requests == len(fake.requests)


def resources_route_findings(planted: list[dict]) -> set[tuple[str, str]]:
    """What the resources route finds of the planted problems. Coverage (patplans) and claim lines are lists per
    patient there, fetched for the fan-out's working set (pipeline/fanout.py: upcoming visits, recent first contacts
    and referrals); CLM001's patients, whose completed work is weeks old and who have nothing booked, are outside it:
    no coverage of theirs is on file, so no claim is missed for them (never a false task). Reaching them needs the
    fan-out to choose patients by stored claim lines, which it fetches itself: see the session notes."""
    return {(p["rule"], p["patient_id"]) for p in planted if p["rule"] != "CLM001"}


def test_both_routes_give_the_same_snapshot_and_findings(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    with fake.mock():
        by_resources = run(write_config(tmp_path, "res"))
        by_query = run(write_config(tmp_path, "qry", route="query"))
    res, qry = snapshot(tmp_path / "res.toml"), snapshot(tmp_path / "qry.toml")
    # Everything the resources route lists in full is the same row for row.
    for entity in ("provider", "procedure_code", "patient", "appointment", "procedure", "verification", "referral",
                   "claim"):
        assert res[entity] == qry[entity], entity
    # Per-patient endpoints are asked for the patients the rules need; those rows are the same too.
    for entity in ("coverage", "document", "form"):
        assert res[entity] and all(qry[entity][sid] == row for sid, row in res[entity].items()), entity
    assert [f.key for f in by_resources.checks.findings] == [f.key for f in by_query.checks.findings
                                                             if f.rule != "CLM001"]  # resources_route_findings


def test_a_second_run_without_changes_asks_only_for_changes(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    config = write_config(tmp_path, "inc")
    with fake.mock():
        run(config)
        first_count = len(fake.requests)
        fake.requests.clear()
        fake.advance(hours=1)
        second = run(config)
    incremental = {"/appointments": "DateTStamp", "/patients/Simple": "DateTStamp", "/providers": "DateTStamp",
                   "/procedurelogs": "DateTStamp", "/procedurecodes": "DateTStamp", "/insverifies": "SecDateTEdit",
                   "/claims": "SecDateTEdit", "/inssubs": "SecDateTEdit"}
    for path, param in incremental.items():
        calls = [r for r in fake.requests if r.path == path and "dateStart" not in r.params]
        assert len(calls) == 1 and param in calls[0].params, (path, [c.params for c in calls])
    assert sum(r.stored.inserted + r.stored.updated for r in second.resources) == 0
    assert second.tasks.counts["opened"] == 0
    # Per-patient endpoints: one page per patient asked; with nothing changed, only the patients with open
    # tasks of rules reading the list (pipeline/fanout.py; test_api_quiet_night.py counts them exactly).
    per_patient = [r for r in fake.requests
                   if r.path in ("/patplans", "/documents", "/sheets", "/eforms", "/claimprocs")]
    assert all("PatNum" in r.params for r in per_patient)
    assert len({(r.path, r.params["PatNum"]) for r in per_patient}) == len(per_patient)
    # What finding deletions costs: referral attachments listed in full (one page here), the appointments
    # deleted since the last run, and single GETs of the patients open referral tasks are about (at most 50).
    full = [r for r in fake.requests if r.path == "/refattaches"]
    assert len(full) == 1 and "DateTStamp" not in full[0].params
    deleted = [r for r in fake.requests if r.path == "/histappointments"]
    assert len(deleted) == 1 and deleted[0].params["HistApptAction"] == "Deleted"
    rechecked = [r for r in fake.requests if r.path.startswith("/patients/") and r.path != "/patients/Simple"]
    assert 0 < len(rechecked) <= 50
    # The rest: the incremental calls above and small reference tables; the upcoming window is listed again
    # only when the deletion list cannot be had.
    window = [r for r in fake.requests if r.path == "/appointments" and "dateStart" in r.params]
    small = [r for r in fake.requests
             if r.path in ("/definitions", "/appointmenttypes", "/carriers", "/insplans", "/clinics", "/preferences")]
    assert len(fake.requests) == (len(incremental) + len(window) + len(small) + len(per_patient) + len(full)
                                  + len(deleted) + len(rechecked)), sorted({r.path for r in fake.requests})
    assert len(window) == 0 and len(small) >= 4
    assert len(fake.requests) < first_count


def test_incremental_cost_is_pages_of_changes_plus_one(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    config = write_config(tmp_path, "cost")
    with fake.mock():
        run(config)
        fake.advance(hours=1)
        changed = [row["ProcNum"] for row in list(fake.tables["procedurelog"].values())[:130]]
        for proc in changed:
            fake.touch("procedurelog", proc, ProcFee="99.00")
        fake.requests.clear()
        report = run(config)
    calls = [r for r in fake.requests if r.path == "/procedurelogs"]
    assert len(calls) <= math.ceil(len(changed) / 100) + 1
    proc = next(r for r in report.resources if r.resource == "procedurelog")
    assert proc.stored.updated == len(changed)


def test_deleted_appointments_leave_the_snapshot(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    config = write_config(tmp_path, "del")
    with fake.mock():
        run(config)
        upcoming = next(r["AptNum"] for r in fake.tables["appointment"].values()
                        if r["AptStatus"] == "1" and r["AptDateTime"] >= "2026-03-03")
        fake.delete("appointment", upcoming)
        fake.advance(hours=1)
        report = run(config)
    assert upcoming not in snapshot(config)["appointment"]
    assert next(r for r in report.resources if r.resource == "appointment").removed == 1


def test_transient_failures_do_not_change_the_result(export: Path, tmp_path: Path, keys: None) -> None:
    clean, flaky = FakeOpenDental.from_export(export), FakeOpenDental.from_export(export)
    with clean.mock():
        run(write_config(tmp_path, "clean"))
    flaky.set_fault_rate(0.2, seed=3)
    with flaky.mock():
        report = run(write_config(tmp_path, "flaky"))
    assert report.status == "ok"
    assert snapshot(tmp_path / "clean.toml") == snapshot(tmp_path / "flaky.toml")
    assert sum(1 for r in flaky.requests if r.status is None or r.status >= 400) > 10


def test_the_request_rate_is_never_exceeded(export: Path, tmp_path: Path, keys: None) -> None:
    fake = FakeOpenDental.from_export(export)
    clock = FakeClock()
    fake.set_fault_rate(0.1, seed=1)  # retries are paced too
    with fake.mock():
        run(write_config(tmp_path, "pace"), clock)
    gaps = [b - a for a, b in zip(clock.starts, clock.starts[1:], strict=False)]
    assert len(gaps) > 50 and min(gaps) >= 5.0 - 1e-9


def test_a_wrong_customer_key_is_a_config_error(export: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("OD_DEV", "dev-key")
    monkeypatch.setenv("OD_CUST", "wrong-SECRET-key")
    fake = FakeOpenDental.from_export(export)
    with fake.mock(), pytest.raises(ApiConfigError, match="refused the keys") as exc:
        run(write_config(tmp_path, "bad"))
    assert "SECRET" not in str(exc.value)
    assert len(fake.requests) == 1  # no retries on a config error




def office(export: Path) -> FakeOpenDental:
    fake = FakeOpenDental.from_export(export)
    for name in LISTS:
        fake.add_tasklist(name)
    return fake


def od_tasks(fake: FakeOpenDental) -> list[dict]:
    return sorted(fake.tasks.values(), key=lambda t: t["TaskNum"])


def marker_keys(fake: FakeOpenDental) -> list[str]:
    return sorted(t["Descript"].split("[pms-bridge ")[1].split("]")[0] for t in fake.tasks.values())


@pytest.mark.parametrize("route", ["resources", "query"])
def test_run_puts_tasks_into_open_dental_and_keeps_them_current(
    export: Path, tmp_path: Path, keys: None, route: str
) -> None:
    fake = office(export)
    config = write_config(tmp_path, f"tasks-{route}", route=route, extra=TASK_SINK)
    with fake.mock():
        first = run(config)
        created = od_tasks(fake)
        planted = json.loads((export / "planted.json").read_text())
        expected = len(planted) if route == "query" else len(resources_route_findings(planted))
        assert len(created) == first.tasks.open_tasks == len(first.checks.findings) == expected  # one each
        assert all(t["TaskStatus"] == "New" and t["UserNum"] == 1 for t in created)
        assert {t["ObjectType"] for t in created} <= {"Patient", "Appointment"}
        assert len(set(marker_keys(fake))) == len(created)

        fake.advance(hours=1)
        posts_before = fake.count("POST", "/tasks")
        run(config)
        assert fake.count("POST", "/tasks") == posts_before  # nothing new, nothing duplicated

        # The office fixes one problem and a person closes another task in Open Dental.
        ins = next(t for t in created if "INS002" in t["Descript"])
        patplan = ins["Descript"].split("[pms-bridge INS002:coverage:")[1].split("]")[0]
        fake.insert("insverify", {"InsVerifyNum": "", "DateLastVerified": "2026-03-02", "VerifyType": "2",
                                  "FKey": patplan, "DefNum": "0"})
        by_hand = next(t for t in created if "REF004" in t["Descript"])
        fake.mark_task_done(by_hand["TaskNum"])
        fake.advance(hours=1)
        third = run(config)
    assert fake.tasks[ins["TaskNum"]]["TaskStatus"] == "Done"  # resolved -> Done in Open Dental
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    from pms_bridge.ledger import Ledger

    ledger = {t.key: t for t in Ledger(store).tasks()}
    store.close()
    hand_key = by_hand["Descript"].split("[pms-bridge ")[1].split("]")[0]
    assert ledger[hand_key].status == "dismissed"  # closed in Open Dental -> dismissed in the ledger
    # Only the verified coverage resolves; the task closed by hand is dismissed, not resolved.
    assert third.tasks.counts["resolved"] == 1 and third.tasks.push_failures == 0


def test_flaky_network_gives_the_same_tasks_without_duplicates(export: Path, tmp_path: Path, keys: None) -> None:
    clean, flaky = office(export), office(export)
    with clean.mock():
        run(write_config(tmp_path, "t-clean", extra=TASK_SINK))
    flaky.set_fault_rate(0.2, seed=11)
    with flaky.mock():
        report = run(write_config(tmp_path, "t-flaky", extra=TASK_SINK))
    assert report.status == "ok", [s.error for s in report.tasks.sinks]
    assert marker_keys(flaky) == marker_keys(clean)
    assert snapshot(tmp_path / "t-clean.toml") == snapshot(tmp_path / "t-flaky.toml")


def test_a_wider_window_reads_details_of_the_patients_it_needs(export: Path, tmp_path: Path, keys: None) -> None:
    """The per-patient reads follow the practice's own rule settings (rules declare their horizons)."""
    from pms_bridge.pipeline.run import practice_horizons

    def detail_patients(key: str, extra: str) -> set[str]:
        fake = FakeOpenDental.from_export(export)
        with fake.mock():
            run(write_config(tmp_path, key, extra=extra))
        return {r.params["PatNum"] for r in fake.requests if r.path == "/sheets"}

    wider = "[rules.REF001]\nlookback_days = 300\n"  # first contacts of 300 days, not 90
    narrow = detail_patients("narrow", "")
    wide = detail_patients("wide", wider)
    assert narrow < wide  # more recent first contacts' forms are read, none fewer
    needs = practice_horizons(load_config(write_config(tmp_path, "needs", extra=wider)))
    assert (needs.first_contact_days, needs.window_days) == (300, 14)
