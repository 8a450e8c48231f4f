"""Lesson 3 (backpropagation), server side: the numbers on the wires, animation, taps, errors."""

import pytest

pytest.importorskip("panel")  # `make oracle` collects in a venv without panel

import math  # noqa: E402

import numpy as np  # noqa: E402
from bokeh.document import Document  # noqa: E402
from bokeh.events import DoubleTap, Tap  # noqa: E402
from panel.io.state import set_curdoc  # noqa: E402

from app.backprop import PRESETS, Backpropagation  # noqa: E402
from app.circuit_view import total_steps  # noqa: E402

DEFAULT = "(x+y)·z + max(x, w), max picks x"
MAX_W = "(x+y)·z + max(x, w), max picks w"
QZ = "(x+y)·z at (−2, 5, −4)"
NEURON = "One neuron (x·w + b − y)²"
CHAIN = "Chain rule (2x + 3)² at x = 1"
SIGMOID = "Sigmoid neuron σ(w0·x0 + w1·x1 + w2)"
RELU = "ReLU neuron relu(x·w + b)"


def wires(lesson):
    return lesson.view.wires.data


def nodes(lesson):
    return lesson.view.nodes.data


def wire_grad(lesson, source_label, target_label=None):
    """The gradient label on the wire leaving the node labelled `source_label`."""
    data, labels = wires(lesson), dict(zip(nodes(lesson)["id"], nodes(lesson)["label"],
                                           strict=True))
    found = [g for s, t, g in zip(data["source"], data["target"], data["grad_label"], strict=True)
             if labels[s] == source_label
             and (target_label is None or labels.get(t) == target_label)]
    assert len(found) == 1, found
    return found[0]


def output_wire(lesson):
    data = wires(lesson)
    i = data["target"].index(-1)
    return data["value_label"][i], data["grad_label"][i]


def node_position(lesson, label):
    data = nodes(lesson)
    i = data["label"].index(label)
    return data["x"][i], data["y"][i]


@pytest.fixture
def lesson():
    return Backpropagation()


def test_default_circuit_is_x_plus_y_times_z_plus_max_x_w_with_x_winning(lesson):
    assert lesson.expression == "(x+y)*z + max(x, w)"
    assert output_wire(lesson) == ("−14", "1")
    # x feeds both branches: −4 through the add, 1 through the max; the node shows the sum.
    assert sorted(g for s, g in zip(wires(lesson)["source"], wires(lesson)["grad_label"],
                                    strict=True) if s == 0) == ["1", "−4"]
    assert nodes(lesson)["grad_label"][nodes(lesson)["label"].index("x")] == "total −3"
    assert wire_grad(lesson, "w") == "0"
    assert "∂f/∂x = **−3**" in lesson.status.object


def test_preset_x_plus_y_times_z_shows_minus_4_minus_4_and_3(lesson):
    lesson.preset = QZ
    assert wire_grad(lesson, "x") == "−4"
    assert wire_grad(lesson, "y") == "−4"
    assert wire_grad(lesson, "z") == "3"
    assert wire_grad(lesson, "+") == "−4"
    assert output_wire(lesson) == ("−12", "1")
    assert [lesson.sliders[v].value for v in "xyz"] == [-2, 5, -4]
    assert [s.label for s in lesson.inputs_box.objects] == ["x", "y", "z"]


def test_preset_with_max_picking_w_routes_the_gradient_to_w(lesson):
    lesson.preset = MAX_W
    assert wire_grad(lesson, "w") == "1"
    assert wire_grad(lesson, "x", "max") == "0"
    assert output_wire(lesson) == ("−13", "1")
    assert "∂f/∂x = **−4**" in lesson.status.object


def test_one_neuron_gives_the_lessons_numbers_and_sgd_step(lesson):
    lesson.preset = NEURON
    assert output_wire(lesson)[0] == "3.61"
    assert wire_grad(lesson, "w") == "−7.6"
    assert wire_grad(lesson, "b") == "−3.8"
    assert "1.1" in wires(lesson)["value_label"]  # ŷ on the wire into the subtraction
    assert lesson.update_note.visible
    assert "**0.576**" in lesson.update_note.object
    assert "**0.138**" in lesson.update_note.object


def test_chain_rule_preset_gives_20(lesson):
    lesson.preset = CHAIN
    assert output_wire(lesson)[0] == "25"
    assert wire_grad(lesson, "x") == "20"
    assert not lesson.update_note.visible


