"""Random expressions over every gate against trusted references: numpy for the forward pass;
torch.autograd for the backward pass (live when torch is importable, golden values otherwise);
and a difference quotient, which needs no reference at all."""

import json
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import circuits

from . import trees

GOLDEN = json.loads(
    (pathlib.Path(__file__).resolve().parent.parent / "golden" / "circuits.json").read_text())

points = st.fixed_dictionaries(
    {name: st.floats(-2.0, 2.0, allow_nan=False) for name in trees.VARIABLES})

exploring = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def _close(actual, expected, tolerance=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def _run(expression: str, point: dict):
    circuit = circuits.parse(expression)
    value = circuit.forward(**{name: point[name] for name in circuit.variables})
    return circuit, value, circuit.backward()


@given(tree=trees.trees_strategy(), point=points)
@exploring
def test_forward_equals_numpy_on_random_expressions(tree, point):
    expected = trees.evaluate(tree, point)
    _, value, _ = _run(trees.text(tree), point)
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=0, equal_nan=True)


def _branches(tree, point) -> tuple:
    """Which side of every kink each gate is on (a tie counts as a side of its own)."""
    trace = []
    trees.evaluate(tree, point, trace)
    sides = []
    for kind, _, arguments in trace:
        if kind in ("max", "min"):
            sides.append(np.sign(arguments[0] - arguments[1]).tolist())
        elif kind in ("abs", "relu"):
            sides.append(np.sign(arguments[0]).tolist())
    return tuple(sides)


def _difference_quotient(tree, point, name, step):
    """Richardson-extrapolated central difference: O(step⁴) truncation error."""
    def f(delta):
        return float(trees.evaluate(tree, {**point, name: point[name] + delta}))

    def central(h):
        return (f(h) - f(-h)) / (2 * h)

    return (4 * central(step / 2) - central(step)) / 3


@given(tree=trees.trees_strategy(), point=points)
@exploring
def test_backward_equals_difference_quotient_on_random_expressions(tree, point):
    assume(trees.is_smooth_at(tree, point))
    circuit, _, gradients = _run(trees.text(tree), point)
    assert set(gradients) == set(trees.variables(tree))
    for name, gradient in gradients.items():
        step = 1e-4 * max(1.0, abs(point[name]))
        stencil = [{**point, name: point[name] + k * step / 2} for k in (-2, -1, 1, 2)]
        assume(all(_branches(tree, p) == _branches(tree, point) for p in stencil))
        assume(all(trees.is_smooth_at(tree, p, margin=0.0) for p in stencil))
        expected = _difference_quotient(tree, point, name, step)
        scale = max(1.0, abs(expected))
        assert abs(gradient - expected) <= 1e-6 * scale, (name, gradient, expected)


GATE_EXPRESSIONS = [f"{name}(x)" for name in circuits.FUNCTIONS if circuits.GATES[name].arity == 1]
GATE_EXPRESSIONS += ["x + y", "x - y", "x * y", "x / y", "-x", "max(x, y)", "min(x, y)",
                     "max(y, x)", "min(y, x)"]
GATE_EXPRESSIONS += [f"x**{p!r}" for p in trees.EXPONENTS]


@pytest.mark.parametrize("expression", GATE_EXPRESSIONS)
@pytest.mark.parametrize("x", [-1.7, -0.4, 0.3, 1.3, 2.2])
def test_every_gate_backward_equals_a_difference_quotient(expression, x):
    circuit = circuits.parse(expression)
    domain_edge = any(name in expression for name in ("log", "sqrt", "**0.5", "**1.5", "**-0.5"))
    point = {"x": abs(x) if domain_edge else x, "y": 0.9}
    point = {name: point[name] for name in circuit.variables}
    circuit.forward(**point)
    gradients = circuit.backward()
    for name in circuit.variables:
        def f(delta, name=name):
            shifted = circuits.parse(expression)
            return float(shifted.forward(**{**point, name: point[name] + delta}))

        h = 1e-3
        central = [(f(step) - f(-step)) / (2 * step) for step in (h, h / 2)]
        expected = (4 * central[1] - central[0]) / 3
        assert gradients[name] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda case: case["expression"][:60])
def test_backward_equals_golden_torch_autograd(case):
    circuit, value, gradients = _run(case["expression"], case["point"])
    assert circuit.variables == tuple(case["point"])
    _close(value, case["value"])
    assert set(gradients) == set(case["gradients"])
    for name, expected in case["gradients"].items():
        _close(gradients[name], expected)


def test_golden_file_covers_every_gate():
    text = " ".join(case["expression"] for case in GOLDEN["cases"])
    for function in circuits.FUNCTIONS:
        assert f"{function}(" in text
    for operator in (" + ", " - ", " * ", " / ", "**", "(-("):
        assert operator in text
    assert len(GOLDEN["cases"]) >= 300


@pytest.mark.parametrize("case", GOLDEN["broadcast"], ids=lambda case: case["expression"][:60])
def test_broadcast_gradients_equal_golden_torch_autograd(case):
    point = {name: np.array(value) for name, value in case["point"].items()}
    circuit, value, gradients = _run(case["expression"], point)
    _close(value, np.array(case["value"]))
    for name, expected in case["gradients"].items():
        assert np.shape(gradients[name]) == point[name].shape
        _close(gradients[name], np.array(expected))


@pytest.mark.oracle
@given(tree=trees.trees_strategy(), point=points)
@exploring
def test_backward_equals_live_torch_autograd(tree, point):
    pytest.importorskip("torch")
    assume(trees.is_smooth_at(tree, point))
    expected_value, expected_gradients = trees.torch_evaluate(tree, point)
    _, value, gradients = _run(trees.text(tree), point)
    _close(value, expected_value)
    for name, expected in expected_gradients.items():
        _close(gradients[name], expected)


@pytest.mark.oracle
@pytest.mark.parametrize("tree", trees.BROADCAST, ids=trees.text)
def test_broadcast_gradients_equal_live_torch_autograd(tree):
    pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    shapes = {"x": (2, 3, 1), "y": (5,), "z": (), "w": (1, 5)}
    point = {name: rng.uniform(-1.5, 1.5, shapes[name]) for name in trees.variables(tree)}
    expected_value, expected_gradients = trees.torch_evaluate(tree, point)
    circuit, value, gradients = _run(trees.text(tree), point)
    _close(value, expected_value)
    for name, expected in expected_gradients.items():
        assert np.shape(gradients[name]) == shapes[name]
        _close(gradients[name], expected)
