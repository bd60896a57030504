"""A row whose cells do not line up with the header (a stray delimiter or quote in the PMS's export) is
quarantined with what is wrong; trailing empty cells are only trailing delimiters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from odexport import write_export

from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def test_rows_that_do_not_fit_the_header_are_quarantined(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    path = export / "appointment.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        header, first = list(csv.reader(fh))[:2]
    width = len(header)
    row = dict(zip(header, first, strict=True))

    def cells(apt_num: str) -> list[str]:
        return [apt_num if column == "AptNum" else row[column] for column in header]

    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(_line([*cells("601"), "stray"]))  # line 4: one cell too many
        fh.write(_line(cells("602")[:-1]))  # line 5: one cell short
        fh.write(_line([*cells("603"), "", " "]))  # line 6: trailing delimiters, nothing in them
    config = write_config(export)

    report = run_sync(load_config(config), None)

    appointment = next(r for r in report.resources if r.entity == "appointment")
    assert (appointment.rows_read, appointment.quarantined, appointment.stored.inserted) == (5, 2, 3)
    assert report.status == "partial"
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        bad = sorted((q.line, q.source_id, q.reason) for q in store.quarantined(report.run_id))
        stored = {r["source_id"] for r in store.rows("appointment")}
    finally:
        store.close()
    hint = "(a delimiter or quote inside a cell?)"
    assert bad == [
        (4, None, f"row has {width + 1} cells, the header has {width} {hint}"),
        (5, None, f"row has {width - 1} cells, the header has {width} {hint}"),
    ]
    assert stored == {first[header.index("AptNum")], "501", "603"}
