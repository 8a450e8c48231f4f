"""The page loads in real Chromium, offline-clean, and `panel serve app/main.py` serves the
same page as `downhill`."""

import sys
from pathlib import Path

import pytest

from tests.ui.conftest import (
    free_port,
    open_tab,
    start_server,
    stop_server,
    wait_for_models,
)


def test_page_loads_without_console_errors_or_external_requests(page, server_url):
    page.goto(server_url)
    wait_for_models(page, ["derivative-figure"])
    page.get_by_text("Downhill", exact=True).wait_for()
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


@pytest.fixture(scope="module")
def panel_serve_url():
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("panel")), "serve", "app/main.py",
        "--port", str(port), "--address", "127.0.0.1", "--liveness",
        "--allow-websocket-origin", f"127.0.0.1:{port}",
    ]
    proc = start_server(command, port)
    yield f"http://127.0.0.1:{port}/main"
    stop_server(proc)


def test_panel_serve_app_main_serves_the_same_page(page, panel_serve_url):
    page.goto(panel_serve_url)
    wait_for_models(page, ["derivative-figure", "descent1d-path"])
    open_tab(page, "Gradient descent", ["landscape-figure", "landscape-path"])
    assert page.recorder.console_errors == []
    assert page.recorder.external_requests == []
