"""Lesson 4 — Stochastic & adaptive: mini-batches, schedules, clipping, the saddle race."""

import panel as pn
import param

INTRO = (
    "The full-batch gradient averages every example: exact, but one update costs a pass over "
    "all the data. **Stochastic** gradient descent uses one random example per step (cheap, "
    "very noisy); a **mini-batch** averages a few (the workhorse). The loss is the mean form "
    "1/(2n)Σ, so the learning rate does not depend on n. **Adaptive** optimizers (momentum, "
    "RMSprop, Adam) reshape each step from the gradients seen so far and cross plateaus faster."
)
FORMULA = (
    r"$L(m, b) = \frac{1}{2n}\sum_{i=1}^{n} (m x_i + b - y_i)^2 \qquad "
    r"\theta \leftarrow \theta - \eta\, \nabla L_B(\theta),\ "
    r"L_B = \frac{1}{2|B|}\sum_{i \in B} (m x_i + b - y_i)^2$"
)


class StochasticAdaptive(pn.viewable.Viewer):
    """The stochastic & adaptive lesson: batch vs mini-batch vs SGD, schedules, saddle race."""

    batch_size = param.Integer(default=8, bounds=(1, 64), doc="Mini-batch size")

    def __init__(self, **params):
        super().__init__(**params)
        self._intro = pn.pane.Markdown(INTRO, sizing_mode="stretch_width")
        self._formula = pn.pane.LaTeX(FORMULA, styles={"font-size": "1.1em"})
        self._layout = pn.Column(self._intro, self._formula, sizing_mode="stretch_width")

    def __panel__(self):
        return self._layout
