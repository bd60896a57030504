"""The canonical CSV bundle: documented, and a lossless way into the model."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

from odexport import csv_config, write_export

from pms_bridge.config import load_config
from pms_bridge.mapping.docs import canonical_csv_reference
from pms_bridge.model import ENTITY_TYPES
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

REPO = Path(__file__).resolve().parents[2]
BOOKKEEPING = {"practice", "row_hash", "source_hash", "first_run", "changed_run"}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date | Decimal):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return str(value)


def _snapshot(config: Path) -> dict[str, list[dict]]:
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    rows = {m.entity: [{k: v for k, v in r.items() if k not in BOOKKEEPING} for r in store.rows(m.entity)]
            for m in ENTITY_TYPES}
    store.close()
    return rows


def test_canonical_round_trip_reproduces_the_snapshot(tmp_path: Path) -> None:
    od = write_export(tmp_path / "od")
    od_config = csv_config(tmp_path, od, "opendental", "from-od")
    run_sync(load_config(od_config), None)
    original = _snapshot(od_config)

    canonical = tmp_path / "canonical"
    canonical.mkdir()
    for model in ENTITY_TYPES:
        with (canonical / f"{model.table}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(list(model.model_fields))
            for row in original[model.entity]:
                writer.writerow([_cell(row[f]) for f in model.model_fields])

    can_config = csv_config(tmp_path, canonical, "canonical", "from-canonical")
    report = run_sync(load_config(can_config), None)
    assert report.status == "ok", [(r.resource, r.error) for r in report.failed]
    assert _snapshot(can_config) == original


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    export = tmp_path / "canonical"
    export.mkdir()
    (export / "patients.csv").write_text("source_id,last_name\n1,Testlast\n2,\n", encoding="utf-8")
    (export / "appointments.csv").write_text(
        "source_id,patient_id,start,minutes,status\n9,1,2026-03-03T09:00,60,scheduled\n", encoding="utf-8"
    )
    config = csv_config(tmp_path, export, "canonical", "minimal")
    report = run_sync(load_config(config), None)
    assert report.status == "ok"
    assert report.snapshot_counts["patient"] == 2 and report.snapshot_counts["appointment"] == 1


def test_reference_page_is_up_to_date() -> None:
    """docs/canonical-csv.md is generated: regenerate with `pms-bridge schema canonical > docs/canonical-csv.md`."""
    assert (REPO / "docs" / "canonical-csv.md").read_text(encoding="utf-8") == canonical_csv_reference() + "\n"
