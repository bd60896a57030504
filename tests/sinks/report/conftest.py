"""A headless Chromium for the report's browser tests (Debian's chromium, driven by Playwright).

Skips when either is missing, unless PMS_BRIDGE_REQUIRE_SERVICES=1 (CI) turns the skip into a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _missing(reason: str) -> None:
    if os.environ.get("PMS_BRIDGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (PMS_BRIDGE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(binary):
        _missing("no chromium binary (apt-get install chromium)")
    home = tmp_path_factory.mktemp("chromium-home")  # its profile and caches stay out of the user's home
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=binary, args=BROWSER_FLAGS,
                                     env={**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
                                          "XDG_CONFIG_HOME": str(home / "config")})
        try:
            yield launched
        finally:
            launched.close()
