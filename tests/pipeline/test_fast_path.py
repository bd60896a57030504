"""The next night's fast path (rows whose source hash is stored are not mapped again) ends exactly where a
full, slow reload of the same files into a fresh store ends: the same snapshot, findings and open tasks."""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.mapping.compile import BoundResource
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store
from pms_bridge.store.schema import SNAPSHOT_TABLES

# What differs between a store that lived through several nights and a fresh one, by design.
RUN_BOOKKEEPING = {"practice", "first_run", "changed_run"}
TASK_BOOKKEEPING = {"created_at", "updated_at", "last_run", "resolved_at", "reason"}


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], body: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])


def _edit(path: Path, fraction: float, seed: int, change: Callable[[dict[str, str]], None]) -> int:
    """Change a seeded fraction of a table's rows in place; returns how many."""
    header, body = _read(path)
    picked = random.Random(seed).sample(range(len(body)), max(1, round(len(body) * fraction)))
    for i in picked:
        row = dict(zip(header, body[i], strict=True))
        change(row)
        body[i] = [row[c] for c in header]
    _write(path, header, body)
    return len(picked)


def _drop(path: Path, count: int, seed: int) -> int:
    header, body = _read(path)
    gone = set(random.Random(seed).sample(range(len(body)), count))
    _write(path, header, [row for i, row in enumerate(body) if i not in gone])
    return count


def _append_copy(path: Path, key: str, seed: int) -> int:
    """A new row: a copy of a seeded row under a new id."""
    header, body = _read(path)
    row = list(random.Random(seed).choice(body))
    row[header.index(key)] = str(max(int(r[header.index(key)]) for r in body) + 1)
    _write(path, header, [*body, row])
    return 1


def _next_night(export: Path) -> int:
    """About 2% of the rows change, a few go, one arrives; returns how many rows now read differently."""
    def rename(row: dict[str, str]) -> None:
        row["LName"] += "son"

    def move(row: dict[str, str]) -> None:
        if row["AptDateTime"][:4] > "0001":
            row["AptDateTime"] = (DEMO_AS_OF.replace(tzinfo=None) + timedelta(days=2, hours=1)).isoformat(" ")
        row["Confirmed"] = "2" if row["Confirmed"] != "2" else "1"

    def complete(row: dict[str, str]) -> None:
        row["ProcStatus"] = "2" if row["ProcStatus"] != "2" else "1"

    changed = _edit(export / "patient.csv", 0.03, 1, rename)
    changed += _edit(export / "appointment.csv", 0.02, 2, move)
    changed += _edit(export / "procedurelog.csv", 0.02, 3, complete)
    _drop(export / "procedurelog.csv", 3, 4)
    _drop(export / "document.csv", 2, 5)
    changed += _append_copy(export / "appointment.csv", "AptNum", 6)
    return changed


def _snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    return {entity: [{k: v for k, v in row.items() if k not in RUN_BOOKKEEPING} for row in store.rows(entity)]
            for entity in SNAPSHOT_TABLES}


def _open_tasks(store: Store) -> list[dict[str, Any]]:
    rows = [{k: v for k, v in row.items() if k not in TASK_BOOKKEEPING} for row in store.task_rows(["open"])]
    return sorted(rows, key=lambda r: r["key"])


