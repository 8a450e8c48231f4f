"""Lesson 1's quiz in real Chromium: press "1-D quiz: predict the next step" (or open a link
with quiz1=1), click or tap the 1-D descent at a w, read the score."""

import re

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import model_property, phone_page, wait_for_data, wait_for_models

QUIZ_MODELS = ["descent1d-figure", "quiz1-score", "quiz1-guess"]


def score_text(page):
    """The quiz1-score pane's text as shown (its model holds the HTML escaped)."""
    return page.evaluate("""() => {
        const m = Bokeh.documents[0].get_model_by_name('quiz1-score');
        const decoder = document.createElement('textarea');
        decoder.innerHTML = m.text;
        const div = document.createElement('div');
        div.innerHTML = decoder.value;
        return div.textContent;
    }""")


def wait_for_score(page, fragment, timeout=15_000):
    page.wait_for_function(
        """fragment => {
            const m = Bokeh.documents[0].get_model_by_name('quiz1-score');
            if (m == null) return false;
            const decoder = document.createElement('textarea');
            decoder.innerHTML = m.text;
            return decoder.value.includes(fragment);
        }""",
        arg=fragment, timeout=timeout,
    )


def point_on_figure(page, w):
    """Scroll the 1-D descent into view; the page position (CSS px) of data x = w, half-way
    up its frame, and how many w one pixel is."""
    page.evaluate("""() => {
        const fig = Bokeh.documents[0].get_model_by_name('descent1d-figure');
        Bokeh.index.find_one(fig).el.scrollIntoView({block: 'center'});
    }""")
    page.wait_for_function("""() => {
        const fig = Bokeh.documents[0].get_model_by_name('descent1d-figure');
        const view = Bokeh.index.find_one(fig);
        const r = view.canvas_view.el.getBoundingClientRect();
        return view.frame.bbox.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
    }""")
    return page.evaluate("""w => {
        const fig = Bokeh.documents[0].get_model_by_name('descent1d-figure');
        const view = Bokeh.index.find_one(fig);
        const canvas = view.canvas_view.el.getBoundingClientRect();
        const frame = view.frame.bbox;
        return {x: canvas.left + view.frame.x_scale.compute(w),
                y: canvas.top + frame.top + frame.height / 2,
                per_px: (fig.x_range.end - fig.x_range.start) / frame.width};
    }""", w)


def test_tick_the_quiz_click_a_guess_and_read_the_score(page, server_url):
    page.goto(f"{server_url}?tab=derivative")
    wait_for_models(page, ["descent1d-figure", "descent1d-path"])
    assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('quiz1-score')") is None
    page.get_by_role("button", name="1-D quiz: predict the next step").click()
    wait_for_models(page, QUIZ_MODELS)
    wait_for_score(page, "Tap the chart")
    expect(page.locator("input.share-link")).to_have_value(re.compile("quiz1=1"))
    target = point_on_figure(page, 0.3)  # half the true step 0 → 0.6
    page.mouse.click(target["x"], target["y"])
    tolerance = 1.5 * target["per_px"]
    wait_for_data(page, "quiz1-guess", f"d.w.length === 1 && Math.abs(d.w[0] - 0.3) < {tolerance}")
    guess = model_property(page, "quiz1-guess", "data")["w"][0]
    wait_for_score(page, "1 round")
    text = score_text(page)
    points = round(1 - abs(guess - 0.6) / 0.6, 2)
    assert points == pytest.approx(0.5, abs=0.05)
    assert "right direction" in text and f"Score {points:g} / 1 round" in text, text
    assert "w₁ = 0.6 (ring)" in text
    # the next click is the next round, from w₁ = 0.6 (the truth is 1.08)
    target = point_on_figure(page, 0.0)
    page.mouse.click(target["x"], target["y"])
    wait_for_score(page, "2 rounds")
    assert "wrong direction: w moves right, your guess went left" in score_text(page)
    path = model_property(page, "quiz1-path", "data")["w"]
    assert [round(w, 12) for w in path] == [0.0, 0.6, 1.08]
    assert page.recorder.external_requests == [] and page.recorder.console_errors == []


def test_a_quiz1_link_plays_a_round_with_a_finger_on_a_phone(browser, server_url):
    with phone_page(browser, server_url) as (page, errors, outside):
        page.goto(f"{server_url}?tab=derivative&quiz1=1")
        wait_for_models(page, QUIZ_MODELS)  # scrolls to the part below, as a thumb would
        wait_for_score(page, "Tap the chart")
        target = point_on_figure(page, 0.6)
        page.touchscreen.tap(target["x"], target["y"])
        tolerance = 1.5 * target["per_px"]
        wait_for_data(page, "quiz1-guess",
                      f"d.w.length === 1 && Math.abs(d.w[0] - 0.6) < {tolerance}")
        wait_for_score(page, "1 round")
        text = score_text(page)
        assert "right direction" in text and re.search(r"Score (0\.9\d|1) / 1 round", text), text
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]  # nothing scrolls sideways
        size = page.evaluate("""() => {
            const m = Bokeh.documents[0].get_model_by_name('quiz1-score');
            const el = Bokeh.index.find_one(m).el.shadowRoot.querySelector('.downhill-quiz');
            return parseFloat(getComputedStyle(el).fontSize);
        }""")
        assert size >= 14
        assert errors == [] and outside == []
