"""A parsed expression as a circuit of gates: forward fills values, backward fills gradients.

The forward pass walks ``nodes`` in topological order (inputs before the gates that read
them); the backward pass walks the same order in reverse, each gate multiplying the upstream
gradient by its local derivatives and adding the products into its inputs' gradients. A node
read by two gates (x in (x+y)·z + max(x, w)) collects the sum of both.

Values are float64 scalars or numpy arrays that broadcast together. A gradient always has
its node's own shape: where an input was broadcast, its gradient is summed over the
broadcast axes (as torch does). Overflow and invalid operations give inf/NaN, silently.

A circuit holds the numbers of its last pass, so one circuit serves one caller at a time.
"""

from collections.abc import Iterator

import numpy as np

from .errors import ExpressionError
from .node import Node
from .parser import parse_nodes


def parse(text: str) -> "Circuit":
    """The circuit computing ``text``, e.g. ``parse("(x+y)*z + max(x, w)")``.

    Raises ExpressionError, with the column, for anything but numbers, variables,
    + - * /, ** with a literal exponent |p| <= 10, unary minus and the functions max, min,
    abs, exp, log, sqrt, sin, cos, tanh, sigmoid, relu, gelu, silu; and past the limits
    (300 characters, 200 nodes, 50 gates deep, 8 variables).
    """
    nodes, output = parse_nodes(text)
    return Circuit(text, nodes, output)


