"""Random expression trees over every gate, written out as text, evaluated independently.

A tree is a tuple: ("var", name), ("const", number), ("pow", exponent, child) or
(op, *children). ``text`` writes it for circuits.parse; ``evaluate`` computes it with plain
numpy (not circuits' gate table); ``torch_evaluate`` with torch (the oracle and
scripts/make_golden_circuits.py). ``is_smooth_at`` rejects points near a kink, a tie or a
domain edge, where a difference quotient or torch's tie-splitting would disagree.
"""

import math
import random

import numpy as np

VARIABLES = ("x", "y", "z", "w")
UNARY = ("neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "gelu",
         "silu")
BINARY = ("add", "sub", "mul", "div", "max", "min")
EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5, -2.0, 0.0, 4.0, -0.5)
# Smooth everywhere on their grids, so broadcasting is the only thing under test.
BROADCAST = (
    ("add", ("mul", ("sin", ("var", "x")), ("var", "y")),
     ("div", ("exp", ("mul", ("var", "z"), ("var", "x"))),
      ("add", ("const", 1.0), ("pow", 2.0, ("var", "y"))))),
    ("add", ("mul", ("tanh", ("sub", ("var", "x"), ("var", "y"))), ("var", "z")),
     ("add", ("gelu", ("mul", ("var", "x"), ("var", "y"))), ("silu", ("var", "z")))),
    ("mul", ("sigmoid", ("var", "w")), ("cos", ("add", ("var", "x"), ("var", "w")))),
)
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}

_erfc = np.vectorize(math.erfc, otypes=[float])


def text(tree) -> str:
    """The tree as an expression, every subexpression in parentheses."""
    kind = tree[0]
    if kind == "var":
        return tree[1]
    if kind == "const":
        return f"({tree[1]!r})" if tree[1] < 0 else repr(tree[1])
    if kind == "pow":
        return f"({text(tree[2])})**{tree[1]!r}"
    if kind == "neg":
        return f"(-({text(tree[1])}))"
    if kind in _SYMBOLS:
        return f"({text(tree[1])} {_SYMBOLS[kind]} {text(tree[2])})"
    return f"{kind}({', '.join(text(child) for child in tree[1:])})"


def variables(tree) -> list[str]:
    """Variable names in order of appearance (left to right)."""
    if tree[0] == "var":
        return [tree[1]]
    if tree[0] == "const":
        return []
    children = tree[2:] if tree[0] == "pow" else tree[1:]
    found = []
    for child in children:
        found += [name for name in variables(child) if name not in found]
    return found


def evaluate(tree, point: dict, trace: list | None = None):
    """The tree's value with numpy. ``trace`` collects (op, arguments) of every gate."""
    kind = tree[0]
    if kind == "var":
        return np.asarray(point[tree[1]], dtype=float)
    if kind == "const":
        return np.float64(tree[1])
    if kind == "pow":
        base = evaluate(tree[2], point, trace)
        arguments = (base,)
    else:
        arguments = tuple(evaluate(child, point, trace) for child in tree[1:])
    if trace is not None:
        trace.append((kind, tree[1] if kind == "pow" else None, arguments))
    with np.errstate(all="ignore"):
        return _NUMPY[kind](tree, *arguments)


_NUMPY = {
    "add": lambda t, a, b: a + b,
    "sub": lambda t, a, b: a - b,
    "mul": lambda t, a, b: a * b,
    "div": lambda t, a, b: a / b,
    "max": lambda t, a, b: np.maximum(a, b),
    "min": lambda t, a, b: np.minimum(a, b),
    "pow": lambda t, a: np.power(a, t[1]),
    "neg": lambda t, a: -a,
    "abs": lambda t, a: np.abs(a),
    "exp": lambda t, a: np.exp(a),
    "log": lambda t, a: np.log(a),
    "sqrt": lambda t, a: np.sqrt(a),
    "sin": lambda t, a: np.sin(a),
    "cos": lambda t, a: np.cos(a),
    "tanh": lambda t, a: np.tanh(a),
    "sigmoid": lambda t, a: 1.0 / (1.0 + np.exp(-a)),
    "relu": lambda t, a: np.maximum(a, 0.0),     # NaN stays NaN, as torch.relu
    # Φ(a) = ½·erfc(−a/√2): ½(1 + erf(a/√2)) loses digits in the left tail.
    "gelu": lambda t, a: a * 0.5 * _erfc(-a * math.sqrt(0.5)),
    "silu": lambda t, a: a * (1.0 / (1.0 + np.exp(-a))),
}


