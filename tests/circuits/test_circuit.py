"""The circuit the UI draws and animates: nodes, wires, orders, steps, ties, shapes, inf/NaN."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import circuits
from circuits import ExpressionError

from . import trees

DEFAULT = "(x+y)*z + max(x, w)"


def test_nodes_are_topological_and_indexed_by_id():
    c = circuits.parse(DEFAULT)
    assert [node.id for node in c.nodes] == list(range(len(c.nodes)))
    for node in c.nodes:
        assert all(source < node.id for source in node.inputs)
    assert c.output == len(c.nodes) - 1 and c.output_node is c.nodes[-1]


def test_default_circuit_structure_labels_and_wires():
    c = circuits.parse(DEFAULT)
    assert [(n.op, n.label, n.inputs) for n in c.nodes] == [
        ("var", "x", ()), ("var", "y", ()), ("add", "+", (0, 1)), ("var", "z", ()),
        ("mul", "×", (2, 3)), ("var", "w", ()), ("max", "max", (0, 5)), ("add", "+", (4, 6)),
    ]
    assert c.wires == ((0, 2, 0), (1, 2, 1), (2, 4, 0), (3, 4, 1), (0, 6, 0), (5, 6, 1),
                       (4, 7, 0), (6, 7, 1))
    assert c.nodes[0].outputs == ((2, 0), (6, 0))          # x: one node, two wires
    assert c.forward_order == (2, 4, 6, 7)
    assert c.backward_order == (7, 6, 4, 2)
    assert [n.kind for n in c.nodes[:3]] == ["input", "input", "gate"]
    assert [n.column for n in c.nodes] == [2, 4, 2, 7, 1, 18, 11, 1]


def test_roles_name_the_lesson_patterns():
    c = circuits.parse(DEFAULT)
    roles = {node.op: node.role for node in c.nodes}
    assert roles["add"].startswith("add distributes")
    assert roles["mul"].startswith("mul switches")
    assert roles["max"].startswith("max routes to the winner")
    assert "first input" in roles["max"]
    assert roles["var"].startswith("input")
    for op, gate in circuits.GATES.items():
        assert gate.role and gate.op == op


def test_text_and_latex_of_subexpressions():
    c = circuits.parse(DEFAULT)
    assert [n.text for n in c.nodes if n.is_gate] == [
        "x + y", "(x + y) * z", "max(x, w)", "(x + y) * z + max(x, w)"]
    assert c.latex == r"\left(x + y\right) \cdot z + \max\left(x, w\right)"


@pytest.mark.parametrize(("expression", "latex"), [
    ("x**2 + 3*y**2", "x^{2} + 3 y^{2}"),
    ("x/(y+1)", r"\frac{x}{y + 1}"),
    ("sqrt(abs(x))", r"\sqrt{\left|x\right|}"),
    ("-x**2", "-x^{2}"),
    ("(-x)**2", r"\left(-x\right)^{2}"),
    ("x - (y - z)", r"x - \left(y - z\right)"),
    ("sigmoid(w1) * alpha", r"\sigma\left(w_{1}\right) \cdot \alpha"),
    ("relu(lr)**-1", r"\left(\operatorname{ReLU}\left(\mathrm{lr}\right)\right)^{-1}"),
    ("0.00001*x", r"1 \cdot 10^{-5} x"),
])
def test_latex_examples(expression, latex):
    assert circuits.parse(expression).latex == latex


@given(tree=trees.trees_strategy(), point=st.fixed_dictionaries(
    {name: st.floats(-2, 2) for name in trees.VARIABLES}))
@settings(max_examples=200, deadline=None)
def test_every_subexpression_text_reads_back_as_the_same_computation(tree, point):
    c = circuits.parse(trees.text(tree))
    c.forward(**{name: point[name] for name in c.variables})
    for node in c.nodes:
        again = circuits.parse(node.text)
        value = again.forward(**{name: point[name] for name in again.variables})
        assert len(again.nodes) == len(c.nodes[: node.id + 1]) - _unused(c, node)
        np.testing.assert_array_equal(value, node.value)


def _unused(c, node):
    """Nodes before ``node`` in c that its subexpression does not read."""
    reached, stack = set(), [node.id]
    while stack:
        current = stack.pop()
        if current not in reached:
            reached.add(current)
            stack.extend(c.nodes[current].inputs)
    return node.id + 1 - len(reached)


def test_variables_in_order_of_appearance():
    assert circuits.parse("y*x + z - x*w").variables == ("y", "x", "z", "w")
    assert circuits.parse("3").variables == ()


def test_a_variable_used_twice_is_one_node_and_its_gradient_accumulates():
    c = circuits.parse("x*x + x")
    assert [n.op for n in c.nodes] == ["var", "mul", "add"]
    assert c.nodes[1].inputs == (0, 0)
    assert c.forward(x=3) == 12
    assert c.backward() == {"x": 7}                  # 2x + 1


def test_constants_are_nodes_each_occurrence_its_own():
    c = circuits.parse("2*x + 2 - -3")
    constants = [n for n in c.nodes if n.op == "const"]
    assert [n.param for n in constants] == [2, 2, -3]
    assert [n.label for n in constants] == ["2", "2", "-3"]
    assert c.forward(x=1) == 7
    assert c.backward() == {"x": 2}
    assert constants[0].grad == 1 and constants[2].grad == -1


def test_forward_steps_compute_one_gate_per_step_in_forward_order():
    c = circuits.parse(DEFAULT)
    steps = c.forward_steps(x=-2, y=5, z=-4, w=-1)
    assert c.value is None
    seen = []
    for node in steps:
        seen.append(node.id)
        later = [c.nodes[i] for i in c.forward_order[len(seen):]]
        assert node.value is not None and all(n.value is None for n in later)
        assert c.nodes[0].value == -2                # inputs are set before the first gate
    assert tuple(seen) == c.forward_order
    assert [c.nodes[i].value for i in seen] == [3, -12, -1, -13]
    assert c.value == -13


def test_backward_steps_propagate_one_gate_per_step_in_backward_order():
    c = circuits.parse(DEFAULT)
    c.forward(x=3, y=1, z=2, w=-1)
    steps = c.backward_steps()
    first = next(steps)
    assert first.id == 7 and first.local_grads == (1, 1) and first.downstream_grads == (1, 1)
    assert c.nodes[4].grad == 1 and c.nodes[6].grad == 1
    assert c.nodes[0].grad == 0                          # x has heard from nobody yet
    second = next(steps)
    assert second.op == "max" and second.downstream_grads == (1, 0)
    assert c.nodes[0].grad == 1                          # the max path arrived
    rest = list(steps)
    assert [n.id for n in rest] == [4, 2]
    assert c.nodes[0].grad == 3                          # plus the product path
    assert c.gradients == {"x": 3, "y": 2, "z": 4, "w": 0}


def test_step_generators_check_their_arguments_at_the_call():
    c = circuits.parse(DEFAULT)
    with pytest.raises(ExpressionError, match="missing a value for the variable w"):
        c.forward_steps(x=1, y=1, z=1)
    with pytest.raises(ExpressionError, match="forward"):
        c.backward_steps()
    c.forward(x=1, y=1, z=1, w=1)
    with pytest.raises(ExpressionError, match="upstream"):
        c.backward_steps(upstream=[1.0, 2.0])


def test_backward_before_forward_raises():
    c = circuits.parse(DEFAULT)
    with pytest.raises(ExpressionError, match="forward"):
        c.backward()
    steps = c.forward_steps(x=1, y=1, z=1, w=1)
    next(steps)
    with pytest.raises(ExpressionError, match="forward"):
        c.backward()                                     # the forward pass is unfinished


def test_forward_again_clears_the_previous_gradients():
    c = circuits.parse(DEFAULT)
    c.forward(x=1, y=1, z=1, w=1)
    c.backward()
    c.forward(x=2, y=1, z=1, w=1)
    assert all(n.grad is None and n.local_grads == () for n in c.nodes)


@pytest.mark.parametrize(("values", "message"), [
    ({"x": 1, "y": 1, "z": 1}, "missing a value for the variable w"),
    ({"x": 1, "y": 1, "z": 1, "w": 1, "q": 2}, "unknown variable q"),
    ({"x": "abc", "y": 1, "z": 1, "w": 1}, "real number"),
    ({"x": 1j, "y": 1, "z": 1, "w": 1}, "real number"),
    ({"x": [1, 2], "y": [1, 2, 3], "z": 1, "w": 1}, "do not broadcast"),
])
def test_bad_values_raise_expression_error(values, message):
    c = circuits.parse(DEFAULT)
    with pytest.raises(ExpressionError, match=message):
        c.forward(**values)


@pytest.mark.parametrize(("a", "b"), [(2.0, 2.0), (-1.0, -1.0), (0.0, 0.0)])
def test_max_and_min_route_a_tie_to_the_first_argument(a, b):
    for function in ("max", "min"):
        c = circuits.parse(f"{function}(x, w)")
        assert c.forward(x=a, w=b) == a
        assert c.backward() == {"x": 1, "w": 0}
        c = circuits.parse(f"{function}(w, x)")
        c.forward(x=a, w=b)
        assert c.backward() == {"w": 1, "x": 0}


def test_max_tie_routes_elementwise_on_arrays():
    c = circuits.parse("max(x, w)")
    c.forward(x=np.array([1.0, 2.0, 3.0]), w=np.array([2.0, 2.0, 2.0]))
    gradients = c.backward()
    np.testing.assert_array_equal(gradients["x"], [0, 1, 1])
    np.testing.assert_array_equal(gradients["w"], [1, 0, 0])


@pytest.mark.parametrize(("expression", "gradient"), [
    ("relu(x)", 0.0), ("abs(x)", 0.0), ("x**0", 0.0), ("x**2", 0.0), ("x**3", 0.0),
])
def test_derivatives_at_zero(expression, gradient):
    c = circuits.parse(expression)
    c.forward(x=0.0)
    assert c.backward() == {"x": gradient}


@pytest.mark.parametrize(("expression", "x", "value", "gradient"), [
    ("exp(x)", 1000.0, np.inf, np.inf),
    ("log(x)", 0.0, -np.inf, np.inf),
    ("log(x)", -1.0, np.nan, -1.0),
    ("sqrt(x)", -1.0, np.nan, np.nan),
    ("1/x", 0.0, np.inf, -np.inf),
    ("x/x", 0.0, np.nan, np.nan),
    ("((x**10)**10)**10", 10.0, np.inf, np.inf),
    ("exp(x) - exp(x)", 1000.0, np.nan, np.nan),
    ("sigmoid(x)", -1000.0, 0.0, 0.0),
    ("silu(x)", -1000.0, -0.0, 0.0),
    ("gelu(x)", np.inf, np.inf, np.nan),
    ("tanh(x)", np.nan, np.nan, np.nan),
])
def test_overflow_and_domain_errors_give_inf_or_nan_without_warnings(expression, x, value,
                                                                     gradient):
    c = circuits.parse(expression)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(c.forward(x=x), value)
        np.testing.assert_array_equal(c.backward()["x"], gradient)


def test_constant_expressions_overflow_quietly():
    c = circuits.parse("(9**9)**9 * 10**10 * 1e300")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.forward() == np.inf
        assert c.backward() == {}


def test_scalars_in_scalars_out():
    c = circuits.parse(DEFAULT)
    value = c.forward(x=-2, y=5, z=-4, w=-1)
    assert isinstance(value, float) and np.ndim(value) == 0
    assert all(isinstance(g, float) for g in c.backward().values())


def test_broadcast_gradients_have_each_variables_own_shape():
    rng = np.random.default_rng(0)
    x, y, z = rng.normal(size=(3, 1)), rng.normal(size=(4,)), 1.5
    c = circuits.parse("x*y + z*x + y")
    value = c.forward(x=x, y=y, z=z)
    assert value.shape == (3, 4)
    gradients = c.backward()
    assert gradients["x"].shape == (3, 1)
    assert gradients["y"].shape == (4,)
    assert np.ndim(gradients["z"]) == 0
    np.testing.assert_allclose(gradients["x"], np.full((3, 1), y.sum() + 4 * z), rtol=1e-14)
    np.testing.assert_allclose(gradients["y"], np.full(4, x.sum() + 3), rtol=1e-14)
    assert gradients["z"] == pytest.approx(4 * x.sum(), rel=1e-14)


def test_a_variable_that_shrinks_the_output_gets_summed_over_broadcast_axes_of_length_one():
    c = circuits.parse("x*y")
    x = np.array([[1.0, 2.0, 3.0]])                       # (1, 3)
    y = np.array([[1.0], [10.0]])                         # (2, 1)
    c.forward(x=x, y=y)
    gradients = c.backward()
    np.testing.assert_array_equal(gradients["x"], [[11.0, 11.0, 11.0]])
    np.testing.assert_array_equal(gradients["y"], [[6.0], [6.0]])


def test_upstream_scales_every_gradient_and_may_be_an_array():
    c = circuits.parse("x*y")
    c.forward(x=np.array([1.0, 2.0]), y=3.0)
    gradients = c.backward(upstream=np.array([10.0, -1.0]))
    np.testing.assert_array_equal(gradients["x"], [30.0, -3.0])
    assert gradients["y"] == 10.0 * 1 - 1.0 * 2
    c.forward(x=2.0, y=3.0)
    assert c.backward(upstream=-2.0) == {"x": -6.0, "y": -4.0}


@pytest.mark.parametrize("upstream", [np.ones(3), "a", np.ones((2, 2))])
def test_upstream_that_does_not_fit_the_output_raises(upstream):
    c = circuits.parse("x*y")
    c.forward(x=np.array([1.0, 2.0]), y=3.0)
    with pytest.raises(ExpressionError, match="upstream"):
        c.backward(upstream=upstream)


def test_node_grads_have_their_nodes_shape():
    c = circuits.parse("sin(x) * y")
    c.forward(x=np.zeros((2, 1)), y=np.ones(3))
    c.backward()
    for node in c.nodes:
        assert np.shape(node.grad) == np.shape(node.value)
        for local in node.local_grads:
            assert np.shape(local) == np.shape(node.value)
        for source, sent in zip(node.inputs, node.downstream_grads, strict=True):
            assert np.shape(sent) == np.shape(c.nodes[source].value)


def test_a_300_by_300_grid_with_every_gate_runs_forward_and_backward():
    c = circuits.parse("gelu(x) * silu(y) + max(x, y)**2 - min(abs(x), relu(y)) / (1 + exp(x))"
                       " + log(1 + sigmoid(y)) * sqrt(1 + tanh(x)**2) + sin(x) * cos(y) - -x")
    grid = np.linspace(-3, 3, 300)
    c.forward(x=grid[:, None], y=grid[None, :])
    gradients = c.backward()
    assert c.value.shape == (300, 300)
    assert gradients["x"].shape == (300, 1) and gradients["y"].shape == (1, 300)
    assert np.isfinite(c.value).all()


def test_repr_names_the_expression():
    assert repr(circuits.parse("x + 1")) == "circuits.parse('x + 1')"
