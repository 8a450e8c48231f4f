"""Lesson 2's "Your function" in real Chromium: type f(x, y), press Enter, see its contours and
heatmap, step along it, get a message for bad input, open it in lesson 3."""

import re

import numpy as np
from playwright.sync_api import expect

import circuits
from tests.ui.conftest import model_property, wait_for_data, wait_for_models, wait_for_status

WAVY = "sin(x)*cos(y) + 0.1*(x**2 + y**2)"
NAMES = ["landscape-figure", "landscape-image", "landscape-contours", "landscape-path",
         "landscape-status", "landscape-trajectory"]


def contour_signature(page):
    """How many contour lines there are and where the first one starts (browser side)."""
    return page.evaluate("""() => {
        const r = Bokeh.documents[0].get_model_by_name('landscape-contours');
        const d = r.line_renderer.data_source.data;
        const xs = d instanceof Map ? d.get('xs') : d.xs;
        const ys = d instanceof Map ? d.get('ys') : d.ys;
        return [xs.length, Number(xs[0][0]), Number(ys[0][0])];
    }""")


def image_corner(page):
    return page.evaluate("""() => {
        const d = Bokeh.documents[0].get_model_by_name('landscape-image').data;
        const image = d instanceof Map ? d.get('image') : d.image;
        return Number(image[0][0]);
    }""")


def wait_for_contours_other_than(page, signature):
    page.wait_for_function(
        """before => {
            const r = Bokeh.documents[0].get_model_by_name('landscape-contours');
            const d = r.line_renderer.data_source.data;
            const xs = d instanceof Map ? d.get('xs') : d.xs;
            const ys = d instanceof Map ? d.get('ys') : d.ys;
            return xs.length !== before[0] || Number(xs[0][0]) !== before[1]
                || Number(ys[0][0]) !== before[2];
        }""",
        arg=signature, timeout=15_000,
    )


def test_typing_a_function_draws_its_contours_and_a_step_follows_its_gradient(page,
                                                                             server_url):
    page.goto(server_url + "?tab=descent")
    wait_for_models(page, NAMES)
    bowl_contours, bowl_corner = contour_signature(page), image_corner(page)
    box = page.get_by_label("Your function f(x, y)")
    box.fill(WAVY)
    box.press("Enter")
    wait_for_contours_other_than(page, bowl_contours)
    # The heatmap's corner cell is f at its centre: (−4.97, −4.97) on the default domain.
    corner = -5 + 5 / 160
    expected = circuits.to_landscape(WAVY).loss(np.array([corner, corner]))
    page.wait_for_function(
        """expected => {
            const d = Bokeh.documents[0].get_model_by_name('landscape-image').data;
            const image = d instanceof Map ? d.get('image') : d.image;
            return Math.abs(image[0][0] - expected) < 1e-5;
        }""", arg=float(expected), timeout=15_000)
    assert image_corner(page) != bowl_corner
    assert page.evaluate(  # too long for a phone's map: the formula is in the text beside
        "() => Bokeh.documents[0].get_model_by_name('landscape-figure').title.text"
    ) == "Your function f(x, y)"
    # One step from the start (4, 3) follows the exact gradient of the typed function.
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    path = model_property(page, "landscape-path", "data")
    step = np.array([4.0, 3.0]) - 0.1 * circuits.to_landscape(WAVY).grad(np.array([4.0, 3.0]))
    assert np.allclose([path["x"][1], path["y"][1]], step, rtol=0, atol=1e-12)
    wait_for_status(page, "step <b>1</b>")
    assert page.recorder.console_errors == []
    assert page.recorder.external_requests == []


def test_a_bad_function_shows_a_message_and_the_map_stays(page, server_url):
    page.goto(server_url + "?tab=descent")
    wait_for_models(page, NAMES)
    before = contour_signature(page)
    box = page.get_by_label("Your function f(x, y)")
    box.fill("log(x) + y**2")
    box.press("Enter")
    expect(page.get_by_text("where log(x) is NaN")).to_be_visible()
    assert contour_signature(page) == before
    assert model_property(page, "landscape-path", "data") == {"x": [4.0], "y": [3.0]}
    # The same function over a domain where log is defined is drawn.
    x_from = page.get_by_label("x from")
    x_from.fill("0.5")
    x_from.press("Enter")
    page.get_by_role("button", name="Draw f").click()
    wait_for_contours_other_than(page, before)
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('landscape-x-range').start === 0.5")
    expect(page.get_by_text("where log(x) is NaN")).to_be_hidden()
    assert page.recorder.console_errors == []


def test_a_link_with_fn_and_dom_opens_the_function_and_lesson_3_opens_it_as_a_circuit(
        page, server_url):
    page.goto(server_url + "?tab=descent&fn=x**2%2B3*y**2&dom=-2,6,-1,3&start=5,2&lr=0.05")
    wait_for_models(page, NAMES)
    wait_for_data(page, "landscape-start", "d.x[0] === 5 && d.y[0] === 2")
    assert page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('landscape-x-range').end") == 6
    expect(page.get_by_label("Your function f(x, y)")).to_have_value("x**2+3*y**2")
    page.get_by_role("button", name="Open in lesson 3").click()
    tab = page.locator(".bk-tab", has_text="Backpropagation").first
    expect(tab).to_have_class(re.compile(r"\bbk-active\b"))
    wait_for_models(page, ["circuit-nodes"])
    expect(page.get_by_label("Expression")).to_have_value("x**2+3*y**2")
    labels = page.evaluate("""() => {
        const d = Bokeh.documents[0].get_model_by_name('circuit-nodes').data;
        return Array.from(d instanceof Map ? d.get('label') : d.label);
    }""")
    assert "x" in labels and "y" in labels
    expect(page).to_have_url(re.compile(r"tab=backprop.*expr=x"))
    assert page.recorder.console_errors == []


def test_play_into_where_f_is_undefined_says_diverged(page, server_url):
    # f = log(x) + y²: from x = 0.6 with η = 1 the first step lands at x = 0.6 − 1/0.6 < 0.
    page.goto(server_url + "?tab=descent&fn=log(x)%2By**2&dom=0.5,5,-2,2&start=0.6,1&lr=1")
    wait_for_models(page, NAMES)
    wait_for_data(page, "landscape-trajectory", "isNaN(d.x0[1])")
    page.get_by_role("button", name="Play").click()
    wait_for_status(page, "diverged at step 1")
    wait_for_status(page, "its loss became infinite or undefined")
    assert page.recorder.console_errors == []
