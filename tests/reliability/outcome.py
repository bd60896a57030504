"""What a practice's runs left behind, in a form two runs can be compared by: the snapshot, the
reference rows, the cursors, the task ledger, the push ledger and the tasks in the fake Open Dental."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fakes.opendental import FakeOpenDental
from sqlalchemy import select

from pms_bridge.config import load_config
from pms_bridge.ledger import Ledger
from pms_bridge.pipeline.fanout import read_fetched
from pms_bridge.store import Store, schema

# Which run wrote a row differs between a clean run and a crash plus a recovery run; nothing else may.
RUN_COLUMNS = {"practice", "first_run", "changed_run"}
MARKER = "[pms-bridge "


def open_store(config_path: Path) -> Store:
    cfg = load_config(config_path)
    return Store.open(cfg.store_url(), cfg.practice.practice())


def snapshot(store: Store) -> dict[str, dict[str, dict[str, Any]]]:
    return {entity: {r["source_id"]: {k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in store.rows(entity)}
            for entity in store.counts()}


def _rows(store: Store, table: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table).where(table.c.practice == store.practice.key)).mappings())


def marker_of(text: Any) -> str | None:
    if not isinstance(text, str) or MARKER not in text:
        return None
    return text.split(MARKER, 1)[1].split("]", 1)[0]


def od_tasks(fake: FakeOpenDental) -> list[tuple[Any, ...]]:
    """The fake's tasks, without their numbers and clocks, in marker order."""
    return sorted((marker_of(t["Descript"]) or "", t["TaskListNum"], t["KeyNum"], t["ObjectType"], t["TaskStatus"],
                   t["Descript"]) for t in fake.tasks.values())


def duplicate_markers(fake: FakeOpenDental) -> list[str]:
    counts = Counter(marker_of(t["Descript"]) for t in fake.tasks.values())
    return sorted(k or "(no marker)" for k, n in counts.items() if n > 1)


def _cursor(value: str) -> Any:
    """A cursor as it matters: a per-patient resource's says who was fetched on which day; the run that
    fetched them is a run id, and a killed run uses one up."""
    fetched = read_fetched(value)
    return {patient: day for patient, (_, day) in fetched.items()} if fetched else value


def store_state(store: Store) -> dict[str, Any]:
    """One practice's snapshot, reference rows, cursors, task ledger and push ledger in ``store``."""
    pushes = {}
    for sink in ("opendental-tasks", "opendental-commlog"):
        for row in store.push_rows(sink):
            pushes[(sink, row["key"])] = (row["state"], row["target"], row["text_hash"])
    return {
        "snapshot": snapshot(store),
        "references": {(r["lookup"], r["key"]): r["data"] for r in _rows(store, schema.reference_rows)},
        "cursors": {r["resource"]: _cursor(r["value"]) for r in _rows(store, schema.cursors)},
        "tasks": {t.key: t.to_json() for t in Ledger(store).tasks()},
        "pushes": pushes,
    }


def practice_state(config_path: Path, fake: FakeOpenDental | None = None) -> dict[str, Any]:
    store = open_store(config_path)
    try:
        state = store_state(store)
    finally:
        store.close()
    if fake is not None:
        state["od_tasks"] = od_tasks(fake)
        state["od_commlogs"] = sorted((c["PatNum"], c["Note"]) for c in fake.commlogs.values())
    return state


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Where two states differ, by part and key (ids and keys only: the values may be patient data)."""
    out: list[str] = []
    for part, want in expected.items():
        got = actual.get(part)
        if want == got:
            continue
        if isinstance(want, dict) and isinstance(got, dict):
            if part == "snapshot":
                for entity in sorted(set(want) | set(got)):
                    a, b = want.get(entity, {}), got.get(entity, {})
                    if a != b:
                        missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
                        changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
                        cols = sorted({c for k in changed for c in a[k] if a[k].get(c) != b[k].get(c)})
                        out.append(f"snapshot.{entity}: {len(missing)} missing {missing[:5]}, {len(extra)} extra "
                                   f"{extra[:5]}, {len(changed)} changed {changed[:5]} in columns {cols}")
                continue
            missing, extra = sorted(map(str, set(want) - set(got))), sorted(map(str, set(got) - set(want)))
            changed = sorted(str(k) for k in set(want) & set(got) if want[k] != got[k])
            out.append(f"{part}: {len(missing)} missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
                       f"{len(changed)} changed {changed[:5]}")
        else:
            out.append(f"{part}: {len(want or [])} expected, {len(got or [])} found")
    return out