def is_smooth_at(tree, point: dict, margin: float = 0.05, limit: float = 1e4) -> bool:
    """True when every gate's arguments at ``point`` are finite, at most ``limit`` in size and
    at least ``margin`` away from any kink, tie or domain edge."""
    trace = []
    value = evaluate(tree, point, trace)
    if not np.all(np.isfinite(value)) or np.any(np.abs(value) > limit):
        return False
    for kind, exponent, arguments in trace:
        for argument in arguments:
            if not np.all(np.isfinite(argument)) or np.any(np.abs(argument) > limit):
                return False
        a = arguments[0]
        if kind in ("max", "min") and np.any(np.abs(a - arguments[1]) < margin):
            return False
        if kind == "div" and np.any(np.abs(arguments[1]) < margin):
            return False
        if kind in ("abs", "relu") and np.any(np.abs(a) < margin):
            return False
        if kind in ("log", "sqrt") and np.any(a < margin):
            return False
        if kind == "pow" and exponent != int(exponent) and np.any(a < margin):
            return False
        if kind == "pow" and exponent < 1 and np.any(np.abs(a) < margin):
            return False
    return True


def random_tree(rng: random.Random, size: int):
    """A random tree with about ``size`` gates, every gate equally likely."""
    if size <= 0:
        if rng.random() < 0.75:
            return ("var", rng.choice(VARIABLES))
        return ("const", round(rng.uniform(-3.0, 3.0), rng.choice((0, 1, 2, 6))))
    kind = rng.choice(UNARY + BINARY + ("pow",))
    if kind == "pow":
        return ("pow", rng.choice(EXPONENTS), random_tree(rng, size - 1))
    if kind in UNARY:
        return (kind, random_tree(rng, size - 1))
    left = rng.randint(0, size - 1)
    return (kind, random_tree(rng, left), random_tree(rng, size - 1 - left))


def trees_strategy(max_leaves: int = 10):
    """Hypothesis strategy for trees."""
    from hypothesis import strategies as st

    constants = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False).map(
        lambda v: round(v, 3))
    leaves = st.one_of(
        st.sampled_from(VARIABLES).map(lambda name: ("var", name)),
        constants.map(lambda v: ("const", v)),
    )

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), children),
            st.tuples(st.sampled_from(BINARY), children, children),
            st.tuples(st.just("pow"), st.sampled_from(EXPONENTS), children),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def torch_evaluate(tree, point: dict):
    """(value, {variable: gradient}) from torch.autograd in float64; arrays broadcast and the
    output is seeded with ones, as circuits' backward(1.0)."""
    import torch

    inputs = {name: torch.tensor(np.asarray(point[name], dtype=float), dtype=torch.float64,
                                 requires_grad=True) for name in variables(tree)}
    output = _torch(tree, inputs)
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return float(output), {}
    output.backward(torch.ones_like(output))
    gradients = {name: tensor.grad.numpy().copy() for name, tensor in inputs.items()}
    return output.detach().numpy().copy(), gradients


def _torch(tree, inputs):
    import torch
    import torch.nn.functional as F

    kind = tree[0]
    if kind == "var":
        return inputs[tree[1]]
    if kind == "const":
        return torch.tensor(tree[1], dtype=torch.float64)
    if kind == "pow":
        return _torch(tree[2], inputs) ** tree[1]
    arguments = [_torch(child, inputs) for child in tree[1:]]
    operations = {
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "max": torch.maximum, "min": torch.minimum,
        "neg": lambda a: -a, "abs": torch.abs, "exp": torch.exp, "log": torch.log,
        "sqrt": torch.sqrt, "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
        "sigmoid": torch.sigmoid, "relu": torch.relu, "gelu": F.gelu, "silu": F.silu,
    }
    return operations[kind](*arguments)
