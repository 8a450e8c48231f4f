"""Lesson 3's words: its texts and what it writes about the circuit at each step.

`CircuitText` is a mixin of `Backpropagation` (app/backprop.py): the status sentence for the
animation's step (`_circuit_status`), a tapped node's rule (`_node_text`) and, for the neuron,
one SGD step on w and b (`_update_text`). Every number comes from `circuits` and `optimizers`.
"""


import numpy as np

import optimizers
from app.circuit_view import (
    GRAD_COLOR,
    VALUE_COLOR,
    active_gate,
    number_label,
    total_steps,
)

INTRO = (
    "A model is a composition of simple functions, drawn here as a circuit of gates. "
    "The **forward** pass computes each gate's value from left to right. The **backward** pass "
    "applies the chain rule from the output back to the inputs: each gate multiplies the "
    "gradient arriving from its output (the *upstream* gradient) by its own *local* gradient "
    "and sends the product down each input wire. One backward pass yields the gradient with "
    "respect to every input at once; an input used twice adds up what arrives on both wires."
)
FORMULA = (
    r"$\dfrac{\partial f}{\partial\,\mathrm{input}} = "
    r"\underbrace{\dfrac{\partial f}{\partial\,\mathrm{gate}}}_{\text{upstream}} \cdot "
    r"\underbrace{\dfrac{\partial\,\mathrm{gate}}{\partial\,\mathrm{input}}}_{\text{local}}"
    r"\qquad f = (x+y)\,z + \max(x, w)$"
)
LEGEND = (
    f"<span style='color:{VALUE_COLOR};font-weight:bold'>bold green above a wire: forward "
    f"value</span> &nbsp;·&nbsp; <span style='color:{GRAD_COLOR};font-style:italic'>italic "
    "red below a wire: gradient ∂f/∂(wire)</span> &nbsp;·&nbsp; tap a gate to see its rule"
)
NEURON_EXPRESSION = "(x*w + b - y)**2"
NEURON_LEARNING_RATE = 0.01


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CircuitText:
    """The sentences of Backpropagation about its circuit (a mixin)."""

    def _name(self, node_id):
        node = self.circuit.nodes[node_id]
        if node.kind == "gate":
            return f"the {node.label} gate"
        return node.label

    def _circuit_status(self):
        circuit = self.circuit
        gates = len(circuit.forward_order)
        progress = self.progress
        output = circuit.nodes[circuit.output]
        if progress >= total_steps(circuit):
            grads = " · ".join(f"∂f/∂{name} = **{number_label(grad)}**"
                               for name, grad in circuit.gradients.items())
            return (f"**Done.** f = **{number_label(output.value)}** (upstream "
                    f"{number_label(output.grad)}) · {grads or 'no variables'}")
        if progress == 0:
            return f"**Forward, step 0 of {gates}:** only the inputs are known."
        if progress <= gates:
            node = circuit.nodes[active_gate(circuit, progress)]
            args = ", ".join(number_label(circuit.nodes[s].value) for s in node.inputs)
            return (f"**Forward, step {progress} of {gates}:** {self._name(node.id)} computes "
                    f"{_short(node.text)} = **{number_label(node.value)}** from {args}.")
        if progress == gates + 1:
            return (f"**Backward, start:** the output wire carries the upstream gradient "
                    f"**{number_label(output.grad)}**.")
        node = circuit.nodes[active_gate(circuit, progress)]
        sends = ", ".join(f"**{number_label(g)}** to {self._name(s)}"
                          for s, g in zip(node.inputs, node.downstream_grads, strict=True))
        locals_ = ", ".join(number_label(g) for g in node.local_grads)
        return (f"**Backward, step {progress - gates - 1} of {gates}:** {self._name(node.id)} "
                f"takes upstream {number_label(node.grad)} × local ({locals_}) and sends {sends}.")

    def _node_text(self, node_id):
        node = self.circuit.nodes[node_id]
        if node.kind == "gate":
            ins = ", ".join(f"{_short(self.circuit.nodes[s].text, 18)} = "
                            f"{number_label(self.circuit.nodes[s].value)}" for s in node.inputs)
            locals_ = ", ".join(
                f"∂/∂({_short(self.circuit.nodes[s].text, 18)}) = {number_label(g)}"
                for s, g in zip(node.inputs, node.local_grads, strict=True))
            sends = ", ".join(f"{number_label(g)} to {self._name(s)}"
                              for s, g in zip(node.inputs, node.downstream_grads, strict=True))
            return (f"**{node.label} gate — {node.role}.**  \nInputs {ins}; value "
                    f"{number_label(node.value)}. Local gradients {locals_}. Upstream "
                    f"{number_label(node.grad)} × local → sends {sends}.")
        arriving = [self.circuit.nodes[target].downstream_grads[slot]
                    for target, slot in node.outputs]
        parts = " + ".join(number_label(g) for g in arriving) or "0"
        return (f"**{node.label} — {node.role}.**  \nValue {number_label(node.value)}; "
                f"gradient {parts} = **{number_label(node.grad)}**.")

    def _update_text(self):
        """For the neuron: one SGD step on w and b with η = 0.01 (computed by optimizers)."""
        if self.expression != NEURON_EXPRESSION:
            return ""
        grads = self.circuit.gradients
        params = np.array([self.values["w"], self.values["b"]])
        opt = optimizers.get("sgd", lr=NEURON_LEARNING_RATE)
        new, _ = opt.step(params, np.array([grads["w"], grads["b"]]), opt.init(params))
        return (f"**One SGD step, η = {NEURON_LEARNING_RATE}:** w ← w − η·∂L/∂w = "
                f"**{number_label(new[0])}**, b ← b − η·∂L/∂b = **{number_label(new[1])}** "
                f"(ŷ = x·w + b = {number_label(self.circuit.nodes[self._prediction_id()].value)}"
                f", L = {number_label(self.circuit.value)}).")

    def _prediction_id(self):
        """The node computing x·w + b in the neuron's circuit."""
        return next(n.id for n in self.circuit.nodes if n.op == "add")
