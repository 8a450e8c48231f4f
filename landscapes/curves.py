"""1-D loss curves for the derivative lesson: L(w) = w² and L(w) = (w − 3)²."""

from __future__ import annotations

from typing import ClassVar

from ._base import Curve


class Parabola(Curve):
    """L(w) = (w − c)²;  L'(w) = 2(w − c);  L''(w) = 2: the unit parabola with its bottom at
    w = ``centre`` (c)."""

    centre: ClassVar[float]

    def _loss(self, w):
        return (w - self.centre) ** 2

    def _grad(self, w):
        return 2.0 * (w - self.centre)

    def _hessian(self, w):
        return 2.0


class Square(Parabola):
    """L(w) = w²;  L'(w) = 2w;  L''(w) = 2."""

    id = "square"
    title = "Square"
    formula = r"w^2"
    description = (
        "The simplest loss: its slope 2w is positive right of the bottom and negative left of it, "
        "so stepping against the slope always heads for w = 0."
    )
    bounds = (-3.0, 3.0)
    minima = (0.0,)
    min_value = 0.0
    start = 1.0
    lr = 0.1
    centre = 0.0


class Shifted(Parabola):
    """L(w) = (w − 3)²;  L'(w) = 2(w − 3);  L''(w) = 2."""

    id = "shifted"
    title = "Shifted square"
    formula = r"(w - 3)^2"
    description = (
        "Gradient descent from w = 0 with η = 0.1 is w ← 0.8w + 0.6: it creeps to the fixed "
        "point 3, while η = 2 gives w ← −3w + 12, which flips sides and grows."
    )
    bounds = (-2.0, 8.0)
    minima = (3.0,)
    min_value = 0.0
    start = 0.0
    lr = 0.1
    centre = 3.0
