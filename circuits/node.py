"""One node of a circuit: an input, a constant or a gate, with what the drawing needs."""

from dataclasses import dataclass, field
from typing import Any

from .gates import Gate


@dataclass(eq=False)
class Node:
    """A node, at ``circuit.nodes[id]``.

    Drawing: ``op`` ("var", "const" or a gate: "add", "mul", "max", ...), ``label`` (what to
    write on it: "x", "3", "+", "×", "max", "^2"), ``inputs`` (ids of the nodes on its input
    wires, in argument order), ``outputs`` ((gate id, input slot) for each outgoing wire; a
    variable used twice has two), ``text`` / ``latex`` (the subexpression it computes), ``role``
    (what it does to the gradient, in the lesson's words), ``column`` (where it is in the text).

    Numbers: ``value`` after forward; after backward ``grad`` (∂output/∂this node, the node's
    own shape), ``local_grads`` (∂value/∂input_i, one per input wire) and ``downstream_grads``
    (``grad · local_grads[i]`` summed to input i's shape: what the gate sends down wire i).
    """

    id: int
    op: str
    inputs: tuple[int, ...]
    label: str
    role: str
    text: str
    latex: str
    column: int
    precedence: int = field(repr=False)
    param: float | None = None          # a constant's number; a power gate's exponent
    name: str | None = None             # a variable's name
    gate: Gate | None = field(default=None, repr=False)
    outputs: tuple[tuple[int, int], ...] = ()
    value: Any = None
    grad: Any = None
    local_grads: tuple = ()
    downstream_grads: tuple = ()

    @property
    def kind(self) -> str:
        """"input", "constant" or "gate"."""
        return {"var": "input", "const": "constant"}.get(self.op, "gate")

    @property
    def is_gate(self) -> bool:
        return self.gate is not None
