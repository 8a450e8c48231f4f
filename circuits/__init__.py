"""Safe expression parser and gate graph with forward and backward passes (pure Python/numpy).

    c = circuits.parse("(x+y)*z + max(x, w)")
    c.variables                         # ("x", "y", "z", "w"), in order of appearance
    c.forward(x=-2, y=5, z=-4, w=-1)    # -13.0; fills node.value
    c.backward()                        # {"x": -4.0, "y": -4.0, "z": 3.0, "w": 1.0}; fills grads
    c.nodes                             # topological tuple of Node; nodes[i].id == i

Drawing: ``node.op`` / ``node.kind`` ("input", "constant", "gate") / ``node.label`` /
``node.inputs`` / ``node.outputs`` / ``c.wires`` / ``c.output``; ``node.text``, ``node.latex``
(the subexpression) and ``node.role`` (the gate's gradient pattern in the lesson's words).
Animation: ``c.forward_order`` and ``c.backward_order`` (gate ids), or the generators
``c.forward_steps(**values)`` and ``c.backward_steps(upstream)`` that yield each gate right
after computing it. After backward, each gate has ``local_grads`` (∂value/∂input, one per
input wire) and ``downstream_grads`` (what it sends down each input wire); a variable's
``grad`` is the sum over its outgoing wires.

Conventions: max/min send a tie's gradient to the first argument; relu'(0) = abs'(0) = 0.
Limits: 300 ASCII characters, 200 nodes, 50 gates deep, 8 variables, |exponent| <= 10 (a
numeric literal). Anything else raises ExpressionError (a ValueError) saying what and where.

``circuits.to_landscape("x**2 + 3*y**2")`` is the same machinery as a 2-D loss surface.
"""

from .circuit import Circuit, parse
from .errors import ExpressionError
from .gates import FUNCTIONS, GATES, Gate
from .landscape import CircuitLandscape, to_landscape
from .node import Node
from .parser import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, MAX_VARIABLES

__all__ = [
    "FUNCTIONS", "GATES", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "MAX_NODES",
    "MAX_VARIABLES", "Circuit", "CircuitLandscape", "ExpressionError", "Gate", "Node", "parse",
    "to_landscape",
]
