"""The servable entry: `panel serve app/main.py` (placeholder until the lessons land)."""

import panel as pn


def build_page():
    return pn.Column(
        pn.pane.Markdown(
            "# Downhill\nA playground that teaches how models learn. "
            "The four lessons (derivative, gradient descent, backpropagation, "
            "stochastic & adaptive) are coming."
        )
    )


build_page().servable(title="Downhill")
