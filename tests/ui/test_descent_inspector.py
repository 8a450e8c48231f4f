"""Issue 16 in lesson 2, in real Chromium: `at`, `inspect` and `quiz` links restore in a fresh
browser, a quiz round with a mouse click and one with a finger, the history slider (keys
included) moves the point and the state inspector follows, a tap on a dot jumps there."""

import html
import re

import pytest

from tests.ui.conftest import PHONE, model_property, wait_for_data, wait_for_models


@pytest.fixture
def fresh(browser):
    """Make pages in fresh contexts (laptop by default); errors recorded per page."""
    contexts = []

    def make(**options):
        context = browser.new_context(**(options or {"viewport": {"width": 1366,
                                                                  "height": 768}}))
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


def open_descent(page, server_url, query, names):
    page.goto(f"{server_url}?tab=descent&{query}")
    wait_for_models(page, ["landscape-figure", "history", *names])
    page.wait_for_function("""() => {
        const view = Bokeh.index.find_one(
            Bokeh.documents[0].get_model_by_name('landscape-figure'));
        return view != null && view.frame.bbox.width > 0;
    }""")


def text_of(page, name):
    """A Panel HTML/LaTeX model's text, unescaped."""
    return html.unescape(model_property(page, name, "text"))


def wait_for_text(page, name, pattern, timeout=15_000):
    page.wait_for_function(
        """([name, pattern]) => {
            const m = Bokeh.documents[0].get_model_by_name(name);
            if (m == null) return false;
            const decoder = document.createElement('textarea');
            decoder.innerHTML = m.text;
            return new RegExp(pattern).test(decoder.value);
        }""",
        arg=[name, pattern], timeout=timeout)


def pixel_of(page, x, y):
    """The page pixel of the data point (x, y) on the landscape."""
    return page.evaluate("""([x, y]) => {
        const view = Bokeh.index.find_one(
            Bokeh.documents[0].get_model_by_name('landscape-figure'));
        const canvas = view.canvas_view.el.getBoundingClientRect();
        return {x: canvas.left + view.frame.x_scale.compute(x),
                y: canvas.top + view.frame.y_scale.compute(y)};
    }""", [x, y])


def next_point(page, k):
    data = model_property(page, "landscape-trajectory", "data")
    return data["x0"][k], data["y0"][k]


def test_at_inspect_and_quiz_links_restore_in_a_fresh_browser(fresh, server_url):
    page = fresh()
    open_descent(page, server_url, "optimizer=momentum&at=7&inspect=1&quiz=1",
                 ["state-inspector", "quiz-score", "step-arrow", "quiz-guess"])
    wait_for_data(page, "landscape-path", "d.x.length === 8")
    assert model_property(page, "history", "value") == 7
    assert model_property(page, "loss-step-mark", "location") == 7
    # the quiz explains the step just revealed (6 → 7), never the next one
    wait_for_text(page, "state-inspector", "Momentum · step 6 → 7")
    assert "Tap the map" in text_of(page, "quiz-score")
    ticked = page.evaluate("""() => [...Bokeh.documents[0]._all_models.values()]
        .filter(m => m.label === 'Inside the optimizer' ||
                     m.label === 'Quiz: predict the next step').map(m => m.active)""")
    assert ticked == [True, True]
    link = page.locator("input.share-link").input_value()
    assert re.search(r"at=7", link) and "inspect=1" in link and "quiz=1" in link
    assert page.errors == []


@pytest.mark.parametrize("device", ["mouse", "finger"])
def test_a_quiz_round_scores_a_guess_at_the_true_next_point(fresh, server_url, device):
    page = fresh(**PHONE) if device == "finger" else fresh()
    open_descent(page, server_url, "quiz=1", ["quiz-score", "landscape-trajectory"])
    wait_for_data(page, "landscape-trajectory", "d.x0 != null && d.x0.length > 2")
    target = pixel_of(page, *next_point(page, 1))  # (3.2, 1.2)
    if device == "finger":
        page.locator(".bk-Canvas, canvas").first.scroll_into_view_if_needed()
        target = pixel_of(page, *next_point(page, 1))
        page.touchscreen.tap(target["x"], target["y"])
    else:
        page.mouse.click(target["x"], target["y"])
    wait_for_text(page, "quiz-score", r"Score .* / 1 = (9\d|100) %")
    text = text_of(page, "quiz-score")
    assert "Step 0 → 1" in text
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    guess = model_property(page, "quiz-guess", "data")
    assert abs(guess["x"][0] - 3.2) < 0.1 and abs(guess["y"][0] - 1.2) < 0.1
    assert model_property(page, "landscape-start", "data") == {"x": [4.0], "y": [3.0]}
    assert page.errors == []


