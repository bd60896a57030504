"""The export-truncation guard at its boundaries.

A full export that lacks stored rows means they were deleted in the PMS, unless so many are missing
that the file looks cut short: more than ``MIN_SUSPICIOUS_REMOVAL`` (20) rows *and* more than
``[source] max_removal_fraction`` (default 0.1) of the stored rows. Then nothing is removed and the
resource warns. Each test sits exactly on, or one row past, one of those edges.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from odexport import csv_config, mini_practice, write_export, write_table

from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.pipeline.deletions import MIN_SUSPICIOUS_REMOVAL
from pms_bridge.store import Store


def _procedures(count: int) -> list[dict[str, str]]:
    template = mini_practice()["procedurelog"][0]
    return [template | {"ProcNum": str(1000 + i)} for i in range(count)]


def _two_nights(tmp_path: Path, stored: int, gone: int, fraction: float | None = None):
    """Night 1 exports ``stored`` procedures; night 2 the same file lacking the last ``gone`` of them.
    ``fraction``: the config's ``[source] max_removal_fraction`` (None: not set). Returns night 2's
    procedure report and the procedure ids the store holds after it."""
    tables = mini_practice()
    tables["procedurelog"] = _procedures(stored)
    export = write_export(tmp_path / "exports", tables)
    config = csv_config(tmp_path, export)
    if fraction is not None:
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('connector = "csv"\n', f'connector = "csv"\nmax_removal_fraction = {fraction}\n'),
                          encoding="utf-8")
    cfg = load_config(config)
    assert cfg.source.max_removal_fraction == (0.1 if fraction is None else fraction)
    first = run_sync(cfg, None)
    assert first.snapshot_counts["procedure"] == stored
    write_table(export, "procedurelog", tables["procedurelog"][: stored - gone])
    second = run_sync(cfg, None)
    entry = next(r for r in second.resources if r.entity == "procedure")
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        ids = {r["source_id"] for r in store.rows("procedure")}
    finally:
        store.close()
    return entry, ids


def _removed(entry, ids: set[str], stored: int, gone: int) -> None:
    assert entry.error is None
    assert entry.removed == gone and entry.warning is None, (entry.removed, entry.warning)
    assert ids == {str(1000 + i) for i in range(stored - gone)}


def _refused(entry, ids: set[str], stored: int, gone: int) -> None:
    assert entry.error is None
    assert entry.removed == 0, entry.removed
    assert entry.warning is not None and f"lacks {gone:,} of the {stored:,}" in entry.warning
    assert "max_removal_fraction" in entry.warning
    assert ids == {str(1000 + i) for i in range(stored)}


def test_the_minimum_is_twenty_rows() -> None:
    assert MIN_SUSPICIOUS_REMOVAL == 20  # the tests below sit on this edge; the docs and config say "20 rows"


# ------------------------------------------------------------------------------- the row-count edge
# 100 stored rows: 20 or 21 missing are both far above 10%, so only the row count decides.
def test_exactly_twenty_missing_rows_are_removed_even_above_the_fraction(tmp_path: Path) -> None:
    entry, ids = _two_nights(tmp_path, stored=100, gone=20)
    _removed(entry, ids, 100, 20)


def test_twenty_one_missing_rows_above_the_fraction_are_refused(tmp_path: Path) -> None:
    entry, ids = _two_nights(tmp_path, stored=100, gone=21)
    _refused(entry, ids, 100, 21)


# ------------------------------------------------------------------------------- the fraction edge
# 250 stored rows: 10% is exactly 25 rows, and 25 or 26 are both above the 20-row minimum.
def test_exactly_the_default_fraction_is_removed(tmp_path: Path) -> None:
    entry, ids = _two_nights(tmp_path, stored=250, gone=25)
    _removed(entry, ids, 250, 25)


def test_one_row_past_the_default_fraction_is_refused(tmp_path: Path) -> None:
    entry, ids = _two_nights(tmp_path, stored=250, gone=26)
    _refused(entry, ids, 250, 26)


# ------------------------------------------------------------------------- the configured fraction
@pytest.mark.parametrize(
    ("fraction", "stored", "gone", "removed"),
    [
        (0.25, 100, 25, True),  # the default (0.1) would refuse 25 of 100; 0.25 allows exactly that
        (0.25, 100, 26, False),  # one past the configured share
        (0.05, 200, 10, True),  # at most 20 rows: removed whatever the fraction
        (0.05, 400, 20, True),  # exactly 5% and exactly 20 rows
        (0.05, 400, 21, False),  # the default (0.1, 40 rows) would remove 21 of 400; 0.05 (20 rows) refuses
        (1.0, 100, 60, True),  # "raise it for one run" lets a real mass deletion through
    ],
)
def test_a_configured_max_removal_fraction_is_honoured(
    tmp_path: Path, fraction: float, stored: int, gone: int, removed: bool
) -> None:
    entry, ids = _two_nights(tmp_path, stored=stored, gone=gone, fraction=fraction)
    (_removed if removed else _refused)(entry, ids, stored, gone)
