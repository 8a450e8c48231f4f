"""The four lessons, registered in teaching order, and importable for notebooks:

    from app.lessons import GradientDescent
    GradientDescent(landscape="rosenbrock")

`LESSONS` (key → `Lesson(title, cls)`) is the one list of lessons: the page's tabs
(app/main.py), the lecture tools (app/lecture.py) and the link's `tab=` (app/url_state.py)
read it. A new lesson is its file (a Viewer with the interface of app/lesson_api.py) and one
line here.
"""

from typing import NamedTuple

from app.backprop import Backpropagation
from app.derivative import Derivative
from app.descent import GradientDescent
from app.stochastic import StochasticAdaptive


class Lesson(NamedTuple):
    title: str  # the tab's title
    cls: type


LESSONS = {cls.key: Lesson(title, cls) for title, cls in (
    ("Derivative", Derivative),
    ("Gradient descent", GradientDescent),
    ("Backpropagation", Backpropagation),
    ("Stochastic & adaptive", StochasticAdaptive),
)}

__all__ = ["LESSONS", "Lesson", "Derivative", "GradientDescent", "Backpropagation",
           "StochasticAdaptive"]
