"""Lesson 4 in real Chromium: Step and Play move the three line-fit paths, the line follows,
the schedule plot follows the picker; Play animates in the browser alone and tells the server
where it stopped; screenshots at laptop and projector size."""

import json
import math
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.stochastic import _signed
from tests.ui.conftest import (
    model_property,
    open_page,
    open_tab,
    set_widget_value,
    wait_for_data,
    wait_for_models,
    widget_value,
)

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PATHS = ["minibatch-path-full", "minibatch-path-mini", "minibatch-path-sgd"]
MODELS = ["linefit-figure", "linefit-data", "linefit-line", "linefit-batch", "minibatch-figure",
          *PATHS, "schedule-figure", "schedule-curve", "saddle-figure", "saddle-loss-figure",
          "saddle-path-sgd", "saddle-path-adam", "minibatch-trajectory", "minibatch-status"]
# Every source Play draws into, and the status; reveal() in the browser and the server's _draw
# must leave them identical.
DRAWN = [*PATHS, "minibatch-loss-full", "minibatch-loss-mini", "minibatch-loss-sgd",
         "minibatch-now-full", "minibatch-now-mini", "minibatch-now-sgd", "linefit-line",
         "linefit-batch", "linefit-data", "schedule-now"]
TAB = "Stochastic & adaptive"

SNAPSHOT_JS = """names => {
    const doc = Bokeh.documents[0];
    const out = {};
    for (const name of names) {
        const data = doc.get_model_by_name(name).data;
        const entries = data instanceof Map ? [...data] : Object.entries(data);
        out[name] = Object.fromEntries(entries.map(([k, a]) => [k, Array.from(a)]));
    }
    const status = Bokeh.index.find_one(doc.get_model_by_name('minibatch-status'));
    out.status = status.markup_el.innerHTML;
    return out;
}"""


LAYOUT = {"inner_width", "inner_height", "outer_width", "outer_height"}


class Patches:
    """Bokeh PATCH-DOC messages over the page's websocket, each way, that change something
    other than the browser's layout sizes (a message is a header frame naming its type, then
    metadata, then the content with its events)."""

    def __init__(self, page):
        self.received = self.sent = 0
        self._next = {"received": None, "sent": None}
        page.on("websocket", self._watch)

    def _watch(self, ws):
        ws.on("framereceived", lambda payload: self._frame(payload, "received"))
        ws.on("framesent", lambda payload: self._frame(payload, "sent"))

    def _frame(self, payload, way):
        if not isinstance(payload, str):
            return
        message = json.loads(payload)
        if "msgtype" in message:
            self._next[way] = "metadata" if message["msgtype"] == "PATCH-DOC" else None
        elif self._next[way] == "metadata":
            self._next[way] = "content"
        elif self._next[way] == "content":
            self._next[way] = None
            if any(event.get("attr") not in LAYOUT for event in message.get("events", [])):
                setattr(self, way, getattr(self, way) + 1)


def pause_and_snapshot(page, names):
    """Press Pause and read what the browser drew, in one go (the server's answer comes
    later)."""
    return page.evaluate(
        """names => {
            const doc = Bokeh.documents[0];
            for (const m of doc._all_models.values())
                if (m.label === 'Pause') { Bokeh.index.find_one(m).click(); break; }
            return (""" + SNAPSHOT_JS + """)(names);
        }""", names)


def open_lesson(page, server_url):
    patches = Patches(page)
    open_page(page, server_url)
    open_tab(page, TAB, MODELS)
    page.get_by_role("button", name="Play", exact=True).wait_for()
    return patches


def clean(page):
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


def path_length(page, name="minibatch-path-sgd"):
    return len(model_property(page, name, "data")["x"])


def server_status(page):
    """The status as the server last set it (Play writes only the element, not the model)."""
    return model_property(page, "minibatch-status", "text")


def wait_for_server_step(page, k):
    page.wait_for_function(
        """k => Bokeh.documents[0].get_model_by_name('minibatch-status').text
                  .includes('<b>Step ' + k + ' of 150</b>')""", arg=k, timeout=15_000)


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
    wait_for_server_step(page, 1)
    clean(page)