def test_the_history_slider_moves_the_point_and_the_inspector_follows(fresh, server_url):
    page = fresh()
    open_descent(page, server_url, "optimizer=adam&at=3&inspect=1",
                 ["state-inspector", "step-arrow"])
    wait_for_text(page, "state-inspector", "Adam · step 3 → 4")
    handle = page.locator(".downhill-history").locator(".noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowLeft")  # noUiSlider's own keys
    wait_for_data(page, "landscape-path", "d.x.length === 3")
    wait_for_text(page, "state-inspector", "Adam · step 2 → 3")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_for_text(page, "state-inspector", "Adam · step 4 → 5")
    page.keyboard.press(" ")  # Space steps forward on the slider too
    wait_for_text(page, "state-inspector", "Adam · step 5 → 6")
    wait_for_data(page, "landscape-path", "d.x.length === 6")
    assert model_property(page, "history", "value") == 5
    assert model_property(page, "loss-step-mark", "location") == 5
    start, end = (model_property(page, "step-arrow", "data")[c][0] for c in ("x0", "x1"))
    path = model_property(page, "landscape-path", "data")
    assert start == path["x"][5] and end == next_point(page, 6)[0]
    assert page.errors == []


def test_a_click_on_a_dot_of_the_path_jumps_the_history_there(fresh, server_url):
    page = fresh()
    open_descent(page, server_url, "at=6", ["landscape-trajectory"])
    wait_for_data(page, "landscape-path", "d.x.length === 7")
    target = pixel_of(page, *next_point(page, 1))
    page.mouse.click(target["x"] + 3, target["y"] - 2)  # within the 12 px of dot 1
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    assert model_property(page, "history", "value") == 1
    assert model_property(page, "landscape-start", "data") == {"x": [4.0], "y": [3.0]}
    assert page.errors == []


def test_while_playing_the_inspector_arrows_hide_and_return_at_the_step_reached(fresh,
                                                                               server_url):
    page = fresh()
    open_descent(page, server_url, "inspect=1", ["step-arrow", "state-inspector"])
    visible = """() => Bokeh.documents[0].get_model_by_name('step-arrow-annotation').visible"""
    assert page.evaluate(visible) is True
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(f"() => !({visible})()")
    wait_for_data(page, "landscape-path", "d.x.length >= 4")
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    page.wait_for_function(f"() => ({visible})()")
    k = model_property(page, "history", "value")
    wait_for_text(page, "state-inspector", f"step {k} → {k + 1}")
    tip = next_point(page, k + 1)[0]
    wait_for_data(page, "step-arrow", f"d.x0.length === 1 && d.x1[0] === {tip}")
    assert page.errors == []


def test_ticking_inside_the_optimizer_on_a_drawn_map_adds_the_arrows_and_keeps_answering(
        fresh, server_url):
    """The arrows are built when the box is first ticked, on a figure already on screen
    (BokehJS 3.10 has lost the rest of a message when an Arrow arrived that way): the step
    arrow, the table and later steps must all arrive, with no error in the page."""
    page = fresh()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    open_descent(page, server_url, "optimizer=momentum", ["landscape-trajectory"])
    wait_for_data(page, "landscape-trajectory", "d.x0 != null && d.x0.length > 2")
    # a click on the box itself (Bokeh's Checkbox has no <label> for get_by_label)
    page.evaluate("""() => {
        const box = [...Bokeh.documents[0]._all_models.values()]
            .find(m => m.label === 'Inside the optimizer');
        Bokeh.index.find_one(box).shadow_el.querySelector('input[type=checkbox]').click();
    }""")
    wait_for_models(page, ["state-inspector", "step-arrow", "velocity-arrow"])
    wait_for_text(page, "state-inspector", "Momentum · step 0 → 1")
    page.get_by_role("button", name="Step downhill").click()
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 3")
    wait_for_text(page, "state-inspector", "Momentum · step 2 → 3")
    step = model_property(page, "step-arrow", "data")
    assert (step["x0"][0], step["x1"][0]) == (next_point(page, 2)[0], next_point(page, 3)[0])
    assert model_property(page, "velocity-arrow", "data")["x0"] != []
    link = page.locator("input.share-link").input_value()
    assert "inspect=1" in link
    # the quiz's guess marker arrives the same way when its box is ticked later
    page.evaluate("""() => {
        const box = [...Bokeh.documents[0]._all_models.values()]
            .find(m => m.label === 'Quiz: predict the next step');
        Bokeh.index.find_one(box).shadow_el.querySelector('input[type=checkbox]').click();
    }""")
    wait_for_models(page, ["quiz-score", "quiz-guess"])
    target = pixel_of(page, *next_point(page, 3))
    page.mouse.click(target["x"], target["y"])
    wait_for_text(page, "quiz-score", r"Score .* / 1 = (9\d|100) %")
    assert page.errors == [] and page.console_errors == []
