"""The classic optimization test functions, in their standard forms (BoTorch / Wikipedia)."""

from __future__ import annotations

import math

import numpy as np

from ._base import Landscape

TWO_PI = 2.0 * math.pi


class Rosenbrock(Landscape):
    """f(x, y) = (1 − x)² + 100(y − x²)²;  minimum 0 at (1, 1).

    ∇f = (−2(1 − x) − 400x(y − x²), 200(y − x²));
    ∇²f = [[2 − 400y + 1200x², −400x], [−400x, 200]].
    """

    id = "rosenbrock"
    title = "Rosenbrock"
    formula = r"(1 - x)^2 + 100\,(y - x^2)^2"
    description = (
        "A curved banana-shaped valley: finding the valley is easy, following its flat, bending "
        "floor to the minimum at (1, 1) takes plain gradient descent thousands of steps."
    )
    bounds = ((-2, 2), (-1, 3))
    minima = ((1.0, 1.0),)
    min_value = 0.0
    start = (-1.2, 1.0)
    lr = 0.001
    log_color = True

    def _loss(self, x, y):
        return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2

    def _grad(self, x, y):
        wall = y - x * x
        return -2.0 * (1.0 - x) - 400.0 * x * wall, 200.0 * wall

    def _hessian(self, x, y):
        return 2.0 - 400.0 * y + 1200.0 * x * x, -400.0 * x, 200.0


class Beale(Landscape):
    """f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²;  minimum 0 at (3, ½).

    With tᵢ = cᵢ − x + x·yⁱ:  ∂f/∂x = 2Σ tᵢ(yⁱ − 1),  ∂f/∂y = 2Σ tᵢ·i·x·yⁱ⁻¹.
    """

    id = "beale"
    title = "Beale"
    formula = r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"
    description = (
        "Flat plateaus next to walls that are steeper by five orders of magnitude: one learning "
        "rate cannot suit both, which is where per-coordinate adaptive steps shine."
    )
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    minima = ((3.0, 0.5),)
    min_value = 0.0
    start = (1.0, 1.5)
    lr = 0.001
    log_color = True

    def _loss(self, x, y):
        y2 = y * y
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y2) ** 2 + (2.625 - x + x * y2 * y) ** 2

    def _grad(self, x, y):
        y2 = y * y
        y3 = y2 * y
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
        dx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
        dy = 2.0 * x * (t1 + 2.0 * t2 * y + 3.0 * t3 * y2)
        return dx, dy

    def _hessian(self, x, y):
        y2 = y * y
        y3 = y2 * y
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
        a1, a2, a3 = y - 1.0, y2 - 1.0, y3 - 1.0  # ∂tᵢ/∂x
        b1, b2, b3 = x, 2.0 * x * y, 3.0 * x * y2  # ∂tᵢ/∂y
        dxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
        dxy = 2.0 * (a1 * b1 + a2 * b2 + a3 * b3 + t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
        dyy = 2.0 * (b1 * b1 + b2 * b2 + b3 * b3 + 2.0 * x * t2 + 6.0 * x * y * t3)
        return dxx, dxy, dyy


class Himmelblau(Landscape):
    """f(x, y) = (x² + y − 11)² + (x + y² − 7)²;  four minima of value 0.

    ∇f = (4x(x² + y − 11) + 2(x + y² − 7), 2(x² + y − 11) + 4y(x + y² − 7));
    ∇²f = [[12x² + 4y − 42, 4x + 4y], [4x + 4y, 4x + 12y² − 26]].
    """

    id = "himmelblau"
    title = "Himmelblau"
    formula = r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
    description = (
        "Four equally deep minima: where gradient descent ends depends only on where it starts, "
        "so the start point picks the answer."
    )
    bounds = ((-5, 5), (-5, 5))
    minima = (
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286169),
        (3.5844283403304917, -1.8481265269644034),
    )
    min_value = 0.0
    start = (-0.5, 0.5)
    lr = 0.01

    def _loss(self, x, y):
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def _grad(self, x, y):
        u = x * x + y - 11.0
        v = x + y * y - 7.0
        return 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v

    def _hessian(self, x, y):
        return 12.0 * x * x + 4.0 * y - 42.0, 4.0 * (x + y), 4.0 * x + 12.0 * y * y - 26.0


