"""Reliability tests: real `downhill` servers driven by the websocket client
(benchmarks/wsclient.py) and by Chromium."""

import asyncio
import concurrent.futures
import os
import sys
from pathlib import Path

import pytest

from tests.ui.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parents[2]
DOWNHILL = str(Path(sys.executable).with_name("downhill"))


def downhill_command(port, *extra):
    return [DOWNHILL, "--port", str(port), "--address", "127.0.0.1", "--no-browser", *extra]


@pytest.fixture(scope="module")
def server():
    """A `downhill` server of its own for this module: (url, process)."""
    port = free_port()
    proc = start_server(downhill_command(port), port)
    yield f"http://127.0.0.1:{port}/", proc
    stop_server(proc)


@pytest.fixture
def needs_chromium():
    if CHROMIUM:
        return
    if os.environ.get("DOWNHILL_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is missing and DOWNHILL_REQUIRE_BROWSER=1")
    pytest.skip("BROWSER TEST SKIPPED: chromium not installed")


def run(coroutine):
    """Run one asyncio scenario from a synchronous test, in a thread of its own (Playwright's
    sync API keeps an event loop running in this one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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
