"""Saddle points: the plain saddle, the monkey saddle and a flat plateau saddle."""

from __future__ import annotations

from ._base import Landscape


class Saddle(Landscape):
    """f(x, y) = x² − y²;  ∇f = (2x, −2y);  ∇²f = diag(2, −2). No minimum: unbounded below."""

    id = "saddle"
    title = "Saddle"
    formula = r"x^2 - y^2"
    description = (
        "Downhill along y, uphill along x: the gradient vanishes at the centre although it is no "
        "minimum, and a start exactly on the x-axis slides into it and stops."
    )
    bounds = ((-3, 3), (-3, 3))
    start = (-2.5, 0.01)
    lr = 0.1

    def _loss(self, x, y):
        return x * x - y * y

    def _grad(self, x, y):
        return 2.0 * x, -2.0 * y

    def _hessian(self, x, y):
        return 2.0, 0.0, -2.0


class MonkeySaddle(Landscape):
    """f(x, y) = x³ − 3xy²;  ∇f = (3x² − 3y², −6xy);  ∇²f = [[6x, −6y], [−6y, −6x]].

    No minimum: three valleys (room for the monkey's tail) fall away from a flat centre.
    """

    id = "monkey-saddle"
    title = "Monkey saddle"
    formula = r"x^3 - 3xy^2"
    description = (
        "Three valleys fall away from a centre where the gradient and the curvature both vanish, "
        "so the second derivatives cannot tell which way is down."
    )
    bounds = ((-2, 2), (-2, 2))
    start = (1.5, 0.02)
    lr = 0.05

    def _loss(self, x, y):
        return x * x * x - 3.0 * x * y * y

    def _grad(self, x, y):
        return 3.0 * (x * x - y * y), -6.0 * x * y

    def _hessian(self, x, y):
        return 6.0 * x, -6.0 * y, -6.0 * x


class PlateauSaddle(Landscape):
    """f(x, y) = x² + y⁶/6 − y⁴/4;  minima −1/12 at (0, ±1), a flat saddle at the origin.

    ∇f = (2x, y⁵ − y³);  ∇²f = diag(2, 5y⁴ − 3y²). Near the saddle ∂f/∂y ≈ −y³: the curvature
    along y is zero there, so the gradient is tiny on a wide plateau around it.
    """

    id = "plateau-saddle"
    title = "Plateau saddle"
    formula = r"x^2 + \tfrac{1}{6}y^6 - \tfrac{1}{4}y^4"
    description = (
        "A saddle with a flat plateau around it: plain gradient descent slows to a crawl there "
        "because the gradient is tiny, while RMSprop and Adam rescale the tiny gradient and "
        "escape to a minimum within a few dozen steps."
    )
    bounds = ((-1.5, 1.5), (-1.5, 1.5))
    minima = ((0.0, 1.0), (0.0, -1.0))
    min_value = -1.0 / 12.0
    start = (1.0, 0.05)
    lr = 0.1

    def _loss(self, x, y):
        y2 = y * y
        return x * x + y2 * y2 * y2 / 6.0 - y2 * y2 / 4.0

    def _grad(self, x, y):
        y3 = y * y * y
        return 2.0 * x, y3 * y * y - y3

    def _hessian(self, x, y):
        y2 = y * y
        return 2.0, 0.0, 5.0 * y2 * y2 - 3.0 * y2
