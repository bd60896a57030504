"""The sample practice through the whole sync, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

import pytest

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice
from pms_bridge.store import Store


@pytest.fixture(scope="module")
def sample_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=11, patients=300)
    return folder


SOURCES = {  # entity: the tables its records come from
    "provider": ["provider"], "procedure_code": ["procedurecode"], "provider_code_time": ["proccodenote"],
    "patient": ["patient"], "appointment": ["appointment"], "procedure": ["procedurelog"], "coverage": ["patplan"],
    "verification": ["insverify"], "referral": ["refattach"], "document": ["document", "mount"],
    "form": ["sheet", "eform"], "claim": ["claim"], "claim_procedure": ["claimproc"],
}


def _count(export: Path, table: str) -> int:
    with (export / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _rewrite(path: Path, change_column: str, fraction: float, seed: int) -> set[str]:
    """Change one column in a fraction of a table's rows; return the changed ids."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    col = header.index(change_column)
    picked = random.Random(seed).sample(range(len(body)), max(1, round(len(body) * fraction)))
    for i in picked:
        body[i][col] = body[i][col] + "XX" if change_column == "Pattern" else f"{float(body[i][col] or 0) + 1:.2f}"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])
    return {body[i][0] for i in picked}


def test_sample_loads_clean_and_reloads_as_upsert(
    sample_export: Path, tmp_path: Path, write_config, store_url: str
) -> None:
    export = tmp_path / "exports"
    shutil.copytree(sample_export, export)
    config = write_config(export, store_url=store_url)

    first = run_sync(load_config(config), DEMO_AS_OF)
    assert first.status == "ok" and first.quarantined == 0
    # Every exported row is one record: nothing dropped, nothing doubled.
    assert first.snapshot_counts == {entity: sum(_count(export, t) for t in tables) for entity, tables in SOURCES.items()}

    second = run_sync(load_config(config), DEMO_AS_OF)
    assert second.snapshot_counts == first.snapshot_counts
    assert sum(r.stored.inserted + r.stored.updated for r in second.resources) == 0

    changed_apts = _rewrite(export / "appointment.csv", "Pattern", 0.01, seed=1)
    changed_procs = _rewrite(export / "procedurelog.csv", "ProcFee", 0.01, seed=2)
    third = run_sync(load_config(config), DEMO_AS_OF)
    by_entity = {r.entity: r for r in third.resources if r.entity}
    assert by_entity["appointment"].stored.updated == len(changed_apts)
    assert by_entity["procedure"].stored.updated == len(changed_procs)
    assert sum(r.stored.updated for r in third.resources) == len(changed_apts) + len(changed_procs)
    assert sum(r.stored.inserted for r in third.resources) == 0
    assert third.snapshot_counts == first.snapshot_counts

    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    touched = {r["source_id"] for r in store.rows("appointment") if r["changed_run"] == third.run_id}
    store.close()
    assert touched == changed_apts


def test_planted_subjects_are_in_the_snapshot(sample_export: Path, tmp_path: Path, write_config) -> None:
    """Every patient the sample plants a problem on arrives in the store (the rules build on them)."""
    import json

    config = write_config(sample_export)
    run_sync(load_config(config), DEMO_AS_OF)
    planted = json.loads((sample_export / "planted.json").read_text())
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    patients = {r["source_id"] for r in store.rows("patient")}
    appointments = {r["source_id"] for r in store.rows("appointment")}
    store.close()
    assert {p["patient_id"] for p in planted} <= patients
    assert {p["appointment_id"] for p in planted if p["appointment_id"]} <= appointments