def test_play_animates_in_the_browser_without_the_server(page, server_url):
    patches = open_lesson(page, server_url)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    received, sent = patches.received, patches.sent
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length > 12")
    shown = path_length(page) - 1
    # Twelve steps and more on screen, and the only messages: the click and "playing" to the
    # server, the Play label it mirrors back; never one per step.
    counts = (shown, patches.sent - sent, patches.received - received)
    assert shown >= 12 and counts[1] <= 2 and counts[2] <= 1, counts
    assert widget_value(page, "Step shown") == 0  # nothing told the server a step yet
    assert "<b>Step 0 of 150</b>" in server_status(page)
    status = page.locator(".minibatch-status")
    expect(status).not_to_contain_text("Step 0 of 150")  # the browser writes the status
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Play", exact=True).wait_for()
    k = path_length(page) - 1
    assert widget_value(page, "Step shown") == k
    wait_for_server_step(page, k)  # the server learned where Play stopped
    for name in PATHS:
        assert path_length(page, name) == k + 1
    page.get_by_role("button", name="Step", exact=True).click()  # Step continues from there
    wait_for_server_step(page, k + 1)
    assert path_length(page) == k + 2
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length === 1")
    wait_for_server_step(page, 0)
    clean(page)


def test_play_never_steps_back_when_a_frame_began_before_the_click(page, server_url):
    open_lesson(page, server_url)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_server_step(page, 1)
    # Frame timestamps are when a frame began; make every one precede the click's clock.
    page.evaluate("""() => {
        const now = performance.now.bind(performance);
        performance.now = () => now() + 500;
        window.__lengths = [];
        const watch = () => {
            const m = Bokeh.documents[0].get_model_by_name('minibatch-path-sgd');
            window.__lengths.push(m.data.x.length);
            requestAnimationFrame(watch);
        };
        requestAnimationFrame(watch);
    }""")
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length > 4")
    lengths = page.evaluate("() => window.__lengths")
    assert min(lengths) == 2  # Play went on from step 1, never back
    clean(page)


def test_what_play_shows_equals_what_the_server_draws(page, server_url):
    open_lesson(page, server_url)
    set_widget_value(page, "Batch size", 5)
    wait_for_data(page, "linefit-batch", "d.x.length === 5")
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-mini", "d.x.length > 6")
    # Pause and read what the browser drew, in one go (the server's answer comes later)
    shown = pause_and_snapshot(page, DRAWN)
    k = len(shown["minibatch-path-mini"]["x"]) - 1
    wait_for_server_step(page, k)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    drawn = page.evaluate(SNAPSHOT_JS, DRAWN)
    assert f"<b>Step {k} of 150</b>" in drawn["status"]
    assert shown == drawn
    clean(page)


def test_changing_a_setting_while_playing_stops_where_it_was(page, server_url):
    open_lesson(page, server_url)
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length > 5")
    set_widget_value(page, "Batch size", 16)
    page.get_by_role("button", name="Play", exact=True).wait_for()
    wait_for_data(page, "linefit-batch", "d.x.length === 16")
    k = widget_value(page, "Step shown")
    assert k >= 5
    wait_for_server_step(page, k)
    assert path_length(page) == k + 1
    assert "Mini-batch (16)" in server_status(page)
    # the followed path is a setting too
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", f"d.x.length > {k + 4}")
    page.get_by_role("button", name="SGD", exact=True).click()
    page.get_by_role("button", name="Play", exact=True).wait_for()
    wait_for_data(page, "linefit-batch", "d.x.length === 1")
    k = widget_value(page, "Step shown")
    wait_for_server_step(page, k)
    assert path_length(page) == k + 1
    clean(page)


def test_a_tap_while_playing_stops_and_starts_over_from_the_tap(page, server_url):
    open_lesson(page, server_url)
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-sgd", "d.x.length > 5")
    target = page.evaluate(
        """() => {
            const fig = Bokeh.documents[0].get_model_by_name('minibatch-figure');
            const view = Bokeh.index.find_one(fig);
            const canvas = view.canvas_view.el.getBoundingClientRect();
            return {x: canvas.left + view.frame.x_scale.compute(3.5),
                    y: canvas.top + view.frame.y_scale.compute(-1.0)};
        }"""
    )
    page.mouse.click(target["x"], target["y"])
    page.get_by_role("button", name="Play", exact=True).wait_for()  # the server stopped it
    wait_for_data(page, "minibatch-path-sgd", "Math.abs(d.x[0] - 3.5) < 0.1")
    wait_for_server_step(page, 0)
    for name in PATHS:
        assert path_length(page, name) == 1
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    assert path_length(page) == 1  # no frame of the old Play came after
    clean(page)


