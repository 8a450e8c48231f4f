"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser).

Where chromium cannot be had (a laptop without root) these tests are skipped loudly;
with DOWNHILL_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser is a failure instead.
"""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    ui_items = [item for item in items if "tests/ui/" in str(item.fspath).replace(os.sep, "/")]
    for item in ui_items:
        item.add_marker(pytest.mark.browser)
    if CHROMIUM or not ui_items:
        return
    if os.environ.get("DOWNHILL_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("chromium is missing and DOWNHILL_REQUIRE_BROWSER=1: browser tests cannot run")
    skip = pytest.mark.skip(reason="BROWSER TESTS SKIPPED: chromium not installed")
    for item in ui_items:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM:
        terminalreporter.write_sep("*", "chromium missing: BROWSER TESTS WERE SKIPPED", red=True, bold=True)
