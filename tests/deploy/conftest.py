"""Deployment tests: the Dockerfile run without Docker, nginx in front of two replicas."""

import os

import pytest

from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def needs_chromium():
    if CHROMIUM:
        return
    if os.environ.get("DOWNHILL_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is missing and DOWNHILL_REQUIRE_BROWSER=1")
    pytest.skip("BROWSER TEST SKIPPED: chromium not installed")


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module only: two sync Playwright instances cannot be alive at once
    in one thread, so this one is gone before the next directory's starts."""
    if not CHROMIUM:
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
