"""Lesson 2 in real Chromium: click to place the start, step, change η, play, diverge."""

import html
import math

from app.descent import FMT_JS, fmt
from tests.ui.conftest import (
    frame_geometry,
    model_property,
    open_page,
    open_tab,
    set_widget_value,
    wait_for_data,
    wait_for_status,
    widget_value,
)

LESSON_MODELS = ["landscape-figure", "landscape-path", "landscape-start", "loss-figure",
                 "landscape-status", "gradient-arrow", "landscape-trajectory"]


def open_lesson(page, server_url):
    open_page(page, server_url)
    open_tab(page, "Gradient descent", LESSON_MODELS)


def status_text(page):
    """The status pane's HTML (Panel's HTML model holds it escaped)."""
    return html.unescape(model_property(page, "landscape-status", "text"))


def test_a_real_click_moves_the_start_to_the_clicked_point(page, server_url):
    open_lesson(page, server_url)
    frame = frame_geometry(page, "landscape-figure")
    # A point left of and below the centre, away from the legend and the colour bar.
    px = frame["left"] + 0.30 * frame["width"]
    py = frame["top"] + 0.70 * frame["height"]
    page.mouse.click(px, py)
    x_per_px = (frame["x_end"] - frame["x_start"]) / frame["width"]
    y_per_px = (frame["y_end"] - frame["y_start"]) / frame["height"]
    expected_x = frame["x_start"] + (px - frame["left"]) * x_per_px
    expected_y = frame["y_end"] - (py - frame["top"]) * y_per_px
    wait_for_data(page, "landscape-start", f"Math.abs(d.x[0] - {expected_x}) < {x_per_px}")
    start = model_property(page, "landscape-start", "data")
    path = model_property(page, "landscape-path", "data")
    assert abs(start["x"][0] - expected_x) <= x_per_px
    assert abs(start["y"][0] - expected_y) <= y_per_px
    assert (path["x"][0], path["y"][0]) == (start["x"][0], start["y"][0])
    assert page.recorder.console_errors == []


def test_step_downhill_adds_the_point_3_2_1_2_and_the_status_says_so(page, server_url):
    open_lesson(page, server_url)
    assert model_property(page, "landscape-path", "data") == {"x": [4.0], "y": [3.0]}
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    path = model_property(page, "landscape-path", "data")
    assert math.isclose(path["x"][1], 3.2) and math.isclose(path["y"][1], 1.2)
    wait_for_status(page, "(3.2, 1.2)")
    assert "step <b>1</b>" in status_text(page)
    assert page.recorder.console_errors == []


def test_setting_the_learning_rate_slider_changes_the_path(page, server_url):
    open_lesson(page, server_url)
    for count in (2, 3, 4):
        page.get_by_role("button", name="Step downhill").click()
        wait_for_data(page, "landscape-path", f"d.x.length === {count}")
    before = model_property(page, "landscape-path", "data")
    assert all(y > 0 for y in before["y"])  # η = 0.1: y shrinks by 0.4 each step
    set_widget_value(page, "Learning rate", math.log10(0.3))
    # η = 0.3: y is multiplied by 1 − 6η = −0.8 each step, so it zig-zags.
    wait_for_data(page, "landscape-path", "d.y[1] < 0")
    after = model_property(page, "landscape-path", "data")
    assert len(after["y"]) == 4
    assert [math.copysign(1, y) for y in after["y"]] == [1, -1, 1, -1]
    assert math.isclose(after["y"][1], 3 * (1 - 6 * 10 ** math.log10(0.3)))


def test_a_typed_learning_rate_of_0_4_diverges_while_playing(page, server_url):
    open_lesson(page, server_url)
    typed = page.get_by_label("Type η")
    typed.fill("0.4")
    typed.press("Enter")
    wait_for_data(page, "landscape-trajectory", "d.x0.slice(0, 60).some(v => isNaN(v))")
    set_widget_value(page, "Speed (steps/s)", 60)
    page.get_by_role("button", name="Play").click()
    wait_for_status(page, "diverged at step", timeout=20_000)
    assert "diverged at step 45" in status_text(page)
    path = model_property(page, "landscape-path", "data")
    assert all(math.isnan(x) for x in path["x"][45:])
    assert all(math.isfinite(x) for x in path["x"][:45])
    assert page.recorder.console_errors == []


def pause_after_a_few_steps(page):
    """Once Play has revealed a few steps, press Pause; the step the server was told."""
    wait_for_data(page, "landscape-path", "d.x.length >= 4")
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    shown = widget_value(page, "Steps shown")
    assert shown >= 3
    return shown