class SixHumpCamel(Landscape):
    """f(x, y) = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²;  two global minima −1.0316.

    ∇f = (8x − 8.4x³ + 2x⁵ + y, x − 8y + 16y³);
    ∇²f = [[8 − 25.2x² + 10x⁴, 1], [1, −8 + 48y²]].
    """

    id = "six-hump-camel"
    title = "Six-hump camel"
    formula = r"\left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + \left(-4 + 4y^2\right)y^2"
    description = (
        "Six local minima, two of them global and mirror images: a non-convex surface where "
        "gradient descent settles in whichever basin holds the start."
    )
    bounds = ((-3, 3), (-2, 2))
    minima = (
        (0.08984201310031807, -0.7126564030207396),
        (-0.08984201310031807, 0.7126564030207396),
    )
    min_value = -1.0316284534898774
    start = (-1.0, 1.2)
    lr = 0.01
    log_color = True

    def _loss(self, x, y):
        x2 = x * x
        y2 = y * y
        return (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2

    def _grad(self, x, y):
        x2 = x * x
        return 8.0 * x - 8.4 * x2 * x + 2.0 * x2 * x2 * x + y, x - 8.0 * y + 16.0 * y * y * y

    def _hessian(self, x, y):
        x2 = x * x
        return 8.0 - 25.2 * x2 + 10.0 * x2 * x2, 1.0, -8.0 + 48.0 * y * y


class Rastrigin(Landscape):
    """f(x, y) = 20 + Σᵢ (xᵢ² − 10cos(2πxᵢ));  minimum 0 at the origin (A = 10, n = 2).

    ∂f/∂xᵢ = 2xᵢ + 20π·sin(2πxᵢ);  ∂²f/∂xᵢ² = 2 + 40π²·cos(2πxᵢ), no cross term.
    """

    id = "rastrigin"
    title = "Rastrigin"
    formula = r"20 + \left(x^2 - 10\cos 2\pi x\right) + \left(y^2 - 10\cos 2\pi y\right)"
    description = (
        "A bowl covered in an egg-crate of about a hundred local minima: gradient descent stops "
        "in the nearest dimple, far from the global minimum at the origin."
    )
    bounds = ((-5.12, 5.12), (-5.12, 5.12))
    minima = ((0.0, 0.0),)
    min_value = 0.0
    start = (2.2, -3.1)
    lr = 0.002

    def _loss(self, x, y):
        return 20.0 + (x * x - 10.0 * np.cos(TWO_PI * x)) + (y * y - 10.0 * np.cos(TWO_PI * y))

    def _grad(self, x, y):
        dx = 2.0 * x + 20.0 * math.pi * np.sin(TWO_PI * x)
        dy = 2.0 * y + 20.0 * math.pi * np.sin(TWO_PI * y)
        return dx, dy

    def _hessian(self, x, y):
        curvature = 40.0 * math.pi**2
        return 2.0 + curvature * np.cos(TWO_PI * x), 0.0, 2.0 + curvature * np.cos(TWO_PI * y)


class Ackley(Landscape):
    """f(x, y) = −20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20.

    Minimum 0 at the origin, where the cone-shaped first term has no gradient (its one-sided
    slopes point every way); the gradient there is taken as 0. With r = √(½(x² + y²)):
    ∂f/∂x = 2·exp(−0.2r)·x/r + π·exp(½(cos 2πx + cos 2πy))·sin 2πx, and likewise for y.
    """

    id = "ackley"
    title = "Ackley"
    formula = (
        r"-20\exp\left(-0.2\sqrt{\tfrac{1}{2}(x^2 + y^2)}\right)"
        r" - \exp\left(\tfrac{1}{2}(\cos 2\pi x + \cos 2\pi y)\right) + e + 20"
    )
    description = (
        "A nearly flat, rippled plain with one deep funnel in the middle: far from the centre "
        "the ripples trap gradient descent, close to it the funnel pulls it in."
    )
    bounds = ((-5, 5), (-5, 5))
    minima = ((0.0, 0.0),)
    min_value = 0.0
    start = (1.8, -1.3)
    lr = 0.01
    smooth = False  # a cone point at the minimum: no gradient and no Hessian there
    hessian = None

    def _loss(self, x, y):
        r = np.sqrt(0.5 * (x * x + y * y))
        ripple = 0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y))
        return -20.0 * np.exp(-0.2 * r) - np.exp(ripple) + math.e + 20.0

    def _grad(self, x, y):
        r = np.sqrt(0.5 * (x * x + y * y))
        funnel = np.where(r > 0.0, 2.0 * np.exp(-0.2 * r) / np.where(r > 0.0, r, 1.0), 0.0)
        ripple = math.pi * np.exp(0.5 * (np.cos(TWO_PI * x) + np.cos(TWO_PI * y)))
        return funnel * x + ripple * np.sin(TWO_PI * x), funnel * y + ripple * np.sin(TWO_PI * y)


