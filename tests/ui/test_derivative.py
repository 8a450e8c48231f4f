"""Lesson 1 in real Chromium: the w slider moves the tangent, the h slider the secant."""

import math

from tests.ui.conftest import (
    model_property,
    open_page,
    phone_page,
    set_widget_value,
    wait_for_data,
    wait_for_models,
)

LESSON_MODELS = ["derivative-figure", "tangent-line", "secant-line", "derivative-point",
                 "error-figure", "error-forward", "error-central", "secant-figure",
                 "secant-lines", "descent1d-figure", "descent1d-path"]


def test_the_w_slider_moves_the_tangent_and_flips_the_advice(page, server_url):
    open_page(page, server_url, LESSON_MODELS)
    before = model_property(page, "tangent-line", "data")
    assert math.isclose((before["loss"][1] - before["loss"][0])
                        / (before["w"][1] - before["w"][0]), 2.0)
    set_widget_value(page, "w", -1.5)
    wait_for_data(page, "derivative-point", "d.w[0] === -1.5")
    wait_for_data(page, "tangent-line", "Math.abs(d.w[0] - (-1.5 - 1.6)) < 1e-12")
    tangent = model_property(page, "tangent-line", "data")
    slope = (tangent["loss"][1] - tangent["loss"][0]) / (tangent["w"][1] - tangent["w"][0])
    assert math.isclose(slope, -3.0)
    page.get_by_text("slope < 0 → step right").first.wait_for()
    assert page.recorder.console_errors == []


def test_the_h_slider_moves_the_secant_marker_on_the_error_plot(page, server_url):
    open_page(page, server_url, LESSON_MODELS)
    set_widget_value(page, "h", -6.0)  # the slider moves over log10(h)
    wait_for_data(page, "error-current", "Math.abs(d.h[0] - 1e-6) < 1e-18")
    secant_points = model_property(page, "secant-points", "data")
    assert math.isclose(secant_points["w"][1] - secant_points["w"][0], 2e-6, rel_tol=1e-6)


def test_the_worked_numbers_are_on_screen(page, server_url):
    open_page(page, server_url, LESSON_MODELS)
    for text in ("2.1", "2.01", "2.001"):
        page.locator("td", has_text=text).first.wait_for()
    iterates = model_property(page, "descent1d-path", "data")["w"]
    assert [round(w, 12) for w in iterates[:5]] == [0.0, 0.6, 1.08, 1.464, 1.7712]
    set_widget_value(page, "1-D learning rate η", 2.0)
    wait_for_data(page, "descent1d-path", "d.w[1] === 12")
    page.get_by_text("Diverging").first.wait_for()


MISSING_JS = """names => names.filter(n => Bokeh.documents[0].get_model_by_name(n) == null)"""
BELOW = ["error-figure", "descent1d-figure", "descent1d-path", "secant-figure", "secant-lines"]


def test_on_a_phone_the_parts_below_the_first_screen_arrive_when_scrolled_to(browser,
                                                                            server_url):
    with phone_page(browser, server_url) as (page, errors, outside):
        page.goto(server_url)
        wait_for_models(page, ["derivative-figure", "tangent-line", "direction-label"],
                        scroll=False)
        # A round trip to the server: whatever the page reported on arrival is answered.
        set_widget_value(page, "w", -1.5)
        wait_for_data(page, "derivative-point", "d.w[0] === -1.5")
        assert page.evaluate(MISSING_JS, BELOW) == BELOW  # not built: nobody scrolled there
        page.get_by_text("Drawing the error of the numerical slope").wait_for(state="attached")
        # A student's thumb: the page scrolls down a little at a time until the part is
        # there (nothing is clicked).
        page.wait_for_function(
            """names => {
                const doc = Bokeh.documents[0];
                if (names.every(n => doc.get_model_by_name(n) != null)) return true;
                window.scrollBy(0, 150);
                return false;
            }""",
            arg=BELOW, polling=100, timeout=30_000,
        )
        iterates = model_property(page, "descent1d-path", "data")["w"]
        assert [round(w, 12) for w in iterates[:3]] == [0.0, 0.6, 1.08]
        assert errors == [] and outside == []


def test_on_a_laptop_the_error_plot_beside_the_curve_arrives_without_scrolling(page,
                                                                                server_url):
    page.goto(server_url)
    wait_for_models(page, ["error-figure", "error-current"], scroll=False)
    assert page.evaluate("() => window.scrollY") == 0
    assert page.recorder.external_requests == [] and page.recorder.console_errors == []