def test_play_reveals_steps_in_the_browser_and_pause_tells_the_server(page, server_url):
    open_lesson(page, server_url)
    play = page.get_by_role("button", name="Play")
    play.click()
    shown = pause_after_a_few_steps(page)
    # The server took over where the browser stopped: one more step is step shown + 1.
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", f"d.x.length === {shown + 2}")
    wait_for_status(page, f"step <b>{shown + 1}</b>")


def test_while_playing_the_loss_plot_follows_less_often_and_catches_up_on_pause(page,
                                                                               server_url):
    """Play repaints the landscape every frame but the loss plot and the status at most
    SIDE_HZ times a second (each repaint costs about as much as the landscape's: Play went
    from 17 to 30+ frames a second); Pause shows every one of them at the step reached."""
    open_lesson(page, server_url)
    set_widget_value(page, "Speed (steps/s)", 60)
    set_widget_value(page, "Steps", 2000)
    wait_for_data(page, "landscape-trajectory", "d.step.length === 2001")
    page.evaluate("""() => {
        const counts = window.__changes = {path: 0, loss: 0};
        const doc = Bokeh.documents[0];
        doc.get_model_by_name('landscape-path').properties.data.change
            .connect(() => counts.path++);
        doc.get_model_by_name('loss-curve').properties.data.change
            .connect(() => counts.loss++);
    }""")
    page.get_by_role("button", name="Play").click()
    wait_for_data(page, "landscape-path", "d.x.length >= 120")  # two seconds of steps
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    shown = widget_value(page, "Steps shown")
    counts = page.evaluate("() => ({...window.__changes})")
    assert counts["loss"] < counts["path"] / 1.5, counts
    wait_for_data(page, "loss-curve", f"d.step.length === {shown + 1}")
    assert len(model_property(page, "landscape-path", "data")["x"]) == shown + 1
    wait_for_status(page, f"step <b>{shown}</b>")


COUNT_PAINTS_JS = """() => {
    const fig = Bokeh.documents[0].get_model_by_name('landscape-figure');
    const view = Bokeh.index.find_one(fig);
    const counts = window.__paints = {primary: 0, overlays: 0};
    for (const layer of ['primary', 'overlays']) {
        const paint = view['_paint_' + layer].bind(view);
        view['_paint_' + layer] = ctx => { counts[layer]++; return paint(ctx); };
    }
}"""


def test_while_playing_only_the_moving_layer_of_the_landscape_is_repainted(page, server_url):
    """The moving parts (paths, dots, start, arrow, legend) are drawn on the plot's overlay
    canvas once they first move, so Play repaints that alone, not the heatmap, the contours
    and the axes (Play 25-42 -> ~50 frames a second)."""
    open_lesson(page, server_url)
    set_widget_value(page, "Speed (steps/s)", 60)
    set_widget_value(page, "Steps", 2000)
    wait_for_data(page, "landscape-trajectory", "d.step.length === 2001")
    page.evaluate(COUNT_PAINTS_JS)
    page.get_by_role("button", name="Play").click()
    wait_for_data(page, "landscape-path", "d.x.length >= 60")  # a second of steps
    page.get_by_role("button", name="Pause").click()
    paints = page.evaluate("() => ({...window.__paints})")
    assert paints["overlays"] >= 20, paints
    assert paints["primary"] <= 3, paints  # the move itself and the pause, not every frame
    levels = page.evaluate("""() => Bokeh.documents[0].get_model_by_name('landscape-figure')
        .renderers.filter(r => r.data_source && r.data_source.name === 'landscape-path')
        .map(r => r.level)""")
    assert levels == ["overlay", "overlay"]  # the path's line and its dots


def test_a_path_panned_out_of_the_frame_is_not_drawn_over_the_axes(page, server_url):
    """BokehJS does not clip overlay glyphs to the frame by itself (CLIP_JS makes it): after
    panning the path half out of view, the overlay canvas is empty outside the frame and
    still shows the path inside it."""
    open_lesson(page, server_url)
    set_widget_value(page, "Steps shown", 40)  # from (4, 3) to about (0, 0)
    wait_for_data(page, "landscape-path", "d.x.length === 41")
    found = page.evaluate("""async () => {
        const fig = Bokeh.documents[0].get_model_by_name('landscape-figure');
        const xr = fig.x_range, width = xr.end - xr.start;
        // pan right: x from 1, the path's last ~20 points now left of the frame
        xr.setv({start: xr.start + 0.6 * width, end: xr.end + 0.6 * width});
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        const view = Bokeh.index.find_one(fig);
        const layer = view.canvas_view.overlays, ratio = layer.pixel_ratio;
        const ctx = layer.canvas.getContext('2d'), f = view.frame.bbox;
        const opaque = (x, y, w, h) => {
            const d = ctx.getImageData(x * ratio, y * ratio, w * ratio, h * ratio).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        };
        return {outside: opaque(0, f.top, f.left, f.height),  // the y axis, left of the frame
                inside: opaque(f.left, f.top, f.width, f.height)};
    }""")
    assert found["outside"] == 0, found
    assert found["inside"] > 0, found


