"""The reliability suite's summary: scenarios run and survived per family, printed after the tests."""

from __future__ import annotations

import pytest
from reliability.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.families:
        return
    terminalreporter.section("reliability: scenarios run / survived")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
