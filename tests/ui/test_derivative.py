"""Lesson 1 in real Chromium: the w slider moves the tangent, the h slider the secant."""

import math

from tests.ui.conftest import model_property, open_page, set_widget_value, wait_for_data

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
