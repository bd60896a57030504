"""The benchmarks still run against the engine as it is (tiny sizes: this checks they work, not how fast)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "prints"),
    [
        ("rules_scaling.py", ["--patients", "40", "--factor", "1"], "rules time per appointment"),
        ("sync_vs_parse.py", ["--patients", "40"], "first load:"),
    ],
)
def test_benchmark_runs(
    script: str, args: list[str], prints: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    assert prints in capsys.readouterr().out