def test_a_negative_typed_learning_rate_is_refused_with_a_message(page, server_url):
    open_lesson(page, server_url)
    typed = page.get_by_label("Type η")
    typed.fill("-1")
    typed.press("Enter")
    page.get_by_text("η must be positive").wait_for()
    trajectory = model_property(page, "landscape-trajectory", "data")
    assert math.isclose(trajectory["x0"][1], 3.2)  # still η = 0.1


def test_reset_goes_back_to_the_start(page, server_url):
    open_lesson(page, server_url)
    for count in (2, 3):
        page.get_by_role("button", name="Step downhill").click()
        wait_for_data(page, "landscape-path", f"d.x.length === {count}")
    page.get_by_role("button", name="Reset").click()
    wait_for_data(page, "landscape-path", "d.x.length === 1")
    wait_for_status(page, "step <b>0</b>")


def test_play_sends_nothing_to_the_server_until_it_stops(page, server_url):
    """Play animates in the browser: a hall full of students pressing Play costs the server
    nothing per frame (issue 5's target); only the stop reports where it stopped."""
    sent = []

    def record(payload):
        if '"events"' in str(payload):  # a message's content frame (not header or metadata)
            sent.append(str(payload))

    page.on("websocket", lambda ws: ws.on("framesent", record))
    open_lesson(page, server_url)
    set_widget_value(page, "Speed (steps/s)", 60)
    set_widget_value(page, "Steps", 2000)  # long enough to still be playing when paused
    wait_for_data(page, "landscape-trajectory", "d.step.length === 2001")
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    before = len(sent)
    page.get_by_role("button", name="Play").click()
    wait_for_data(page, "landscape-path", "d.x.length >= 40")
    during = sent[before:]
    # Forty animated steps, and the only message is Panel forwarding the click on Play.
    assert len(during) == 1 and "button_click" in during[0], during
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    page.wait_for_function("() => true")  # one more turn of the browser's event loop
    stopped = sent[before + 1:]
    assert any('"value"' in message for message in stopped), stopped  # `shown` reported


def test_play_prints_numbers_exactly_as_the_server_does(page):
    """While playing, the browser writes the status line itself; its numbers must read the
    same as the server's (Python's 4-significant-digit format)."""
    values = [3.2, 1.2, 14.56, 9.632757, 1e-5, 123456.0, 0.0, -0.002353, 9999.7, 0.00012345,
              -78.33233, 4.074e-10, 1e16, 2.5, 0.1, 43.0, -1.463, 1.7712, float("nan")]
    in_browser = page.evaluate("values => {" + FMT_JS + "return values.map(fmt); }", values)
    assert in_browser == [fmt(v) for v in values]


def test_dragging_the_learning_rate_slider_with_the_mouse_changes_the_path(page, server_url):
    open_lesson(page, server_url)
    for count in (2, 3):
        page.get_by_role("button", name="Step downhill").click()
        wait_for_data(page, "landscape-path", f"d.x.length === {count}")
    handle = page.evaluate(
        """() => {
            for (const m of Bokeh.documents[0]._all_models.values()) {
                if (m.title !== 'Learning rate' || !('value' in m)) continue;
                const view = Bokeh.index.find_one(m);
                const r = view.shadow_el.querySelector('.noUi-handle').getBoundingClientRect();
                return {x: r.left + r.width / 2, y: r.top + r.height / 2};
            }
        }"""
    )
    page.mouse.move(handle["x"], handle["y"])
    page.mouse.down()
    page.mouse.move(handle["x"] + 30, handle["y"], steps=5)
    page.mouse.up()
    # A larger η: the first step from (4, 3) now lands left of x = 3.2.
    wait_for_data(page, "landscape-path", "d.x.length === 3 && d.x[1] < 3.19")
    assert model_property(page, "landscape-path", "data")["x"][0] == 4.0


def test_play_advances_even_when_the_first_frame_began_before_the_click(page, server_url):
    """A frame's timestamp is the frame's start, which can precede the click handler's clock
    (Chrome dispatches input inside the frame). Play then computed step −1, found it "ended",
    stopped at once and sent shown = −1: under load Play sometimes did nothing."""
    open_lesson(page, server_url)
    page.evaluate(
        """() => {
            const raf = window.requestAnimationFrame.bind(window);
            window.requestAnimationFrame = cb => raf(t => cb(t - 1000));
        }"""
    )
    page.get_by_role("button", name="Play").click()
    shown = pause_after_a_few_steps(page)
    wait_for_status(page, f"step <b>{shown}</b>")
    assert page.recorder.console_errors == []