def test_sigmoid_and_relu_presets(lesson):
    lesson.preset = SIGMOID
    assert output_wire(lesson)[0] == "0.7311"
    assert wire_grad(lesson, "w0") == "−0.1966"
    assert wire_grad(lesson, "x0") == "0.3932"
    assert wire_grad(lesson, "w2") == "0.1966"
    lesson.preset = RELU
    assert output_wire(lesson)[0] == "1.1"
    assert wire_grad(lesson, "w") == "2"
    lesson.sliders["b"].value = -2.0  # the neuron switches off: relu stops the gradient
    assert output_wire(lesson)[0] == "0"
    assert wire_grad(lesson, "w") == "0"


def test_every_preset_draws_inputs_left_and_wires_rightwards(lesson):
    for name in PRESETS:
        lesson.preset = name
        data = nodes(lesson)
        xs = dict(zip(data["id"], data["x"], strict=True))
        for source, target in zip(wires(lesson)["source"], wires(lesson)["target"],
                                  strict=True):
            assert xs[target] > xs[source]
        inputs = [x for x, kind in zip(data["x"], data["kind"], strict=True) if kind == "input"]
        assert set(inputs) == {min(data["x"])}
        # no two nodes of one column closer than a row
        for i in range(len(data["x"])):
            for j in range(i):
                if data["x"][i] == data["x"][j]:
                    assert abs(data["y"][i] - data["y"][j]) >= 1 - 1e-9


def test_forward_reveals_values_gate_by_gate_and_stops(lesson):
    lesson.forward_button.clicks += 1
    assert lesson.animating
    assert lesson.progress == 0
    # only the inputs' values are known; no gradient anywhere
    assert wires(lesson)["value_label"] == ["−2", "5", "", "−4", "−2", "−3", "", "", ""]
    assert set(wires(lesson)["grad_label"]) == {""}
    for k in range(1, 5):
        lesson.tick()
        assert lesson.progress == k
    assert "" not in wires(lesson)["value_label"]
    assert set(wires(lesson)["grad_label"]) == {""}
    assert not lesson.animating
    lesson.tick()  # a stray frame after the end changes nothing
    assert lesson.progress == 4


def test_backward_reveals_gradients_from_the_output(lesson):
    lesson.backward_button.clicks += 1
    assert lesson.animating
    assert "" not in wires(lesson)["value_label"]
    assert set(wires(lesson)["grad_label"]) == {""}
    lesson.tick()  # the upstream gradient on the output wire
    assert output_wire(lesson)[1] == "1"
    assert wires(lesson)["grad_label"].count("") == 8
    lesson.tick()  # the output add sends 1 to both inputs
    assert wire_grad(lesson, "×") == "1" and wire_grad(lesson, "max") == "1"
    assert wire_grad(lesson, "z") == ""
    assert "the + gate takes upstream 1" in lesson.status.object
    for _ in range(3):
        lesson.tick()
    assert "" not in wires(lesson)["grad_label"]
    assert not lesson.animating
    assert lesson.progress == total_steps(lesson.circuit)


def test_step_advances_one_gate_and_wraps(lesson):
    total = total_steps(lesson.circuit)
    assert lesson.progress == total
    lesson.step_button.clicks += 1
    assert lesson.progress == 0
    lesson.step_button.clicks += 1
    assert lesson.progress == 1
    assert "the + gate computes x + y = **3**" in lesson.status.object
    # the gate being computed is highlighted
    assert max(wires(lesson)["active"]) > 0
    for _ in range(total - 1):
        lesson.step_button.clicks += 1
    assert lesson.progress == total
    lesson.show_all_button.clicks += 1
    assert max(wires(lesson)["active"]) == 0


def test_step_stops_a_running_animation(lesson):
    lesson.play_forward()
    animation = lesson._animation
    assert animation.running
    lesson.step()
    assert not animation.running and not lesson.animating


def test_inputs_update_everything_live(lesson):
    lesson.sliders["z"].value = 2.0
    assert wire_grad(lesson, "+", "×") == "2"  # multiply switches: q's gradient is z
    assert output_wire(lesson)[0] == "4"  # (−2 + 5)·2 + max(−2, −3)
    lesson.upstream_slider.value = 2.0
    assert output_wire(lesson)[1] == "2"
    assert wire_grad(lesson, "z") == "6"