class Circuit:
    """Gates wired from an expression.

    - ``nodes``: every node in topological order; ``nodes[i].id == i``.
    - ``variables``: variable names in order of appearance; ``variable_ids`` name → node id.
    - ``output``: id of the output node; ``value``: its value after forward (else None).
    - ``wires``: (source id, gate id, input slot) for every wire, in topological order.
    - ``forward_order`` / ``backward_order``: ids of the gates in the order the passes
      compute them (backward is forward reversed).
    - ``forward(**values)``, ``backward(upstream)``; step by step: ``forward_steps`` and
      ``backward_steps`` yield each gate just after computing it.
    """

    def __init__(self, text: str, nodes: list[Node], output: int):
        self.text = text
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.output = output
        self.variable_ids = {node.name: node.id for node in nodes if node.op == "var"}
        self.variables = tuple(self.variable_ids)
        self.wires = tuple((source, node.id, slot) for node in nodes
                           for slot, source in enumerate(node.inputs))
        self.forward_order = tuple(node.id for node in nodes if node.is_gate)
        self.backward_order = self.forward_order[::-1]
        self.value = None
        self._forward_done = False

    @property
    def output_node(self) -> Node:
        return self.nodes[self.output]

    @property
    def latex(self) -> str:
        return self.output_node.latex

    @property
    def gradients(self) -> dict:
        """{variable: ∂output/∂variable} from the last backward pass (None before one)."""
        return {name: self.nodes[node_id].grad for name, node_id in self.variable_ids.items()}

    def __repr__(self) -> str:
        return f"circuits.parse({self.text!r})"

    # Forward: each gate's value from its inputs' values, in topological order.

    def forward(self, **values) -> np.float64 | np.ndarray:
        """Set the variables to ``values`` and compute every node; return the output value."""
        for _ in self.forward_steps(**values):
            pass
        return self.value

    def forward_steps(self, **values) -> Iterator[Node]:
        """Forward one gate at a time: sets inputs and constants first, then yields each gate in
        ``forward_order`` right after computing its ``value``. Bad values raise here, at the
        call, not at the first step."""
        inputs = self._check_values(values)
        self._forward_done = False
        self.value = None
        for node in self.nodes:
            node.value = node.grad = None
            node.local_grads = node.downstream_grads = ()
            if node.op == "var":
                node.value = inputs[node.name]
            elif node.op == "const":
                node.value = np.float64(node.param)
        return self._forward_walk()

    def _forward_walk(self) -> Iterator[Node]:
        for node_id in self.forward_order:
            node = self.nodes[node_id]
            arguments = [self.nodes[source].value for source in node.inputs]
            with np.errstate(all="ignore"):
                node.value = _as_float(node.gate.forward(*arguments))
            yield node
        self.value = self.output_node.value
        self._forward_done = True

    # Backward: the reverse walk, upstream gradient × local gradient into every input.

    def backward(self, upstream=1.0) -> dict:
        """∂output/∂variable for every variable, after seeding the output with ``upstream``
        (a number, or an array of the output's shape, as torch's ``backward(gradient=...)``)."""
        for _ in self.backward_steps(upstream):
            pass
        return self.gradients

    def backward_steps(self, upstream=1.0) -> Iterator[Node]:
        """Backward one gate at a time: seeds the output's ``grad`` with ``upstream`` and zeros
        the rest, then yields each gate in ``backward_order`` right after it has added its
        ``downstream_grads`` into its inputs' ``grad``. Raises here, at the call, before a
        finished forward pass or for an upstream that does not fit the output."""
        if not self._forward_done:
            raise ExpressionError("run forward (with a value for every variable) before backward")
        seed = self._check_upstream(upstream)
        for node in self.nodes:
            node.grad = _as_float(np.zeros(np.shape(node.value)))
            node.local_grads = node.downstream_grads = ()
        self.output_node.grad = seed
        return self._backward_walk()

    def _backward_walk(self) -> Iterator[Node]:
        for node_id in self.backward_order:
            node = self.nodes[node_id]
            sources = [self.nodes[source] for source in node.inputs]
            with np.errstate(all="ignore"):
                local = node.gate.local(*(source.value for source in sources), node.value)
                shape = np.shape(node.value)
                node.local_grads = tuple(_as_float(g if np.shape(g) == shape
                                                   else np.broadcast_to(g, shape))
                                         for g in local)
                node.downstream_grads = tuple(
                    _sum_to_shape(node.grad * g, np.shape(source.value))
                    for g, source in zip(node.local_grads, sources, strict=True))
                for source, downstream in zip(sources, node.downstream_grads, strict=True):
                    source.grad = _as_float(source.grad + downstream)
            yield node

    def _check_values(self, values: dict) -> dict:
        unknown = [name for name in values if name not in self.variable_ids]
        if unknown:
            uses = ", ".join(self.variables) if self.variables else "no variables"
            raise ExpressionError(f"unknown variable {unknown[0]}: the expression uses {uses}")
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise ExpressionError(f"missing a value for the variable {missing[0]}")
        inputs = {}
        for name in self.variables:
            try:
                array = np.asarray(values[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise ExpressionError(
                    f"the value of {name} must be a real number or an array of them") from None
            inputs[name] = _as_float(array)
        try:
            np.broadcast_shapes(*(np.shape(value) for value in inputs.values()))
        except ValueError:
            shapes = ", ".join(f"{name} {np.shape(value)}" for name, value in inputs.items())
            raise ExpressionError(f"the values' shapes do not broadcast: {shapes}") from None
        return inputs

    def _check_upstream(self, upstream):
        try:
            seed = np.asarray(upstream, dtype=np.float64)
        except (TypeError, ValueError):
            raise ExpressionError("upstream must be a real number or an array of them") from None
        shape = np.shape(self.value)
        try:
            fits = np.broadcast_shapes(seed.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ExpressionError(
                f"upstream of shape {seed.shape} does not fit the output's shape {shape}")
        return _as_float(np.broadcast_to(seed, shape).copy())


def _as_float(value):
    """float64 array, or an np.float64 scalar for a 0-d result."""
    return np.asarray(value, dtype=np.float64)[()]


def _sum_to_shape(gradient, shape: tuple):
    """Sum ``gradient`` over the axes that broadcasting added or stretched, back to ``shape``."""
    gradient = np.asarray(gradient, dtype=np.float64)
    if gradient.shape != shape:
        extra = gradient.ndim - len(shape)
        if extra > 0:
            gradient = gradient.sum(axis=tuple(range(extra)))
        stretched = tuple(axis for axis, size in enumerate(shape)
                          if size == 1 and gradient.shape[axis] != 1)
        if stretched:
            gradient = gradient.sum(axis=stretched, keepdims=True)
        gradient = np.broadcast_to(gradient, shape).copy()
    return gradient[()]
