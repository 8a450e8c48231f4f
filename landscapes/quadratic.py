"""Quadratic bowls: the lesson's default x² + 3y², a round bowl, a narrow valley, Booth."""

from __future__ import annotations

from ._base import Landscape


class Bowl(Landscape):
    """f(x, y) = x² + 3y²;  ∇f = (2x, 6y);  ∇²f = diag(2, 6)."""

    id = "bowl"
    title = "Bowl"
    formula = r"x^2 + 3y^2"
    description = (
        "An oval bowl: the slope is three times steeper along y, so y moves faster, and a "
        "learning rate above 2/6 = 1/3 makes y zig-zag ever wider and fly off."
    )
    bounds = ((-5, 5), (-5, 5))
    minima = ((0.0, 0.0),)
    min_value = 0.0
    start = (4.0, 3.0)
    lr = 0.1

    def _loss(self, x, y):
        return x * x + 3.0 * y * y

    def _grad(self, x, y):
        return 2.0 * x, 6.0 * y

    def _hessian(self, x, y):
        return 2.0, 0.0, 6.0
