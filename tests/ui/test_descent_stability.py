"""Lesson 2's basin map, critical-η tick and learning-rate sweep in real Chromium."""

import math
import random

from app.descent_stability import BASIN_COLORS
from tests.ui.conftest import (
    frame_geometry,
    model_property,
    set_widget_value,
    wait_for_data,
    wait_for_models,
)

MODELS = ["landscape-figure", "landscape-start", "landscape-path"]
MAP_MODELS = ["basin-map", "basin-map-image"]  # built when "Basin map" is first ticked


def open_descent(page, server_url):
    page.goto(f"{server_url}?tab=descent")
    wait_for_models(page, MODELS)


def check(page, label):
    """Click a Bokeh Checkbox by its label (its input and label are siblings in a shadow root)."""
    page.locator(f"input[type=checkbox]:has(+ div.bk-label:text-is('{label}'))").click()


def map_colours(page):
    """(pixels, distinct colours) of the basin map's image in the browser."""
    return page.evaluate(
        """() => {
            const d = Bokeh.documents[0].get_model_by_name('basin-map-image').data;
            if (!d.image.length) return [0, 0];
            const pixels = Array.from(d.image[0]);
            return [pixels.length, new Set(pixels).size];
        }""")


def key_says(page, fragment):
    return page.evaluate(
        """fragment => [...Bokeh.documents[0]._all_models.values()].some(
            m => typeof m.text === 'string' && m.text.includes(fragment))""", fragment)


def test_ticking_the_basin_map_on_a_drawn_page_adds_its_renderer_without_a_page_error(
        page, server_url):
    """The map's renderer joins the figure on screen when the box is first ticked, in a
    message of its own (BokehJS 3.10: "cannot find a view for …" loses the whole message
    when a renderer comes with new panes): the presets and the map arrive, no page error."""
    open_descent(page, server_url)
    page.get_by_role("button", name="Step downhill").click()
    wait_for_data(page, "landscape-path", "d.x.length === 2")
    assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('basin-map')") is None
    check(page, "Basin map")
    wait_for_models(page, MAP_MODELS)
    wait_for_data(page, "basin-map-image", "d.image.length === 1", timeout=30_000)
    assert page.evaluate("""() => {
        const fig = Bokeh.documents[0].get_model_by_name('landscape-figure');
        const names = fig.renderers.map(r => r.name);
        const at = names.indexOf('basin-map');
        return at > 0 && names[at - 1] === 'landscape-heatmap'
            && names[at + 1] === 'landscape-contours'
            && Bokeh.documents[0].get_model_by_name('basin-map').visible;
    }""")
    page.get_by_label("Basin presets").wait_for()
    page.get_by_label("Map steps").wait_for()
    assert key_says(page, "Where each of 151×151 starts ends")
    assert page.recorder.console_errors == []


def test_the_himmelblau_preset_paints_four_basins(page, server_url):
    open_descent(page, server_url)
    check(page, "Basin map")  # the presets come with the map
    wait_for_models(page, MAP_MODELS)
    set_widget_value(page, "Basin presets", "himmelblau-basins")
    page.wait_for_function(
        """() => {
            const d = Bokeh.documents[0].get_model_by_name('basin-map-image').data;
            return d.image.length === 1 && d.image[0].length === 200 * 200;
        }""", timeout=30_000)
    assert map_colours(page) == [40_000, 4]
    assert page.evaluate(
        "Bokeh.documents[0].get_model_by_name('basin-map').visible") is True
    assert key_says(page, "→ (3, 2): ")
    assert page.recorder.console_errors == []
    assert page.recorder.external_requests == []


