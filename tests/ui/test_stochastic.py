"""Lesson 4 in real Chromium: Step and Play move the three line-fit paths, the line follows,
the schedule plot follows the picker; screenshots at laptop and projector size."""

from pathlib import Path

from tests.ui.conftest import model_property, wait_for_data, wait_for_models

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PATHS = ["minibatch-path-full", "minibatch-path-mini", "minibatch-path-sgd"]
MODELS = ["linefit-figure", "linefit-data", "linefit-line", "linefit-batch", "minibatch-figure",
          *PATHS, "schedule-figure", "schedule-curve", "saddle-figure", "saddle-loss-figure",
          "saddle-path-sgd", "saddle-path-adam"]
TAB = "Stochastic & adaptive"


def open_lesson(page, server_url):
    page.goto(server_url)
    wait_for_models(page, ["derivative-figure"])
    page.locator(".bk-tab", has_text=TAB).first.click()
    wait_for_models(page, MODELS)
    page.get_by_role("button", name="Play", exact=True).wait_for()


def set_value(page, title, value):
    """Set the widget whose visible label is `title`, as a user would (syncs to the server)."""
    found = page.evaluate(
        """([title, value]) => {
            for (const m of Bokeh.documents[0]._all_models.values())
                if (m.title === title && 'value' in m) { m.value = value; return true; }
            return false;
        }""",
        [title, value],
    )
    assert found


def clean(page):
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


def test_step_moves_all_three_paths_and_the_line(page, server_url):
    open_lesson(page, server_url)
    for name in PATHS:
        assert model_property(page, name, "data") == {"x": [-0.5], "y": [3.5]}
    line_before = model_property(page, "linefit-line", "data")
    page.get_by_role("button", name="Step", exact=True).click()
    for name in PATHS:
        wait_for_data(page, name, "d.x.length === 2")
    points = [model_property(page, name, "data") for name in PATHS]
    assert len({(p["x"][1], p["y"][1]) for p in points}) == 3  # three different first steps
    assert model_property(page, "linefit-line", "data") != line_before
    wait_for_data(page, "linefit-batch", "d.x.length === 8")
    page.get_by_text("Step 1 of 150").first.wait_for()
    clean(page)


def test_play_moves_the_paths_until_paused(page, server_url):
    open_lesson(page, server_url)
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length > 5")
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Play", exact=True).wait_for()
    count = len(model_property(page, "minibatch-path-sgd", "data")["x"])
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length === 1")
    assert count > 5
    clean(page)


def test_schedule_picker_redraws_eta_and_batch_size_changes_the_batch(page, server_url):
    open_lesson(page, server_url)
    wait_for_data(page, "schedule-curve", "d.lr.every(v => Math.abs(v - 0.2) < 1e-12)")
    set_value(page, "Schedule", "Cosine")
    wait_for_data(page, "schedule-curve", "d.lr[d.lr.length - 1] < 1e-3 && d.lr[0] === 0.2")
    set_value(page, "Batch size", 16)
    wait_for_data(page, "linefit-batch", "d.x.length === 16")
    clean(page)


def test_a_click_on_the_map_moves_the_start_of_the_three_paths(page, server_url):
    open_lesson(page, server_url)
    target = page.evaluate(
        """() => {
            const fig = Bokeh.documents[0].get_model_by_name('minibatch-figure');
            const view = Bokeh.index.find_one(fig);
            const canvas = view.canvas_view.el.getBoundingClientRect();
            return {x: canvas.left + view.frame.x_scale.compute(3.5),
                    y: canvas.top + view.frame.y_scale.compute(-1.0),
                    per_px: (fig.x_range.end - fig.x_range.start) / view.frame.bbox.width};
        }"""
    )
    page.mouse.click(target["x"], target["y"])
    tolerance = 2 * target["per_px"]
    wait_for_data(page, "minibatch-path-sgd", f"Math.abs(d.x[0] - 3.5) < {tolerance}")
    for name in PATHS:
        data = model_property(page, name, "data")
        assert abs(data["x"][0] - 3.5) < tolerance and abs(data["y"][0] + 1.0) < tolerance
        assert len(data["x"]) == 1
    clean(page)


def test_screenshots_of_the_lesson(page, server_url):
    SCREENSHOTS.mkdir(exist_ok=True)
    for name, (width, height) in {"laptop": (1366, 768), "projector": (1920, 1080)}.items():
        page.set_viewport_size({"width": width, "height": height})
        open_lesson(page, server_url)
        for _ in range(12):
            page.get_by_role("button", name="Step", exact=True).click()
        wait_for_data(page, "minibatch-path-sgd", "d.x.length === 13")
        page.screenshot(path=str(SCREENSHOTS / f"stochastic-{name}.png"))
        page.screenshot(path=str(SCREENSHOTS / f"stochastic-{name}-full.png"), full_page=True)
        assert (SCREENSHOTS / f"stochastic-{name}.png").stat().st_size > 10_000
    clean(page)
