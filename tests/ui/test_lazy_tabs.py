"""In real Chromium: a hidden lesson's models arrive only when its tab is first opened."""

from tests.ui.conftest import open_page, open_tab, wait_for_data

MISSING_JS = """names => names.filter(n => Bokeh.documents[0].get_model_by_name(n) == null)"""


def test_the_gradient_descent_lesson_is_built_when_its_tab_is_opened(page, server_url):
    open_page(page, server_url, ["derivative-figure", "descent1d-path"])
    later = ["landscape-figure", "landscape-path", "circuit-figure", "linefit-figure"]
    assert page.evaluate(MISSING_JS, later) == later  # the whole document has arrived
    open_tab(page, "Gradient descent", ["landscape-figure", "landscape-path"])
    assert page.evaluate(MISSING_JS, later) == ["circuit-figure", "linefit-figure"]
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    open_tab(page, "Backpropagation", ["circuit-figure"])
    assert page.recorder.console_errors == []
