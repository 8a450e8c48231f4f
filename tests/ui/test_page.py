"""The whole page in real Chromium: header, four tabs, every named model, offline-clean,
and screenshots of every tab at laptop and projector sizes (tests/ui/screenshots/)."""

import pytest

from tests.ui.conftest import (
    VIEWPORTS,
    open_page,
    open_tab,
    screenshot,
    set_widget_value,
    wait_for_data,
    wait_for_models,
    wait_for_status,
)

TABS = ["Derivative", "Gradient descent", "Backpropagation", "Stochastic & adaptive"]
FIRST_TAB_MODELS = [
    "derivative-figure", "derivative-curve", "tangent-line", "secant-line", "derivative-point",
    "secant-points", "derivative-step-arrow", "error-figure", "error-forward", "error-central",
    "error-current", "secant-figure", "secant-lines", "descent1d-figure", "descent1d-path",
]
# Built when the "Gradient descent" tab is first opened (lessons load lazily).
SECOND_TAB_MODELS = [
    "landscape-figure", "landscape-image", "landscape-heatmap", "landscape-contours",
    "landscape-minima", "landscape-start", "landscape-path", "landscape-trajectory",
    "gradient-arrow", "landscape-status", "loss-figure", "loss-curve",
]
# Built when a race first needs them ("Race against"): racers 2-4's paths and loss curves.
RACER_MODELS = ["landscape-path-2", "landscape-path-3", "loss-curve-2", "loss-curve-3"]


def test_page_has_header_four_tabs_in_order_and_every_named_model(page, server_url):
    open_page(page, server_url, FIRST_TAB_MODELS)
    page.get_by_text("Downhill", exact=True).wait_for()
    page.get_by_text("How models learn").wait_for()
    titles = [t.strip() for t in page.locator(".bk-tab").all_inner_texts()]
    assert titles == TABS
    open_tab(page, TABS[1], SECOND_TAB_MODELS)
    for title in TABS[2:]:
        open_tab(page, title)
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_screenshots_of_every_tab(browser, server_url, viewport):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server_url)
        wait_for_models(page, ["derivative-figure"])
        for number, title in enumerate(TABS, start=1):
            if number > 1:
                open_tab(page, title)
            if title == "Gradient descent":
                wait_for_models(page, ["landscape-figure", "landscape-path"])
            if title == "Gradient descent":
                # Show a path: five steps on the default bowl.
                for count in range(2, 7):
                    page.get_by_role("button", name="Step downhill").click()
                    wait_for_data(page, "landscape-path", f"d.x.length === {count}")
            page.wait_for_load_state("networkidle")
            path = screenshot(page, f"tab{number}-{viewport}-{width}x{height}")
            assert path.stat().st_size > 20_000  # a rendered page, not a blank one
        assert errors == []
    finally:
        context.close()


def test_screenshot_of_a_race_on_the_narrow_valley(browser, server_url):
    """The README's picture (docs/screenshot.png is a copy): three optimizers racing."""
    width, height = VIEWPORTS["laptop"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(server_url)
        wait_for_models(page, ["derivative-figure"])
        open_tab(page, "Gradient descent", ["landscape-figure", "landscape-trajectory"])
        set_widget_value(page, "Landscape", "valley")
        wait_for_data(page, "landscape-start", "d.x[0] === -9")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        assert page.evaluate(
            "() => Bokeh.documents[0].get_model_by_name('landscape-path-2')") is None
        set_widget_value(page, "Race against (same η)", ["Momentum", "Adam"])  # labels
        wait_for_models(page, RACER_MODELS)
        wait_for_data(page, "landscape-trajectory", "'x2' in d")
        set_widget_value(page, "Speed (steps/s)", 60)
        page.evaluate("""() => {  // the lengths racer 3's path takes while it changes
            const s = Bokeh.documents[0].get_model_by_name('landscape-path-3');
            window._racer_lengths = [];
            s.connect(s.properties.data.change, () => {
                const x = s.data instanceof Map ? s.data.get('x') : s.data.x;
                window._racer_lengths.push(x.length);
            });
        }""")
        page.get_by_role("button", name="Play").click()
        wait_for_status(page, "step <b>100</b>", timeout=30_000)
        # Play found racers 2 and 3 by name (built after the page): it moved them frame by
        # frame in the browser, not only the server's path where it stopped
        assert len(set(page.evaluate("window._racer_lengths"))) > 5
        for name in ("landscape-path-2", "landscape-path-3"):
            wait_for_data(page, name, "d.x.length === 101")
        wait_for_data(page, "loss-curve-3", "d.step.length === 101")
        assert page.evaluate("""() => {
            const fig = Bokeh.documents[0].get_model_by_name('landscape-figure');
            const items = fig.center.find(m => m.items !== undefined).items;
            return items.filter(i => i.visible).map(i => i.label.value);
        }""") == ["minimum", "SGD", "Momentum", "Adam", "start (tap to move)"]
        assert errors == []
        page.wait_for_load_state("networkidle")
        path = screenshot(page, "race-valley-laptop-1366x768")
        assert path.stat().st_size > 20_000
    finally:
        context.close()
