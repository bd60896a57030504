"""Benchmark: a whole sync against merely parsing the same CSV files.

Prints ratios (sync time / parse time), not absolute targets, so results
compare across machines. Usage:

    python benchmarks/sync_vs_parse.py [--patients 20000]
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice


def parse_only(folder: Path) -> tuple[int, float]:
    start = time.perf_counter()
    rows = 0
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            for _ in csv.reader(fh):
                rows += 1
    return rows, time.perf_counter() - start


def timed_sync(config: Path) -> float:
    start = time.perf_counter()
    report = run_sync(load_config(config), DEMO_AS_OF)
    elapsed = time.perf_counter() - start
    if report.status != "ok":
        sys.exit(f"sync was {report.status}: {[r.error for r in report.failed]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20000)
    args = parser.parse_args()
    configure_logging(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "exports"
        generate_practice(folder, as_of=DEMO_AS_OF, patients=args.patients)
        config = Path(tmp) / "bench.toml"
        config.write_text(
            f'[practice]\nname = "Bench"\ntimezone = "America/Chicago"\n[source]\nconnector = "csv"\n'
            f'mapping = "opendental"\npath = "{folder.as_posix()}"\n[store]\npath = "state/bench.sqlite"\n'
        )
        rows, parse = parse_only(folder)
        first = timed_sync(config)
        again = timed_sync(config)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows: {rows:,}  parse only: {parse:.2f}s")
    print(f"first load:  {first:.2f}s  ratio to parse {first / parse:.1f}x  ({rows / first:,.0f} rows/s)")
    print(f"reload same: {again:.2f}s  ratio to parse {again / parse:.1f}x  ({rows / again:,.0f} rows/s)")
    print(f"peak memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