def test_a_diverging_play_never_draws_a_non_finite_value(page, server_url):
    open_lesson(page, server_url)
    # the Learning rate slider's typed box (an EditableFloatSlider: its models have no title)
    assert page.evaluate("""() => {
        for (const m of Bokeh.documents[0]._all_models.values())
            if (m.type === 'Spinner' && m.value === 0.2 && m.step === 0.005) {
                m.value = 1.0; return true;
            }
        return false;
    }""")
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('minibatch-trajectory')"
        ".tags[0].paths[0].diverged_at === 30")
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.locator(".minibatch-status")).to_contain_text(
        "Full batch: diverged at step 30", timeout=20_000)
    wait_for_data(page, "minibatch-path-mini", "d.x.length > 31")
    snapshot = page.evaluate(SNAPSHOT_JS, DRAWN)  # drawn by the browser: Play still runs
    assert page.get_by_role("button", name="Pause", exact=True).is_visible()
    assert len(snapshot["minibatch-path-full"]["x"]) == 30  # stops at the last finite point
    for name in DRAWN:
        for column, values in snapshot[name].items():
            if column != "in_batch":
                assert all(isinstance(v, float | int) and math.isfinite(v) for v in values), (
                    name, column)
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Play", exact=True).wait_for()
    clean(page)


@pytest.mark.parametrize(("value", "digits"), [
    (0.125, 2), (-0.125, 2), (0.375, 2), (2.5, 0), (-0.0, 3), (-0.0001, 3), (3.63095, 4),
    (1234.5678, 3), (-2.0004999999999997, 3), (0.00015, 4),
])
def test_the_browsers_numbers_are_the_servers(page, server_url, value, digits):
    page.goto(server_url + "liveness")
    got = page.evaluate("([v, d]) => (v + 0).toFixed(d).replace('-', '\\u2212')",
                        [value, digits])
    assert got == _signed(value, digits)


def test_schedule_picker_redraws_eta_and_batch_size_changes_the_batch(page, server_url):
    open_lesson(page, server_url)
    wait_for_data(page, "schedule-curve", "d.lr.every(v => Math.abs(v - 0.2) < 1e-12)")
    set_widget_value(page, "Schedule", "Cosine")
    wait_for_data(page, "schedule-curve", "d.lr[d.lr.length - 1] < 1e-3 && d.lr[0] === 0.2")
    set_widget_value(page, "Batch size", 16)
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


# ---- inside the optimizer (issue 16)

INSPECTED = ["stochastic-step-arrow", "stochastic-gradient-arrow"]


def tick_inspector(page):
    """Click the box "Inside the optimizer" (Bokeh's checkbox has no <label>: its text is a
    div beside the input, so the input is found by where it is)."""
    box = page.locator("input[type=checkbox]:left-of(:text('Inside the optimizer'), 40)").first
    box.click()
    expect(box).to_be_checked()


def server_lesson(step, **settings):
    """The same lesson on the test's side, inspector on, at `step`: what the page must show."""
    from app.stochastic import StochasticAdaptive

    lesson = StochasticAdaptive(**settings)
    lesson.inspect = True
    lesson.step = step
    return lesson


def arrows(lesson):
    return {name: {k: list(v) for k, v in source.data.items()}
            for name, source in (("stochastic-step-arrow", lesson.step_arrow_source),
                                 ("stochastic-gradient-arrow", lesson.gradient_arrow_source))}


def test_the_inspector_shows_the_followed_paths_step_and_its_arrows(page, server_url):
    open_lesson(page, server_url)
    expect(page.locator("tr[data-key='g']")).to_have_count(0)  # off: nothing shown
    assert model_property(page, "stochastic-step-arrow", "data")["x0"] == []
    tick_inspector(page)
    wait_for_data(page, "stochastic-step-arrow", "d.x0.length === 1")
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        """() => Bokeh.documents[0].get_model_by_name('stochastic-state-inspector').text
                  .includes('step 1 → 2')""", timeout=15_000)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    expected = server_lesson(1)
    assert model_property(page, "stochastic-state-inspector", "text") == \
        expected.inspector.table.object
    for name, data in arrows(expected).items():
        assert model_property(page, name, "data") == data
    # the step arrow ends at the mini-batch path's next point
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_data(page, "minibatch-path-mini", "d.x.length === 3")
    path = model_property(page, "minibatch-path-mini", "data")
    step = arrows(expected)["stochastic-step-arrow"]
    assert (step["x1"][0], step["y1"][0]) == (path["x"][2], path["y"][2])
    # the table is typeset, and the sentence is under the figure and in the live status
    # the followed path's table and the saddle racer's, each typeset
    expect(page.locator("tr[data-key='g'] td.rule .katex")).to_have_count(2)
    sentence = server_lesson(2).narration_text()
    expect(page.get_by_text(sentence, exact=True)).to_be_visible()
    expect(page.locator(".live-status")).to_contain_text(sentence)
    clean(page)