def _state(config: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return _snapshot(store), _open_tasks(store)
    finally:
        store.close()


@pytest.fixture
def mapped_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The source of every row mapped (not skipped as unchanged), in order."""
    mapped: list[str] = []
    original = BoundResource.map_row

    def spy(self: BoundResource, row: Any) -> Any:
        mapped.append(self.source)
        return original(self, row)

    monkeypatch.setattr(BoundResource, "map_row", spy)
    yield mapped


def _config(tmp_path: Path, name: str, export: Path, write_config: Any) -> Path:
    config = write_config(export)
    own = tmp_path / f"{name}.toml"
    own.write_text(config.read_text().replace("state/store.sqlite", f"state/{name}.sqlite"))
    return own


def _nightly_copy(export: Path, tmp_path: Path, write_config: Any) -> tuple[Path, Path]:
    """A copy of the sample exports to change, and the config of the store that lives through the nights."""
    files = tmp_path / "exports"
    shutil.copytree(export, files)
    return files, _config(tmp_path, "nightly", files, write_config)


def test_the_next_nights_fast_path_equals_a_full_reload(
    export: Path, tmp_path: Path, write_config: Any, mapped_rows: list[str]
) -> None:
    files, nightly = _nightly_copy(export, tmp_path, write_config)
    first = run_sync(load_config(nightly), DEMO_AS_OF, check=True)
    assert first.status == "ok" and len(mapped_rows) == sum(r.rows_read for r in first.resources if r.entity)

    changed = _next_night(files)
    mapped_rows.clear()
    as_of = DEMO_AS_OF + timedelta(days=1)
    second = run_sync(load_config(nightly), as_of, check=True)
    assert second.status == "ok"
    assert len(mapped_rows) == changed  # only the rows that read differently were mapped
    assert sum(r.stored.updated + r.stored.inserted for r in second.resources) == changed

    fresh = _config(tmp_path, "fresh", files, write_config)
    reload = run_sync(load_config(fresh), as_of, check=True)
    assert reload.checks is not None and second.checks is not None
    assert sorted(f.key for f in second.checks.findings) == sorted(f.key for f in reload.checks.findings)
    assert [f.detail for f in sorted(second.checks.findings, key=lambda f: f.key)] == \
        [f.detail for f in sorted(reload.checks.findings, key=lambda f: f.key)]
    nightly_snapshot, nightly_tasks = _state(nightly)
    fresh_snapshot, fresh_tasks = _state(fresh)
    assert nightly_snapshot == fresh_snapshot  # source hashes included
    assert nightly_tasks == fresh_tasks


def test_a_renamed_reference_row_remaps_the_rows_that_look_it_up(
    export: Path, tmp_path: Path, write_config: Any, mapped_rows: list[str]
) -> None:
    """A row whose own cells did not change still maps differently when a definition it looks up is renamed:
    the reference rows are part of its hash."""
    files, nightly = _nightly_copy(export, tmp_path, write_config)
    run_sync(load_config(nightly), DEMO_AS_OF)
    header, body = _read(files / "definition.csv")
    for row in body:
        if row[header.index("ItemName")] == "Unconfirmed":
            row[header.index("ItemName")] = "Not yet confirmed"
    _write(files / "definition.csv", header, body)

    mapped_rows.clear()
    run_sync(load_config(nightly), DEMO_AS_OF)
    _, appointments = _read(files / "appointment.csv")
    _, providers = _read(files / "provider.csv")
    assert mapped_rows.count("appointment.csv") == len(appointments)  # appointment.Confirmed looks definitions up
    assert mapped_rows.count("provider.csv") == len(providers)  # provider.Specialty too
    assert "procedurelog.csv" not in mapped_rows and "patient.csv" not in mapped_rows

    fresh = _config(tmp_path, "fresh", files, write_config)
    run_sync(load_config(fresh), DEMO_AS_OF)
    assert _state(nightly)[0] == _state(fresh)[0]


def test_a_changed_mapping_remaps_every_row(
    export: Path, tmp_path: Path, write_config: Any, mapped_rows: list[str]
) -> None:
    files, nightly = _nightly_copy(export, tmp_path, write_config)
    run_sync(load_config(nightly), DEMO_AS_OF)
    nightly.write_text(nightly.read_text() + '\n[mapping.maps.confirmed]\n"Not Called" = true\n')

    mapped_rows.clear()
    report = run_sync(load_config(nightly), DEMO_AS_OF)
    assert report.status == "ok"
    assert len(mapped_rows) == sum(r.rows_read for r in report.resources if r.entity)
    cfg = load_config(nightly)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        confirmations = {(r["confirmation"], r["confirmed"]) for r in store.rows("appointment")}
    finally:
        store.close()
    assert ("Not Called", True) in confirmations
