"""The gates a circuit is built from: each one's forward rule beside its local derivative.

A gate computes ``out = forward(*inputs)``. On the way back it receives the upstream gradient
∂f/∂out and sends ``upstream · local_i`` down input wire i, where ``local_i = ∂out/∂input_i``
comes from ``local(*inputs, out)``. That product is the whole chain rule; the table below is
the whole calculus a circuit knows.

Conventions at kinks (torch's, except where torch splits a tie):
- max/min route a tie to the FIRST argument (torch.maximum would split it half and half);
- relu'(0) = 0 and abs'(0) = 0 (as torch);
- a ** 0 has local derivative 0 everywhere (as torch), even at a = 0.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Gate(NamedTuple):
    op: str             # the node's ``op``
    label: str          # what the drawing writes on the gate
    arity: int
    role: str           # what the gate does to the gradient, in the lesson's words
    forward: Callable   # forward(*inputs) -> out
    local: Callable     # local(*inputs, out) -> (∂out/∂input_0, ...)


_erfc_object = np.frompyfunc(math.erfc, 1, 1)


def erfc(x):
    """The complementary error function to full double precision (math.erfc, elementwise)."""
    return np.asarray(_erfc_object(x), dtype=np.float64)[()]


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _normal_cdf(a):
    """Φ(a) = ½(1 + erf(a/√2)) = ½·erfc(−a/√2); erfc keeps full precision in the left tail,
    where 1 + erf(·) would cancel."""
    return 0.5 * erfc(-a * _SQRT_HALF)


def _sigmoid(a):
    """σ(a) = 1 / (1 + e^(−a)); e^(−a) = inf gives exactly 0, never NaN."""
    return 1.0 / (1.0 + np.exp(-a))


def _power_local(p):
    if p == 0:
        return lambda a, out: (np.zeros(np.shape(a)),)
    return lambda a, out: (p * a ** (p - 1),)


def power_gate(p: float) -> Gate:
    """a ** p for a constant p (the exponent is part of the gate, not an input wire)."""
    shown = number_text(p)
    return Gate(
        "pow", f"^{shown}", 1,
        f"power scales the upstream gradient by {shown}·a^({shown}−1)",
        lambda a: a ** p,
        _power_local(p),
    )


GATES: dict[str, Gate] = {gate.op: gate for gate in (
    Gate("add", "+", 2,
         "add distributes: each input receives the upstream gradient unchanged",
         lambda a, b: a + b,
         lambda a, b, out: (1.0, 1.0)),
    Gate("sub", "−", 2,
         "subtract distributes with a sign: the first input receives the upstream gradient, "
         "the second its negative",
         lambda a, b: a - b,
         lambda a, b, out: (1.0, -1.0)),
    Gate("mul", "×", 2,
         "mul switches: each input receives the other input's value times the upstream gradient",
         lambda a, b: a * b,
         lambda a, b, out: (b, a)),
    Gate("div", "÷", 2,
         "divide: the numerator receives upstream/b, the denominator −upstream·a/b²",
         lambda a, b: a / b,
         lambda a, b, out: (1.0 / b, -a / (b * b))),
    Gate("neg", "−", 1,
         "negate flips the sign of the upstream gradient",
         lambda a: -a,
         lambda a, out: (-1.0,)),
    Gate("max", "max", 2,
         "max routes to the winner: the larger input receives the whole upstream gradient, "
         "the other zero (a tie goes to the first input)",
         np.maximum,
         lambda a, b, out: (1.0 * (a >= b), 1.0 * (a < b))),
    Gate("min", "min", 2,
         "min routes to the smaller input: it receives the whole upstream gradient, the other "
         "zero (a tie goes to the first input)",
         np.minimum,
         lambda a, b, out: (1.0 * (a <= b), 1.0 * (a > b))),
    Gate("abs", "abs", 1,
         "abs passes the upstream gradient with the input's sign (zero at 0)",
         np.abs,
         lambda a, out: (1.0 * np.sign(a),)),
    Gate("exp", "exp", 1,
         "exp scales the upstream gradient by its own output e^a",
         np.exp,
         lambda a, out: (out,)),
    Gate("log", "log", 1,
         "log scales the upstream gradient by 1/a",
         np.log,
         lambda a, out: (1.0 / a,)),
    Gate("sqrt", "sqrt", 1,
         "sqrt scales the upstream gradient by 1/(2√a)",
         np.sqrt,
         lambda a, out: (0.5 / out,)),
    Gate("sin", "sin", 1,
         "sin scales the upstream gradient by cos a",
         np.sin,
         lambda a, out: (np.cos(a),)),
    Gate("cos", "cos", 1,
         "cos scales the upstream gradient by −sin a",
         np.cos,
         lambda a, out: (-np.sin(a),)),
    Gate("tanh", "tanh", 1,
         "tanh scales the upstream gradient by 1 − tanh²a, at most 1: stacked, gradients vanish",
         np.tanh,
         lambda a, out: (1.0 - out * out,)),
    Gate("sigmoid", "sigmoid", 1,
         "sigmoid scales the upstream gradient by σ(1 − σ), at most 1/4: stacked, "
         "gradients vanish",
         _sigmoid,
         lambda a, out: (out * (1.0 - out),)),
    Gate("relu", "relu", 1,
         "relu gates: the gradient passes where the input is positive and stops elsewhere "
         "(relu'(0) = 0)",
         lambda a: np.maximum(a, 0.0),
         lambda a, out: (1.0 * (a > 0),)),
    Gate("gelu", "gelu", 1,
         "GELU a·Φ(a) scales the upstream gradient by Φ(a) + a·φ(a)",
         lambda a: a * _normal_cdf(a),
         lambda a, out: (_normal_cdf(a) + a * _INV_SQRT_2PI * np.exp(-0.5 * a * a),)),
    Gate("silu", "silu", 1,
         "SiLU a·σ(a) scales the upstream gradient by σ(a)(1 + a(1 − σ(a)))",
         lambda a: a * _sigmoid(a),
         lambda a, out: (_sigmoid(a) * (1.0 + a * (1.0 - _sigmoid(a))),)),
)}

#: Functions a person may call, by name.
FUNCTIONS = ("max", "min", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh",
             "sigmoid", "relu", "gelu", "silu")

INPUT_ROLE = "input: its gradient is the sum of the gradients on all its outgoing wires"
CONSTANT_ROLE = "constant: a fixed number; its gradient is computed but changes nothing"


def number_text(value: float) -> str:
    """A constant as a person would write it: 3, 0.5, 1e-05, -0."""
    if value == int(value) and abs(value) < 1e15:
        return ("-" if math.copysign(1.0, value) < 0 else "") + str(abs(int(value)))
    return repr(float(value))
