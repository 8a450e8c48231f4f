"""The servable entry: `panel serve app/main.py` and `downhill` serve this page.

Every browser session runs this script anew, so every session builds its own lessons,
widgets, figures and sources; nothing here is shared between students.
"""

import panel as pn

from app import theme
from app.lessons import Backpropagation, Derivative, GradientDescent, StochasticAdaptive

TITLE = "Downhill"
PURPOSE = "How models learn: follow the slope of the loss downhill, one step at a time."

HEADER_HTML = f"""
<div class="downhill-header">
  <span class="downhill-name">{TITLE}</span>
  <span class="downhill-purpose">{PURPOSE}</span>
</div>
"""

HEADER_CSS = f"""
.downhill-header {{ display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap;
  font-family: {theme.FONT}; }}
.downhill-name {{ font-size: 28px; font-weight: 700; color: {theme.ACCENT};
  letter-spacing: 0.5px; }}
.downhill-purpose {{ font-size: 17px; color: {theme.MUTED_TEXT}; }}
"""

TABS_CSS = """
.bk-tab { font-size: 16px; padding: 6px 16px; }
.bk-tab.bk-active { font-weight: 600; }
"""

LESSONS = (
    ("Derivative", Derivative),
    ("Gradient descent", GradientDescent),
    ("Backpropagation", Backpropagation),
    ("Stochastic & adaptive", StochasticAdaptive),
)


def build_lessons():
    """A fresh instance of every lesson, with its tab title, in teaching order."""
    return [(title, lesson()) for title, lesson in LESSONS]


def build_page(lessons=None):
    """The whole page for one session: a header and the four lessons in teaching order."""
    lessons = build_lessons() if lessons is None else lessons
    header = pn.pane.HTML(
        HEADER_HTML, stylesheets=[HEADER_CSS], sizing_mode="stretch_width",
        margin=(6, 16, 0, 16),
    )
    tabs = pn.Tabs(
        *lessons,
        stylesheets=[TABS_CSS],
        margin=(0, 10),
    )
    # No sizing_mode on the containers: Panel derives it from the lessons (the landscape
    # figure scales with the window's height), and an explicit one would only be overridden.
    return pn.Column(header, tabs)


build_page().servable(title=TITLE)
