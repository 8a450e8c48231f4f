"""Safe expression parser and gate graph with forward and backward passes (pure Python/numpy).

    c = circuits.parse("(x+y)*z + max(x, w)")
    c.variables                         # ("x", "y", "z", "w")
    c.forward(x=-2, y=5, z=-4, w=-1)    # -13.0
    c.backward()                        # {"x": -3.0, "y": -4.0, "z": 3.0, "w": 0.0}
    c.nodes                             # topological list of Node

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
