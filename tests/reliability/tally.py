"""Counts of the reliability scenarios run and survived, per family, for the end-of-session summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class Family:
    run: int = 0
    survived: int = 0
    seconds: float = 0.0
    exit_codes: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


class Tally:
    def __init__(self) -> None:
        self.families: dict[str, Family] = defaultdict(Family)

    def record(self, family: str, survived: bool, *, exit_code: int | None = None, seconds: float = 0.0,
               failure: str | None = None) -> None:
        entry = self.families[family]
        entry.run += 1
        entry.survived += survived
        entry.seconds += seconds
        if exit_code is not None:
            entry.exit_codes[exit_code] += 1
        if failure and not survived:
            entry.failures.append(failure)

    def lines(self) -> list[str]:
        out = []
        for name in sorted(self.families):
            f = self.families[name]
            codes = ", ".join(f"{code}: {n}" for code, n in sorted(f.exit_codes.items()))
            out.append(f"{name:<28} run {f.run:>6}  survived {f.survived:>6}  {f.seconds:7.1f}s"
                       + (f"  exit codes {{{codes}}}" if codes else ""))
        return out


TALLY = Tally()
