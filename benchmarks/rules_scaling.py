"""Benchmark: rule evaluation grows linearly with the practice's size.

Syncs the sample practice at two sizes, then times building the snapshot
index and evaluating every rule. Prints time per appointment and the ratio
between sizes (about 1.0 means linear). Usage:

    python benchmarks/rules_scaling.py [--patients 2000] [--factor 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import run_sync
from pms_bridge.pipeline.snapshot import load_snapshot
from pms_bridge.rules import evaluate
from pms_bridge.sample import generate_practice
from pms_bridge.store import Store


def measure(patients: int, tmp: Path) -> tuple[int, float, float, int]:
    folder = tmp / f"p{patients}"
    generate_practice(folder / "exports", as_of=DEMO_AS_OF, patients=patients)
    config = folder / "bench.toml"
    config.write_text(
        f'[practice]\nname = "Bench"\ntimezone = "America/Chicago"\n[source]\nconnector = "csv"\n'
        f'mapping = "opendental"\npath = "{(folder / "exports").as_posix()}"\n[store]\npath = "s.sqlite"\n'
    )
    cfg = load_config(config)
    run_sync(cfg, DEMO_AS_OF)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    start = time.perf_counter()
    snapshot = load_snapshot(store)
    loaded = time.perf_counter()
    findings = evaluate(snapshot, DEMO_AS_OF)
    done = time.perf_counter()
    store.close()
    return len(snapshot.appointments), loaded - start, done - loaded, len(findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--factor", type=int, default=4)
    args = parser.parse_args()
    configure_logging(0)
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(args.patients, Path(tmp))
        large = measure(args.patients * args.factor, Path(tmp))
    for label, (apts, load, rules, found) in (("small", small), ("large", large)):
        print(f"{label}: {apts:,} appointments  load+index {load:.2f}s  rules {rules:.3f}s  "
              f"({rules / apts * 1e6:.1f} us/appointment)  findings {found}")
    print(f"rules time per appointment, large/small: {(large[2] / large[0]) / (small[2] / small[0]):.2f} (1.0 = linear)")
    print(f"load+index per appointment, large/small: {(large[1] / large[0]) / (small[1] / small[0]):.2f}")


if __name__ == "__main__":
    main()
