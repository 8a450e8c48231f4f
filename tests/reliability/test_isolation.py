"""Session isolation: two browsers on one server at once; what one does never shows in the
other (every session builds its own lessons, figures and sources)."""

from tests.ui.conftest import (
    model_property,
    open_tab,
    set_widget_value,
    wait_for_data,
    wait_for_models,
    widget_value,
)

ETA = 10**-0.5
FIRST_STEP_JS = "Math.abs(d.x0[1] - {x1}) < 1e-9 && Math.abs(d.y0[1] - {y1}) < 1e-9"


def test_actions_in_one_browser_context_never_show_in_the_other(server, browser,
                                                                needs_chromium):
    url, _proc = server
    contexts = [browser.new_context(viewport={"width": 1366, "height": 768}) for _ in range(2)]
    try:
        first, second = (context.new_page() for context in contexts)
        for page in (first, second):
            page.goto(url)
            wait_for_models(page, ["derivative-figure"])
            open_tab(page, "Gradient descent", names=["landscape-trajectory"])
            wait_for_data(page, "landscape-trajectory", FIRST_STEP_JS.format(x1=3.2, y1=1.2))

        # The first student changes η and moves w on lesson 1.
        set_widget_value(first, "Learning rate", -0.5)
        wait_for_data(first, "landscape-trajectory",
                      FIRST_STEP_JS.format(x1=4 - 8 * ETA, y1=3 - 18 * ETA))
        set_widget_value(first, "w", -2.0)
        wait_for_data(first, "derivative-point", "d.w[0] === -2")

        # The second student does something too; once its answer is back, anything the
        # server had (wrongly) sent it about the first student's session would be here too.
        set_widget_value(second, "w", 1.5)
        wait_for_data(second, "derivative-point", "d.w[0] === 1.5")
        assert widget_value(second, "Learning rate") == -1.0
        trajectory = model_property(second, "landscape-trajectory", "data")
        assert (trajectory["x0"][1], trajectory["y0"][1]) == (3.2, 1.2)
        # And the first student's page shows only its own changes.
        assert model_property(first, "derivative-point", "data")["w"] == [-2.0]
        assert widget_value(first, "w") == -2.0
        assert widget_value(second, "w") == 1.5
    finally:
        for context in contexts:
            context.close()
