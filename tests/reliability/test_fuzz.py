"""Fuzz the command line with generated bad inputs: table exports, config files and API answers.

Each case runs `pms-bridge run` in-process (CliRunner, stdout and stderr apart) on a copy of a store
a good run filled, with one input mutated. Every case must end with a documented exit code (0, 2, 3
or 4), print no traceback and no "This is a bug", and leave the stored data intact:

- exports: a stored row whose id still stands in its key column of tonight's file stays in the
  snapshot (only ids the mutation cut away, or a file that reads as an empty table, may leave);
  other tables' rows stay, and stay unchanged unless the mutated file is a reference (lookup) table;
- config files and API answers: no stored row leaves (the exports and the office are unchanged;
  a bad answer is never evidence that rows were deleted).

PMS_BRIDGE_FUZZ_CASES sets the number of cases (default 150, split 40/30/30 over the families);
PMS_BRIDGE_FUZZ_SEED the seed (default 1); PMS_BRIDGE_FUZZ_ONLY=api:38 one case. Failures that match a
reported bug (KNOWN_BUGS) make the family xfail; any other fails it. See README.md in this folder.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.opendental import FakeOpenDental
from odroutes import FakeClock
from reliability.fuzz_inputs import (
    Export,
    api_fault,
    mutate_config,
    mutate_export,
    mutate_items,
    recognizable_ids,
)
from reliability.outcome import RUN_COLUMNS
from reliability.tally import TALLY
from typer.testing import CliRunner

from pms_bridge.cli import main as cli_main
from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import RetryPolicy
from pms_bridge.mapping import load_mapping
from pms_bridge.model import Practice as PracticeModel
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice
from pms_bridge.sample.opendental_enums import PRIMARY_KEYS
from pms_bridge.store import Store

CASES = int(os.environ.get("PMS_BRIDGE_FUZZ_CASES", "150"))
SEED = int(os.environ.get("PMS_BRIDGE_FUZZ_SEED", "1"))
SHARE = {"csv": 0.4, "config": 0.3, "api": 0.3}
DOCUMENTED = {0, 2, 3, 4}
AS_OF = DEMO_AS_OF.isoformat()
KEY = "fuzz-dental"
SHOWN = 15  # failures listed in an assertion message


ONLY = os.environ.get("PMS_BRIDGE_FUZZ_ONLY", "")  # "api:38,csv:7": just these cases (to reproduce one)


def cases(family: str) -> list[int]:
    if ONLY:
        picked = [item.split(":") for item in ONLY.split(",")]
        return [int(index) for name, index in picked if name == family]
    return list(range(max(1, round(CASES * SHARE[family]))))


def case_rng(family: str, index: int) -> random.Random:
    return random.Random(f"{family}:{SEED}:{index}")


# --------------------------------------------------------------------------- the practice and its good store

def config_text(exports: Path, route: str = "csv") -> str:
    head = f'[practice]\nname = "Fuzz Dental"\nkey = "{KEY}"\ntimezone = "America/Chicago"\n\n'
    if route == "csv":
        source = (f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "{exports.as_posix()}"\n'
                  'export_mode = "full"\nmax_removal_fraction = 0.1\n\n')
    else:
        source = (f'[source]\nconnector = "opendental-api"\nmode = "cloud"\nread_route = "{route}"\n'
                  'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n\n')
    rules = '[rules]\nignore = ["SCH003"]\n\n[rules.REF001]\ndeadline_days = 10\n\n'
    sinks = '[[sinks]]\ntype = "json"\npath = "out/tasks.json"\n'
    return f'{head}{source}[store]\npath = "state/store.sqlite"\n\n{rules}{sinks}'


def stored(store_file: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Every entity's rows by id (without which run wrote them), read from a SQLite store file."""
    store = Store.open(f"sqlite:///{store_file}", PracticeModel(key=KEY, name="Fuzz Dental", timezone="America/Chicago"))
    try:
        return {e: {r["source_id"]: {k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in store.rows(e)}
                for e in store.counts()}
    finally:
        store.close()


def read_export(path: Path, protected: set[str]) -> Export:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    key = PRIMARY_KEYS.get(path.stem) or rows[0][0]
    return Export(path.stem, rows[0], rows[1:], key, protected)


@dataclass
class Practice:
    root: Path
    exports: Path
    store: Path  # a good run's store, copied for every case
    before: dict[str, dict[str, dict[str, Any]]]
    tables: dict[str, Export]
    entity_of: dict[str, str]  # resource file -> entity, where the entity's ids are the file's keys
    id_prefix: dict[str, str]  # resource file -> what the stored ids put before the file's keys
    lookups: set[str]


@pytest.fixture(scope="module")
def fuzz_practice(tmp_path_factory: pytest.TempPathFactory) -> Practice:
    root = tmp_path_factory.mktemp("fuzz")
    exports = root / "pristine"
    generate_practice(exports, as_of=DEMO_AS_OF, seed=11, patients=20)
    good = root / "good"
    good.mkdir()
    (good / "practice.toml").write_text(config_text(exports), encoding="utf-8")
    report = run_sync(load_config(good / "practice.toml"), DEMO_AS_OF, check=True)
    assert report.status == "ok"
    mapping = load_mapping("opendental")
    tables = {}
    for path in sorted(exports.glob("*.csv")):
        resource = mapping.resources.get(path.stem)
        skip = {resource.skip.column} if resource is not None and resource.skip is not None else set()
        tables[path.stem] = read_export(path, skip)
    before = stored(good / "state" / "store.sqlite")
    entity_of, id_prefix = {}, {}
    for name, resource in mapping.resources.items():
        if name not in tables or not tables[name].rows:
            continue
        have = set(before.get(resource.entity, {}))
        # Tables that share an entity (sheet and eform are forms) may prefix their ids: "eform-1".
        for prefix in (f"{name}-", ""):
            if {prefix + i for i in tables[name].ids} <= have:
                entity_of[name], id_prefix[name] = resource.entity, prefix
                break
    return Practice(root, exports, good / "state" / "store.sqlite", before, tables, entity_of, id_prefix,
                    set(mapping.lookups))


def test_the_fuzz_practice_is_a_fair_target(fuzz_practice: Practice) -> None:
    """Mutations hit tables whose ids the store holds, and every entity the rules read has rows."""
    assert {"patient", "appointment", "procedurelog", "claim"} <= set(fuzz_practice.entity_of)
    assert fuzz_practice.id_prefix["eform"] == "eform-" and fuzz_practice.id_prefix["patient"] == ""
    assert all(fuzz_practice.before.get(e) for e in ("patient", "appointment", "procedure", "claim"))


def new_case(p: Practice, family: str, index: int) -> Path:
    folder = p.root / f"{family}-{index}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(p.exports, folder / "exports", copy_function=os.link)  # read only: links are enough
    (folder / "state").mkdir()
    shutil.copy2(p.store, folder / "state" / "store.sqlite")
    return folder


# --------------------------------------------------------------------------- one case through the CLI

@dataclass
class Outcome:
    code: int
    problems: list[str]


def invoke(config: Path) -> Outcome:
    result = CliRunner().invoke(cli_main.app, ["run", "--config", str(config), "--as-of", AS_OF])
    problems = []
    if result.exit_code not in DOCUMENTED:
        problems.append(f"exit code {result.exit_code}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problems.append(f"{type(result.exception).__name__} escaped the command")
    for name, raw in (("stdout", result.stdout), ("stderr", result.stderr)):
        text = " ".join(raw.split())  # the console wraps long lines
        if "Traceback" in text:
            problems.append(f"a traceback on {name}")
        if "This is a bug" in text:
            where = re.search(r"Unexpected error \(([^)]*)\)", text)
            problems.append(f"'This is a bug' on {name}: {where.group(1) if where else '?'}")
    frames = re.search(r"frames\W+(\[[^\]]*\])", result.stderr)
    if result.exit_code == 1 and frames:
        problems.append(f"frames {frames.group(1)}")
    elif result.exit_code == 1:
        problems.append(f"stderr ends {result.stderr[-300:]!r}")
    return Outcome(result.exit_code, problems)


def lost(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], allowed: dict[str, set[str]]
         ) -> list[str]:
    out = []
    for entity, rows in before.items():
        gone = set(rows) - set(after.get(entity, {})) - allowed.get(entity, set())
        if gone:
            out.append(f"{entity}: {len(gone)} stored row(s) lost, ids {sorted(gone)[:5]}")
    return out


# Bugs in src these cases found and that are reported, by the failure text they leave: a case that hits only
# these makes the family xfail (saying which), any other failure fails it. Delete an entry once it is fixed.
KNOWN_BUGS: dict[str, list[tuple[str, str]]] = {}


def run_family(family: str, one_case: Callable[[int], tuple[Outcome, str]]) -> None:
    failures = []
    for index in cases(family):
        start = time.perf_counter()
        outcome, what = one_case(index)
        survived = not outcome.problems
        detail = f"case {index} ({what}): {'; '.join(outcome.problems)}"
        TALLY.record(f"fuzz-{family}", survived, exit_code=outcome.code, seconds=time.perf_counter() - start,
                     failure=detail)
        if not survived:
            failures.append(detail)
    known = KNOWN_BUGS.get(family, [])
    unknown = [f for f in failures if not any(re.search(pattern, f) for _, pattern in known)]
    assert not unknown, (f"{len(unknown)} of {len(cases(family))} {family} case(s) failed (seed {SEED}):\n"
                         + "\n".join(unknown[:SHOWN]))
    if failures:
        hit = sorted({label for f in failures for label, pattern in known if re.search(pattern, f)})
        pytest.xfail(f"{len(failures)} case(s) hit known bugs in src: {'; '.join(hit)}")


# --------------------------------------------------------------------------- exports

def test_fuzz_exports(fuzz_practice: Practice) -> None:
    p = fuzz_practice
    targets = sorted(name for name in set(p.entity_of) | (p.lookups & set(p.tables)) if p.tables[name].rows)

    def one(index: int) -> tuple[Outcome, str]:
        rng = case_rng("csv", index)
        folder = new_case(p, "csv", index)
        table = p.tables[rng.choice(targets)]
        mutated = mutate_export(table, rng)
        target = folder / "exports" / f"{table.name}.csv"
        target.unlink()  # a link to the pristine file: replace, never write through it
        target.write_bytes(mutated.data)
        config = folder / "practice.toml"
        config.write_text(config_text(folder / "exports"), encoding="utf-8")
        outcome = invoke(config)
        after = stored(folder / "state" / "store.sqlite")
        allowed: dict[str, set[str]] = {}
        entity = p.entity_of.get(table.name)
        if entity is not None:
            still = recognizable_ids(table, mutated)
            prefix = p.id_prefix[table.name]
            allowed[entity] = set() if still is None else {prefix + i for i in table.ids - still}
        outcome.problems += lost(p.before, after, allowed)
        if table.name not in p.lookups:
            for other, rows in p.before.items():
                if other != entity and any(after.get(other, {}).get(k) != v for k, v in rows.items()):
                    outcome.problems.append(f"{other}: rows changed by a mutation of {table.name}")
        shutil.rmtree(folder)
        return outcome, f"{table.name}: {mutated.what}"

    run_family("csv", one)


# --------------------------------------------------------------------------- config files

def test_fuzz_config_files(fuzz_practice: Practice) -> None:
    p = fuzz_practice

    def one(index: int) -> tuple[Outcome, str]:
        rng = case_rng("config", index)
        folder = new_case(p, "config", index)
        data, what = mutate_config(config_text(folder / "exports"), rng)
        config = folder / "practice.toml"
        config.write_bytes(data)
        outcome = invoke(config)
        outcome.problems += lost(p.before, stored(folder / "state" / "store.sqlite"), {})
        shutil.rmtree(folder)
        return outcome, what

    run_family("config", one)


# --------------------------------------------------------------------------- API answers

# The answer's own key per endpoint: an item mutation leaves it alone (a row without its id is a
# different test: nothing could say which stored row it was).
ITEM_KEYS = {"/appointments": {"AptNum"}, "/patients/Simple": {"PatNum"}, "/patients": {"PatNum"},
             "/providers": {"ProvNum"}, "/procedurelogs": {"ProcNum"}, "/procedurecodes": {"CodeNum"},
             "/insverifies": {"InsVerifyNum"}, "/claims": {"ClaimNum"}, "/inssubs": {"InsSubNum"},
             "/patplans": {"PatPlanNum"}, "/refattaches": {"RefAttachNum"}, "/documents": {"DocNum", "MountNum"},
             "/sheets": {"SheetNum"}, "/eforms": {"EFormNum"}, "/definitions": {"DefNum"},
             "/histappointments": {"HistApptNum", "AptNum"}, "/referrals": {"ReferralNum"},
             "/carriers": {"CarrierNum"}, "/insplans": {"PlanNum"}, "/clinics": {"ClinicNum"},
             "/appointmenttypes": {"AppointmentTypeNum"}, "/preferences": {"PrefName", "PrefNum"}}


def item_keys(request: httpx.Request, base_path: str) -> set[str]:
    path = request.url.path[len(base_path):].rstrip("/")
    if path.startswith("/patients/") and path != "/patients/Simple":
        path = "/patients"
    if path == "/queries/ShortQuery":
        match = re.search(rb"FROM\s+(\w+)", request.content or b"", re.IGNORECASE)
        table = match.group(1).decode().lower() if match else ""
        return {PRIMARY_KEYS[table]} if table in PRIMARY_KEYS else set(PRIMARY_KEYS.values())
    return ITEM_KEYS.get(path, set(PRIMARY_KEYS.values()))


@dataclass
class Office:
    fake: FakeOpenDental
    stores: dict[str, Path]  # read route -> a good run's store
    before: dict[str, dict[str, dict[str, dict[str, Any]]]]
    requests: dict[str, int]  # read route -> requests of a second (incremental) run


def _http() -> dict[str, Any]:
    clock = FakeClock()
    return {"clock": clock, "sleep": clock.sleep, "on_request": clock.on_request,
            "retry": RetryPolicy(attempts=3, initial=0.1, maximum=1.0)}


@pytest.fixture(scope="module")
def fuzz_office(fuzz_practice: Practice) -> Iterator[Office]:
    fake = FakeOpenDental.from_export(fuzz_practice.exports)
    stores, before, requests = {}, {}, {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OD_DEV", "dev-key")
        mp.setenv("OD_CUST", "cust-key")
        for route in ("resources", "query"):
            folder = fuzz_practice.root / f"good-{route}"
            folder.mkdir()
            (folder / "practice.toml").write_text(config_text(fuzz_practice.exports, route), encoding="utf-8")
            with fake.mock():
                assert run_sync(load_config(folder / "practice.toml"), DEMO_AS_OF, check=True,
                                http=_http()).status == "ok"
            stores[route] = folder / "state" / "store.sqlite"
            before[route] = stored(stores[route])
            probe = fuzz_practice.root / f"probe-{route}"
            shutil.copytree(folder, probe)
            fake.requests.clear()
            with fake.mock():
                run_sync(load_config(probe / "practice.toml"), DEMO_AS_OF, check=True, http=_http())
            requests[route] = len(fake.requests)
        yield Office(fake, stores, before, requests)


def test_fuzz_api_answers(fuzz_practice: Practice, fuzz_office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    office = fuzz_office
    fake = office.fake
    monkeypatch.setenv("OD_DEV", "dev-key")
    monkeypatch.setenv("OD_CUST", "cust-key")
    # The command line's run without real sleeps: the API client paces and backs off on a fake clock.
    monkeypatch.setattr(cli_main, "run_sync", lambda *a, **kw: run_sync(*a, **kw, http=_http()))
    original = FakeOpenDental._handle
    base_path = httpx.URL(fake.base_url).path.rstrip("/")

    def one(index: int) -> tuple[Outcome, str]:
        rng = case_rng("api", index)
        route = rng.choice(["resources", "query"])
        fault = api_fault(rng, office.requests[route])
        folder = fuzz_practice.root / f"api-{index}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "state").mkdir(parents=True)
        shutil.copy2(office.stores[route], folder / "state" / "store.sqlite")
        config = folder / "practice.toml"
        config.write_text(config_text(fuzz_practice.exports, route), encoding="utf-8")
        seen = 0
        applied = ""

        def handle(request: httpx.Request) -> httpx.Response:
            nonlocal seen, applied
            response = original(fake, request)
            seen += 1
            if seen - 1 != fault.at:
                return response
            path = request.url.path[len(base_path):]
            if fault.kind != "items":
                applied = f"{request.method} {path}"
                return httpx.Response(fault.status, content=fault.body or b"",
                                      headers={"Content-Type": "application/json", **fault.headers})
            payload, what = mutate_items(response.json(), fault, item_keys(request, base_path), rng)
            applied = f"{request.method} {path}: {what}"
            if isinstance(payload, str):
                return httpx.Response(response.status_code, content=payload.encode(),
                                      headers={"Content-Type": "application/json"})
            return httpx.Response(response.status_code, json=payload)

        fake._handle = handle  # type: ignore[method-assign]
        try:
            with fake.mock():
                outcome = invoke(config)
        finally:
            del fake._handle
        outcome.problems += lost(office.before[route], stored(folder / "state" / "store.sqlite"), {})
        shutil.rmtree(folder)
        return outcome, f"{route}, request {fault.at}: {fault.what} [{applied or 'not reached'}]"

    run_family("api", one)


# --------------------------------------------------------------------------- the checks themselves

def test_the_checks_catch_a_crash_and_a_lost_row(fuzz_practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug the fuzz cases look for is caught: an unexpected exception, and a stored row that left."""
    folder = new_case(fuzz_practice, "self", 0)
    config = folder / "practice.toml"
    config.write_text(config_text(folder / "exports"), encoding="utf-8")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted")

    monkeypatch.setattr(cli_main, "run_sync", broken)
    outcome = invoke(config)
    assert outcome.code == 1
    assert any("exit code 1" in p for p in outcome.problems)
    assert any("This is a bug" in p for p in outcome.problems)

    before = fuzz_practice.before
    after = {e: dict(rows) for e, rows in before.items()}
    gone = min(after["patient"])
    del after["patient"][gone]
    assert lost(before, after, {}) == [f"patient: 1 stored row(s) lost, ids {[gone]}"]
    assert lost(before, after, {"patient": {gone}}) == []


def test_recognizable_ids_follow_the_key_column(fuzz_practice: Practice) -> None:
    from reliability.fuzz_inputs import MutatedFile, _write

    table = fuzz_practice.tables["patient"]
    ids = sorted(table.ids, key=int)
    text = _write(table.header, table.rows)
    assert recognizable_ids(table, MutatedFile(text.encode(), "")) == table.ids
    lines = text.split("\r\n")
    lines[1] = lines[1] + ',"stray'  # an extra cell and a quote that swallows the rest of the file
    still = recognizable_ids(table, MutatedFile("\r\n".join(lines).encode(), ""))
    assert still == {lines[1].split(",")[0]}
    cut = text[: text.index("\r\n", len(text) // 2)]
    assert ids[-1] not in recognizable_ids(table, MutatedFile(cut.encode(), ""))
    assert recognizable_ids(table, MutatedFile(b"", "")) is None  # no header: nothing may leave
    assert recognizable_ids(table, MutatedFile(text.encode("utf-16"), "", "utf-8")) is None