class StyblinskiTang(Landscape):
    """f(x, y) = ½ Σᵢ (xᵢ⁴ − 16xᵢ² + 5xᵢ);  minimum −78.332 at x = y = −2.903534.

    ∂f/∂xᵢ = 2xᵢ³ − 16xᵢ + 2.5;  ∂²f/∂xᵢ² = 6xᵢ² − 16, no cross term.
    """

    id = "styblinski-tang"
    title = "Styblinski–Tang"
    formula = r"\tfrac{1}{2}\left[(x^4 - 16x^2 + 5x) + (y^4 - 16y^2 + 5y)\right]"
    description = (
        "Four basins of different depths, one per corner: gradient descent reaches the bottom of "
        "its own basin, which is the deepest only when the start lies in it."
    )
    bounds = ((-5, 5), (-5, 5))
    minima = ((-2.903534027771177, -2.903534027771177),)
    min_value = -78.33233140754282
    start = (0.5, -0.5)
    lr = 0.01

    def _loss(self, x, y):
        x2 = x * x
        y2 = y * y
        return 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))

    def _grad(self, x, y):
        return 2.0 * x * x * x - 16.0 * x + 2.5, 2.0 * y * y * y - 16.0 * y + 2.5

    def _hessian(self, x, y):
        return 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0


class GoldsteinPrice(Landscape):
    """f(x, y) = [1 + (x + y + 1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]
               × [30 + (2x − 3y)²(18 − 32x + 12x² + 48y − 36xy + 27y²)];  minimum 3 at (0, −1).

    Written f = A·B with A = 1 + a²u, B = 30 + b²v (a = x + y + 1, b = 2x − 3y and u, v the
    quadratics): ∇f = B∇A + A∇B, ∇²f = B∇²A + ∇A∇Bᵀ + ∇B∇Aᵀ + A∇²B.
    """

    id = "goldstein-price"
    title = "Goldstein–Price"
    formula = (
        r"\left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
        r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
    )
    description = (
        "Values from 3 to about a million on a small square, with several local minima: the "
        "gradient is huge on the rim and tiny in the basins, so no single step size fits."
    )
    bounds = ((-2, 2), (-2, 2))
    minima = ((0.0, -1.0),)
    min_value = 3.0
    start = (1.0, -1.5)
    lr = 3e-5
    log_color = True

    @staticmethod
    def _factors(x, y):
        a = x + y + 1.0
        u = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
        b = 2.0 * x - 3.0 * y
        v = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
        return a, u, b, v

    def _loss(self, x, y):
        a, u, b, v = self._factors(x, y)
        return (1.0 + a * a * u) * (30.0 + b * b * v)

    def _grad(self, x, y):
        a, u, b, v = self._factors(x, y)
        big_a = 1.0 + a * a * u
        big_b = 30.0 + b * b * v
        u_x = -14.0 + 6.0 * x + 6.0 * y  # = ∂u/∂y as well
        a_x = 2.0 * a * u + a * a * u_x  # = ∂A/∂y as well
        b_x = 4.0 * b * v + b * b * (-32.0 + 24.0 * x - 36.0 * y)
        b_y = -6.0 * b * v + b * b * (48.0 - 36.0 * x + 54.0 * y)
        return big_b * a_x + big_a * b_x, big_b * a_x + big_a * b_y

    def _hessian(self, x, y):
        a, u, b, v = self._factors(x, y)
        big_a = 1.0 + a * a * u
        big_b = 30.0 + b * b * v
        u_x = -14.0 + 6.0 * x + 6.0 * y
        v_x = -32.0 + 24.0 * x - 36.0 * y
        v_y = 48.0 - 36.0 * x + 54.0 * y
        a_x = 2.0 * a * u + a * a * u_x
        a_xx = 2.0 * u + 4.0 * a * u_x + 6.0 * a * a  # = ∂²A/∂x∂y = ∂²A/∂y² too
        b_x = 4.0 * b * v + b * b * v_x
        b_y = -6.0 * b * v + b * b * v_y
        b_xx = 8.0 * v + 8.0 * b * v_x + 24.0 * b * b
        b_xy = -12.0 * v + 4.0 * b * v_y - 6.0 * b * v_x - 36.0 * b * b
        b_yy = 18.0 * v - 12.0 * b * v_y + 54.0 * b * b
        dxx = big_b * a_xx + 2.0 * a_x * b_x + big_a * b_xx
        dxy = big_b * a_xx + a_x * b_y + a_x * b_x + big_a * b_xy
        dyy = big_b * a_xx + 2.0 * a_x * b_y + big_a * b_yy
        return dxx, dxy, dyy
