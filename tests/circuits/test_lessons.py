"""The backpropagation lesson's worked numbers, exactly as LESSONS.md states them."""

import math

import numpy as np
import pytest

import circuits


def _by_text(circuit, text):
    return next(node for node in circuit.nodes if node.text == text)


def test_add_then_multiply_at_minus2_5_minus4_gives_q3_f_minus12_and_gradients():
    c = circuits.parse("(x+y)*z")
    assert c.forward(x=-2, y=5, z=-4) == -12
    q = _by_text(c, "x + y")
    assert q.value == 3
    assert c.backward() == {"x": -4, "y": -4, "z": 3}
    assert q.grad == -4                  # ∂f/∂q = z
    assert c.output_node.local_grads == (-4, 3)   # mul switches: (∂f/∂q, ∂f/∂z) = (z, q)
    assert q.local_grads == (1, 1)       # add distributes


def test_default_circuit_with_w_winning_the_max_sends_x_only_the_product_path():
    c = circuits.parse("(x+y)*z + max(x, w)")
    assert c.variables == ("x", "y", "z", "w")
    assert c.forward(x=-2, y=5, z=-4, w=-1) == -13      # -12 + max(-2, -1)
    assert c.backward() == {"x": -4, "y": -4, "z": 3, "w": 1}


def test_default_circuit_with_x_winning_the_max_sums_x_gradient_over_both_paths():
    c = circuits.parse("(x+y)*z + max(x, w)")
    assert c.forward(x=3, y=1, z=2, w=-1) == 11          # 4·2 + 3
    gradients = c.backward()
    assert gradients == {"x": 2 + 1, "y": 2, "z": 4, "w": 0}
    x = c.nodes[c.variable_ids["x"]]
    assert len(x.outputs) == 2                            # one node, two outgoing wires
    sent = [c.nodes[gate].downstream_grads[slot] for gate, slot in x.outputs]
    assert sorted(sent) == [1, 2] and x.grad == sum(sent)


@pytest.mark.parametrize(("expression", "x", "value", "gradient"), [
    ("(2*x+3)**2", 1, 25, 20),          # 2·(2x+3)·2 = 4(2x+3)
    ("(3*x+1)**2", 0, 1, 6),            # 6(3x+1)
])
def test_chain_rule_examples(expression, x, value, gradient):
    c = circuits.parse(expression)
    assert c.forward(x=x) == value
    assert c.backward() == {"x": gradient}


def test_chain_rule_central_difference_with_h_001_gives_6_09_for_the_forward_difference():
    # LESSONS.md's "numerically 6.09 with h=0.01" is the forward difference (f(h) − f(0)) / h.
    c = circuits.parse("(3*x+1)**2")
    h = 0.01
    forward_difference = (c.forward(x=h) - c.forward(x=0)) / h
    assert forward_difference == pytest.approx(6.09, abs=1e-12)


def test_one_neuron_squared_error_gives_lesson_numbers_and_update():
    c = circuits.parse("(x*w + b - y)**2")
    loss = c.forward(x=2, w=0.5, b=0.1, y=3)
    prediction = _by_text(c, "x * w + b")
    assert prediction.value == pytest.approx(1.1, abs=1e-15)
    assert loss == pytest.approx(3.61, abs=1e-14)
    gradients = c.backward()
    assert prediction.grad == pytest.approx(-3.8, abs=1e-14)     # ∂L/∂ŷ = 2(ŷ − y)
    assert gradients["w"] == pytest.approx(-7.6, abs=1e-14)
    assert gradients["b"] == pytest.approx(-3.8, abs=1e-14)
    eta = 0.01
    assert 0.5 - eta * gradients["w"] == pytest.approx(0.576, abs=1e-15)
    assert 0.1 - eta * gradients["b"] == pytest.approx(0.138, abs=1e-15)


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.7, 2.0])
def test_sigmoid_local_gradient_is_sigma_times_one_minus_sigma(x):
    c = circuits.parse("sigmoid(x)")
    sigma = c.forward(x=x)
    assert sigma == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)
    assert c.backward()["x"] == pytest.approx(sigma * (1 - sigma), rel=1e-15)


@pytest.mark.parametrize(("expression", "x", "derivative"), [
    ("relu(x)", 2.0, 1.0),
    ("relu(x)", -2.0, 0.0),
    ("tanh(x)", 0.5, 1 - math.tanh(0.5) ** 2),
    ("gelu(x)", 0.5, 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))
     + 0.5 * math.exp(-0.125) / math.sqrt(2 * math.pi)),
    ("silu(x)", 0.5, (1 / (1 + math.exp(-0.5))) * (1 + 0.5 * (1 - 1 / (1 + math.exp(-0.5))))),
])
def test_activation_derivatives_match_the_lesson_formulas(expression, x, derivative):
    c = circuits.parse(expression)
    c.forward(x=x)
    assert c.backward()["x"] == pytest.approx(derivative, rel=1e-15)


def test_gelu_is_x_times_normal_cdf_to_full_precision_in_the_left_tail():
    # ½(1 + erf(x/√2)) would lose 8 digits at x = −6; ½·erfc(−x/√2) keeps them.
    x = np.array([-20.0, -6.0, -1.5, -0.3, 0.0, 0.3, 1.5, 6.0])
    c = circuits.parse("gelu(x)")
    expected = [v * 0.5 * math.erfc(-v * math.sqrt(0.5)) for v in x]
    np.testing.assert_allclose(c.forward(x=x), expected, rtol=1e-15, atol=0)


def test_stacked_sigmoids_make_the_gradient_vanish():
    c = circuits.parse("sigmoid(sigmoid(sigmoid(sigmoid(sigmoid(x)))))")
    c.forward(x=0)
    assert 0 < c.backward()["x"] < 0.25 ** 5 * 1.01