def test_play_draws_the_inspectors_arrows_as_the_server_does(page, server_url):
    open_lesson(page, server_url)
    tick_inspector(page)
    wait_for_data(page, "minibatch-trajectory", "'ax_mini' in d")
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_data(page, "minibatch-path-mini", "d.x.length > 6")
    shown = pause_and_snapshot(page, [*DRAWN, *INSPECTED])
    k = len(shown["minibatch-path-mini"]["x"]) - 1
    assert len(shown["stochastic-step-arrow"]["x0"]) == 1
    assert shown["stochastic-step-arrow"]["x0"][0] == shown["minibatch-path-mini"]["x"][k]
    wait_for_server_step(page, k)
    page.wait_for_function(
        """k => Bokeh.documents[0].get_model_by_name('stochastic-state-inspector').text
                  .includes('step ' + k + ' →')""", arg=k, timeout=15_000)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    drawn = page.evaluate(SNAPSHOT_JS, [*DRAWN, *INSPECTED])
    assert shown == drawn
    narration = page.evaluate(
        """() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(
               'stochastic-narration')).markup_el.textContent""")
    assert narration == server_lesson(k).narration_text()
    clean(page)


def test_the_race_inspector_opens_up_the_selected_racer(page, server_url):
    open_lesson(page, server_url)
    tick_inspector(page)
    page.get_by_role("button", name="Momentum", exact=True).click()
    set_widget_value(page, "Race step", 30)
    page.wait_for_function(
        """() => Bokeh.documents[0].get_model_by_name('saddle-state-inspector').text
                  .includes('Momentum · step 30 → 31')""", timeout=15_000)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    expected = server_lesson(0)
    expected.param.update(inspect_racer="Momentum", race_step=30)
    assert model_property(page, "saddle-state-inspector", "text") == \
        expected.race_inspector.table.object
    assert model_property(page, "saddle-narration", "text") == expected.race_narration.text
    for name, source in (("saddle-step-arrow", expected.race_step_arrow_source),
                         ("saddle-gradient-arrow", expected.race_gradient_arrow_source)):
        assert model_property(page, name, "data") == {k: list(v) for k, v in source.data.items()}
    expect(page.locator("tr[data-key='velocity'] td.rule .katex")).to_have_count(1)
    page.locator("tr[data-key='velocity']").scroll_into_view_if_needed()
    if Path("/work/notes").is_dir():
        page.screenshot(path="/work/notes/inspect4-desktop-race.png")
    clean(page)


def test_screenshots_of_the_inspector(browser, server_url):
    shots = Path("/work/notes")
    sizes = {
        "desktop": (dict(viewport={"width": 1366, "height": 768}), ""),
        "projector": (dict(viewport={"width": 1024, "height": 768}), "&present=1"),
        "phone": (dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                       device_scale_factor=3), ""),
    }
    for name, (options, query) in sizes.items():
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            page.goto(f"{server_url}?tab=stochastic{query}")
            wait_for_models(page, ["stochastic-state-inspector"])
            tick_inspector(page)
            for _ in range(3):
                page.get_by_role("button", name="Step", exact=True).click()
            page.wait_for_function(
                """() => Bokeh.documents[0].get_model_by_name('stochastic-state-inspector')
                          .text.includes('step 3 → 4')""", timeout=15_000)
            # the followed path's table and the saddle racer's, each typeset
            expect(page.locator("tr[data-key='g'] td.rule .katex")).to_have_count(2)
            page.get_by_text("Inside the optimizer").scroll_into_view_if_needed()
            if shots.is_dir():
                page.screenshot(path=str(shots / f"inspect4-{name}.png"))
                page.locator("tr[data-key='delta']").first.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"inspect4-{name}-table.png"))
                page.locator("tr[data-key='delta']").last.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"inspect4-{name}-race.png"))
            if name == "phone":
                sideways = page.evaluate("document.documentElement.scrollWidth - "
                                         "document.documentElement.clientWidth")
                assert sideways <= 0
                smallest = page.evaluate(
                    """() => Math.min(...[...document.querySelectorAll('*')].flatMap(e =>
                        e.shadowRoot ? [...e.shadowRoot.querySelectorAll(
                            '.downhill-inspector td, .minibatch-status')] : [])
                        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
                assert smallest >= 14
        finally:
            context.close()
