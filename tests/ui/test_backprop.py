"""Lesson 3 in real Chromium: the preset's numbers, Forward/Backward animations, a bad
expression, a tapped gate, and screenshots at laptop and projector size."""

from pathlib import Path

from tests.ui.conftest import model_property, wait_for_data, wait_for_models

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
MODELS = ["circuit-figure", "circuit-wires", "circuit-nodes", "pattern-figure", "pattern-wires"]
TAB = "Backpropagation"


def open_lesson(page, server_url):
    page.goto(server_url)
    wait_for_models(page, ["derivative-figure"])
    page.locator(".bk-tab", has_text=TAB).first.click()
    wait_for_models(page, MODELS)
    page.get_by_role("button", name="Forward", exact=True).wait_for()


def choose(page, title, value):
    """Pick `value` in the select widget whose visible label is `title` (syncs to the server)."""
    found = page.evaluate(
        """([title, value]) => {
            for (const m of Bokeh.documents[0]._all_models.values())
                if (m.title === title && 'options' in m) { m.value = value; return true; }
            return false;
        }""",
        [title, value],
    )
    assert found


def labels(page, column):
    return model_property(page, "circuit-wires", "data")[column]


def clean(page):
    assert page.recorder.external_requests == []
    assert page.recorder.console_errors == []


def test_the_circuit_shows_the_preset_numbers(page, server_url):
    open_lesson(page, server_url)
    nodes = model_property(page, "circuit-nodes", "data")
    assert nodes["label"] == ["x", "y", "+", "z", "×", "w", "max", "+", "f"]
    assert "total −3" in nodes["grad_label"]
    assert "−14" in labels(page, "value_label")
    choose(page, "Preset", "(x+y)·z at (−2, 5, −4)")
    wait_for_data(page, "circuit-nodes", "d.label.length === 6")
    wires = model_property(page, "circuit-wires", "data")
    assert wires["grad_label"] == ["−4", "−4", "−4", "3", "1"]
    assert wires["value_label"] == ["−2", "5", "3", "−4", "−12"]
    page.get_by_text("∂f/∂z = 3").first.wait_for()
    clean(page)


def test_forward_and_backward_fill_the_wires_gate_by_gate(page, server_url):
    open_lesson(page, server_url)
    page.get_by_role("button", name="Forward", exact=True).click()
    # first only the inputs are known, then the periodic callback reveals gate after gate
    wait_for_data(page, "circuit-wires", "d.value_label.filter(v => v === '').length === 4")
    wait_for_data(page, "circuit-wires", "d.value_label.filter(v => v === '').length === 2")
    wait_for_data(page, "circuit-wires", "d.value_label.every(v => v !== '')")
    assert set(labels(page, "grad_label")) == {""}
    page.get_by_role("button", name="Backward", exact=True).click()
    wait_for_data(page, "circuit-wires", "d.grad_label.filter(v => v !== '').length === 1")
    wait_for_data(page, "circuit-wires", "d.grad_label.every(v => v !== '')")
    assert labels(page, "grad_label") == ["−4", "−4", "−4", "3", "1", "0", "1", "1", "1"]
    page.get_by_text("Done.").first.wait_for()
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_data(page, "circuit-wires", "d.grad_label.every(v => v === '')")
    clean(page)


def test_a_bad_expression_shows_an_error_and_keeps_the_circuit(page, server_url):
    open_lesson(page, server_url)
    before = model_property(page, "circuit-wires", "data")
    box = page.locator("input[placeholder^='e.g. relu']")
    box.fill("x +* 2")
    box.press("Enter")
    page.get_by_text("syntax").first.wait_for()
    assert model_property(page, "circuit-wires", "data") == before
    box.fill("x.real")
    box.press("Enter")
    page.get_by_text("attribute access").first.wait_for()
    assert model_property(page, "circuit-wires", "data") == before
    box.fill("relu(x*w + b)")
    box.press("Enter")
    wait_for_data(page, "circuit-nodes", "d.label.includes('relu')")
    page.get_by_text("b:", exact=True).first.wait_for()
    clean(page)


def test_clicking_a_gate_shows_its_role(page, server_url):
    open_lesson(page, server_url)
    geometry = page.evaluate(
        """() => {
            const doc = Bokeh.documents[0];
            const fig = doc.get_model_by_name('circuit-figure');
            const data = doc.get_model_by_name('circuit-nodes').data;
            const column = k => Array.from(data instanceof Map ? data.get(k) : data[k]);
            const view = Bokeh.index.find_one(fig);
            const canvas = view.canvas_view.el.getBoundingClientRect();
            const i = column('label').indexOf('×');
            const sx = view.frame.x_scale.compute(column('x')[i]);
            const sy = view.frame.y_scale.compute(column('y')[i]);
            return {x: canvas.left + sx, y: canvas.top + sy};
        }"""
    )
    page.mouse.click(geometry["x"], geometry["y"])
    page.get_by_text("mul switches").first.wait_for()
    clean(page)


def test_screenshots_of_the_lesson(page, server_url):
    SCREENSHOTS.mkdir(exist_ok=True)
    for name, (width, height) in {"laptop": (1366, 768), "projector": (1920, 1080)}.items():
        page.set_viewport_size({"width": width, "height": height})
        open_lesson(page, server_url)
        page.get_by_text("Done.").first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / f"backprop-{name}.png"))
        page.screenshot(path=str(SCREENSHOTS / f"backprop-{name}-full.png"), full_page=True)
        assert (SCREENSHOTS / f"backprop-{name}.png").stat().st_size > 10_000
    clean(page)
