"""Lesson 3 — Backpropagation: the gate circuit f = (x+y)·z + max(x, w)."""

import panel as pn
import param

INTRO = (
    "A model is a composition of simple functions, drawn here as a circuit of gates. "
    "The **forward** pass computes each gate's value from left to right; the **backward** "
    "pass applies the chain rule from the output back to the inputs: every gate multiplies "
    "the gradient arriving from above (the *upstream* gradient) by its own *local* gradient. "
    "One backward pass gives the gradient with respect to every input at once."
)
FORMULA = (
    r"$\dfrac{\partial f}{\partial \text{input}} = "
    r"\dfrac{\partial f}{\partial \text{gate}} \cdot "
    r"\dfrac{\partial\, \text{gate}}{\partial\, \text{input}}"
    r"\qquad f = (x+y)\,z + \max(x, w)$"
)


class Backpropagation(pn.viewable.Viewer):
    """The backpropagation lesson: a circuit with forward values and backward gradients."""

    expression = param.String(default="(x+y)*z + max(x, w)", doc="The circuit's formula")

    def __init__(self, **params):
        super().__init__(**params)
        self._intro = pn.pane.Markdown(INTRO, sizing_mode="stretch_width")
        self._formula = pn.pane.LaTeX(FORMULA, styles={"font-size": "1.2em"})
        self._layout = pn.Column(self._intro, self._formula, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
