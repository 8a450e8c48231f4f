"""Deployment tests: the Dockerfile run without Docker, nginx in front of two replicas."""

import os

import pytest

from tests.ui.conftest import CHROMIUM, browser  # noqa: F401  (the shared browser fixture)


@pytest.fixture
def needs_chromium():
    if CHROMIUM:
        return
    if os.environ.get("DOWNHILL_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is missing and DOWNHILL_REQUIRE_BROWSER=1")
    pytest.skip("BROWSER TEST SKIPPED: chromium not installed")