def test_bad_expression_shows_error_and_keeps_the_circuit(lesson):
    before = dict(wires(lesson))
    for text in ("x +* 2", "__import__('os').system('true')", "x.real", "max(x, w"):
        lesson.expression_input.value = text
        assert lesson.error.visible
        assert lesson.error.object
        assert wires(lesson) == before
        assert lesson.expression == "(x+y)*z + max(x, w)"
    lesson.expression_input.value = "x" * 301
    assert "300" in lesson.error.object
    lesson.expression_input.value = "relu(x*w + b)"
    assert not lesson.error.visible
    assert lesson.preset == "Custom expression"
    assert lesson.preset_select.value == "Custom expression"
    assert [s.label for s in lesson.inputs_box.objects] == ["x", "w", "b"]
    assert set(lesson.sliders) == {"x", "w", "b"}


def test_overflow_is_refused_with_a_message(lesson):
    lesson.expression_input.value = "exp(x)"
    lesson.sliders["x"].value = 800.0
    assert lesson.error.visible and "overflow" in lesson.error.object
    assert lesson.sliders["x"].value == -2.0
    for column in ("value", "grad"):
        assert all(math.isfinite(v) for v in wires(lesson)[column])
    assert output_wire(lesson)[0] == "0.1353"
    lesson.expression_input.value = "exp(1000)"
    assert "overflow" in lesson.error.object
    assert lesson.expression == "exp(x)"


def gate_at(lesson, label):
    x, y = node_position(lesson, label)
    return x + 0.05, y - 0.05


def test_tapping_gates_shows_their_roles(lesson):
    fig = lesson.view.figure
    fig._trigger_event(Tap(fig, x=gate_at(lesson, "×")[0], y=gate_at(lesson, "×")[1]))
    assert "switches" in lesson.gate_info.object
    assert "∂/∂(x + y) = −4" in lesson.gate_info.object
    selected = nodes(lesson)["line_width"][nodes(lesson)["label"].index("×")]
    assert selected == 4
    fig._trigger_event(DoubleTap(fig, x=gate_at(lesson, "max")[0], y=gate_at(lesson, "max")[1]))
    assert "routes to the winner" in lesson.gate_info.object
    assert "sends 1 to x, 0 to w" in lesson.gate_info.object
    x, y = node_position(lesson, "x")
    fig._trigger_event(Tap(fig, x=x, y=y))
    assert "−4 + 1 = **−3**" in lesson.gate_info.object
    fig._trigger_event(Tap(fig, x=1.5, y=-3.0))  # empty space
    assert lesson.gate_info.object.startswith("Tap a gate")


def test_tap_on_add_gate_says_distributes(lesson):
    lesson.preset = QZ
    fig = lesson.view.figure
    fig._trigger_event(Tap(fig, x=node_position(lesson, "+")[0],
                           y=node_position(lesson, "+")[1]))
    assert "distributes" in lesson.gate_info.object


def pattern_grads(lesson):
    data = lesson.patterns.wires.data
    return [g for g, t in zip(data["grad_label"], data["target"], strict=True) if t >= 0]


def test_pattern_gates_add_distributes_mul_switches_max_routes(lesson):
    # a = 3, b = −1, upstream 1: add (1, 1), mul (b, a) = (−1, 3), max (1, 0)
    assert pattern_grads(lesson) == ["1", "1", "−1", "3", "1", "0"]
    assert lesson.patterns.titles.data["text"] == ["add distributes", "multiply switches",
                                                   "max routes"]
    lesson.pattern_b_slider.value = 5.0
    assert pattern_grads(lesson) == ["1", "1", "5", "3", "0", "1"]
    lesson.pattern_a_slider.value = None  # a cleared box: a message, the gates keep their inputs
    assert lesson.pattern_note.visible and "Type a number for a" in lesson.pattern_note.object
    assert pattern_grads(lesson) == ["1", "1", "5", "3", "0", "1"]
    lesson.pattern_a_slider.value = 6.0
    assert not lesson.pattern_note.visible
    assert pattern_grads(lesson) == ["1", "1", "5", "6", "1", "0"]  # now a wins the max


def test_no_module_level_state_shared_between_lessons():
    one, two = Backpropagation(), Backpropagation()
    assert one.view.figure is not two.view.figure
    one.sliders["x"].value = 1.0
    assert two.values["x"] == -2


def test_sources_hold_only_finite_numbers(lesson):
    for name in PRESETS:
        lesson.preset = name
        for column in ("value", "grad", "lx", "ly"):
            assert np.all(np.isfinite(wires(lesson)[column]))


def test_closing_the_session_stops_the_animation():
    doc = Document()
    with set_curdoc(doc):
        lesson = Backpropagation()
        lesson.play_backward()
        animation = lesson._animation
        assert animation.running
        for callback in doc.callbacks.session_destroyed_callbacks:
            callback(None)
    assert not animation.running and not lesson.animating
