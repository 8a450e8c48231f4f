"""Restart: the server is killed mid-session and started again; reloading the page shows the
same lesson in the same state (the page's address carries it: app/url_state.py) within 5 s
of the new server answering."""

import re
import time

from playwright.sync_api import expect

from tests.reliability.conftest import downhill_command
from tests.ui.conftest import (
    free_port,
    open_tab,
    set_widget_value,
    start_server,
    stop_server,
    wait_for_data,
    wait_for_models,
    widget_value,
)

ETA = 10**-0.5
RESTORED_WITHIN = 5.0
FIRST_STEP_JS = "Math.abs(d.x0[1] - {x1}) < 1e-9 && Math.abs(d.y0[1] - {y1}) < 1e-9"


def test_killed_server_restarts_and_a_reload_restores_the_lesson_within_5_s(browser,
                                                                             needs_chromium):
    port = free_port()
    command = downhill_command(port)
    url = f"http://127.0.0.1:{port}/"
    proc = start_server(command, port)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(url)
        wait_for_models(page, ["derivative-figure"])
        open_tab(page, "Gradient descent", names=["landscape-trajectory"])
        set_widget_value(page, "Learning rate", -0.5)
        wait_for_data(page, "landscape-trajectory",
                      FIRST_STEP_JS.format(x1=4 - 8 * ETA, y1=3 - 18 * ETA))
        # The address now names the tab and η.
        page.wait_for_function("() => /[?&]tab=descent/.test(location.search) && "
                               "/[?&]lr=/.test(location.search)")

        proc.kill()  # mid-session, no goodbye
        proc.wait(timeout=10)
        started = time.monotonic()
        proc = start_server(command, port)
        answered = time.monotonic()
        page.reload()
        wait_for_models(page, ["landscape-trajectory"])
        tab = page.locator(".bk-tab", has_text="Gradient descent").first
        expect(tab).to_have_class(re.compile(r"\bbk-active\b"))
        wait_for_data(page, "landscape-trajectory",
                      FIRST_STEP_JS.format(x1=4 - 8 * ETA, y1=3 - 18 * ETA))
        restored = time.monotonic()
        assert abs(widget_value(page, "Learning rate") - (-0.5)) < 1e-9
        print(f"restart: server answered {answered - started:.1f} s after the kill's restart; "
              f"page restored {restored - answered:.1f} s later")
        assert restored - answered <= RESTORED_WITHIN
    finally:
        context.close()
        stop_server(proc)