def test_a_tap_places_the_start_while_the_map_computes(page, server_url):
    open_descent(page, server_url)
    check(page, "Basin map")
    wait_for_data(page, "basin-map-image", "d.image.length === 1", timeout=30_000)
    # Rastrigin's 200 × 200 starts for ~1000 steps: seconds of work (a step count of its own,
    # so a rerun on the same server does not find it in the per-process cache)
    set_widget_value(page, "Basin presets", "rastrigin-fragments")
    page.wait_for_function("""() => Bokeh.documents[0].get_model_by_name('landscape-figure')
                                    .title.text === 'Rastrigin'""")
    set_widget_value(page, "Map steps", random.randint(900, 1100))
    page.wait_for_function(
        """() => [...Bokeh.documents[0]._all_models.values()].some(
            m => typeof m.text === 'string' && m.text.includes('computing the basin map'))""",
        timeout=15_000)
    frame = frame_geometry(page, "landscape-figure")
    px = frame["left"] + 0.7 * frame["width"]
    py = frame["top"] + 0.6 * frame["height"]
    page.mouse.click(px, py)
    expected_x = frame["x_start"] + 0.7 * (frame["x_end"] - frame["x_start"])
    x_per_px = (frame["x_end"] - frame["x_start"]) / frame["width"]
    wait_for_data(page, "landscape-start", f"Math.abs(d.x[0] - {expected_x}) < {x_per_px}")
    assert key_says(page, "computing the basin map"), "the map was done before the tap"
    page.wait_for_function(
        """() => ![...Bokeh.documents[0]._all_models.values()].some(
            m => typeof m.text === 'string' && m.text.includes('computing the basin map'))""",
        timeout=60_000)
    pixels, colours = map_colours(page)
    assert pixels == 200 * 200 and colours == len(BASIN_COLORS)  # Rastrigin's mosaic
    start = model_property(page, "landscape-start", "data")
    assert abs(start["x"][0] - expected_x) < x_per_px  # the map did not move the start back
    assert page.recorder.console_errors == []


def tick_and_handle(page):
    """The centre x of the η* tick (the track's ::after) and of the slider's handle, CSS px."""
    return page.evaluate(
        """() => {
            const slider = [...Bokeh.documents[0]._all_models.values()].find(
                m => m.title === 'Learning rate' && 'value' in m);
            const root = Bokeh.index.find_one(slider).shadow_el;
            const base = root.querySelector('.noUi-base');
            const after = getComputedStyle(base, '::after');
            const handle = root.querySelector('.noUi-handle').getBoundingClientRect();
            const left = base.getBoundingClientRect().left;
            return [left + parseFloat(after.left) + parseFloat(after.marginLeft)
                        + parseFloat(after.width) / 2,
                    handle.left + handle.width / 2];
        }""")


def test_the_critical_eta_tick_lines_up_with_the_slider_at_eta_star(page, server_url):
    open_descent(page, server_url)
    set_widget_value(page, "Learning rate", math.log10(1 / 3))
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_function(
            """() => {
                const slider = [...Bokeh.documents[0]._all_models.values()].find(
                    m => m.title === 'Learning rate' && 'value' in m);
                const root = Bokeh.index.find_one(slider).shadow_el;
                const base = root.querySelector('.noUi-base');
                const after = getComputedStyle(base, '::after');
                const handle = root.querySelector('.noUi-handle').getBoundingClientRect();
                const tick = base.getBoundingClientRect().left + parseFloat(after.left)
                    + parseFloat(after.marginLeft) + parseFloat(after.width) / 2;
                return Math.abs(tick - (handle.left + handle.width / 2)) < 1.5;
            }""", timeout=10_000)
        tick, handle = tick_and_handle(page)
        assert abs(tick - handle) < 1.5, (width, tick, handle)
    assert key_says(page, "η* = 2/λmax = 0.3333")


def test_the_sweep_shows_five_small_multiples_with_their_outcomes(page, server_url):
    open_descent(page, server_url)
    check(page, "Learning-rate sweep")
    wait_for_models(page, [f"sweep-figure-{i}" for i in range(5)])
    wait_for_data(page, "sweep-path-4", "d.x.length > 1")
    titles = page.evaluate(
        """() => [0, 1, 2, 3, 4].map(i => {
            const fig = Bokeh.documents[0].get_model_by_name(`sweep-figure-${i}`);
            return [fig.title.text, fig.above.filter(t => t.text !== fig.title.text)
                                               .map(t => t.text)[0]];
        })""")
    assert [verdict for _title, verdict in titles] == [
        "too low: crawls", "good: converges", "oscillates", "diverges", "diverges"]
    assert titles[2][0] == "η = 0.3 (0.9 η*)"
    assert page.recorder.console_errors == []
