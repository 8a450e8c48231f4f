"""Quadratic bowls: the lesson's default x² + 3y², a round bowl, a narrow valley, Booth."""

from __future__ import annotations

from typing import ClassVar

from ._base import Landscape


class AxisAlignedBowl(Landscape):
    """f(x, y) = ½(a·x² + b·y²);  ∇f = (a·x, b·y);  ∇²f = diag(a, b).

    The quadratic bowls whose axes are the coordinate axes, declared by their ``curvatures``
    (a, b): the Hessian's eigenvalues, so plain gradient descent converges for η < 2/max(a, b).
    """

    curvatures: ClassVar[tuple[float, float]]

    def _loss(self, x, y):
        a, b = self.curvatures
        # ½a and ½b, not ½(a·x² + b·y²): the same numbers to the last bit (halving is exact)
        # without overflowing where a·x² alone would.
        return (0.5 * a) * x * x + (0.5 * b) * y * y

    def _grad(self, x, y):
        a, b = self.curvatures
        return a * x, b * y

    def _hessian(self, x, y):
        a, b = self.curvatures
        return a, 0.0, b


class Bowl(AxisAlignedBowl):
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
    curvatures = (2.0, 6.0)


class RoundBowl(AxisAlignedBowl):
    """f(x, y) = x² + y²;  ∇f = (2x, 2y);  ∇²f = diag(2, 2)."""

    id = "round-bowl"
    title = "Round bowl"
    formula = r"x^2 + y^2"
    description = (
        "A perfectly round bowl: the gradient points straight away from the bottom, so gradient "
        "descent walks a straight line to the minimum."
    )
    bounds = ((-5, 5), (-5, 5))
    minima = ((0.0, 0.0),)
    min_value = 0.0
    start = (4.0, 3.0)
    lr = 0.1
    curvatures = (2.0, 2.0)


class Valley(AxisAlignedBowl):
    """f(x, y) = ½(x² + 100y²);  ∇f = (x, 100y);  ∇²f = diag(1, 100), condition number 100."""

    id = "valley"
    title = "Narrow valley"
    formula = r"\tfrac{1}{2}\left(x^2 + 100\,y^2\right)"
    description = (
        "An ill-conditioned valley (curvatures 1 and 100): a learning rate small enough not to "
        "zig-zag out across the steep walls crawls along the flat floor; momentum helps."
    )
    bounds = ((-10, 10), (-4, 4))
    minima = ((0.0, 0.0),)
    min_value = 0.0
    start = (-9.0, 2.0)
    lr = 0.018
    curvatures = (1.0, 100.0)


class Booth(Landscape):
    """f(x, y) = (x + 2y − 7)² + (2x + y − 5)²;  minimum 0 at (1, 3).

    ∇f = (2(x + 2y − 7) + 4(2x + y − 5), 4(x + 2y − 7) + 2(2x + y − 5));
    ∇²f = [[10, 8], [8, 10]] (curvatures 2 and 18 along the diagonals).
    """

    id = "booth"
    title = "Booth"
    formula = r"(x + 2y - 7)^2 + (2x + y - 5)^2"
    description = (
        "A tilted quadratic bowl: its axes run along the diagonals, so gradient descent first "
        "drops into the steep direction and then slides along the shallow one."
    )
    bounds = ((-10, 10), (-10, 10))
    minima = ((1.0, 3.0),)
    min_value = 0.0
    start = (-7.0, -8.0)
    lr = 0.05
    log_color = True

    def _loss(self, x, y):
        return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2

    def _grad(self, x, y):
        u = x + 2.0 * y - 7.0
        v = 2.0 * x + y - 5.0
        return 2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v

    def _hessian(self, x, y):
        return 10.0, 8.0, 10.0
