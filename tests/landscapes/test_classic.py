"""The classic test functions are the standard forms: spot values, known minima, behaviour."""

import math

import numpy as np
import pytest

import landscapes


def descend(landscape, start, steps, learning_rate=None):
    p = np.asarray(start, dtype=float)
    for _ in range(steps):
        p = p - (learning_rate or landscape.lr) * landscape.grad(p)
    return p


# Values worked out by hand from the standard formulas (Wikipedia / BoTorch tables).
SPOT_VALUES = [
    ("rosenbrock", (0.0, 0.0), 1.0),
    ("rosenbrock", (-1.0, 2.0), 4.0 + 100.0),
    ("beale", (0.0, 0.0), 1.5**2 + 2.25**2 + 2.625**2),
    ("beale", (1.0, 1.0), 1.5**2 + 2.25**2 + 2.625**2),
    ("beale", (2.0, -1.0), (1.5 - 4) ** 2 + (2.25) ** 2 + (2.625 - 4) ** 2),
    ("himmelblau", (0.0, 0.0), 121.0 + 49.0),
    ("himmelblau", (1.0, -2.0), 144.0 + 4.0),
    ("booth", (0.0, 0.0), 49.0 + 25.0),
    ("six-hump-camel", (1.0, 1.0), (4 - 2.1 + 1 / 3) + 1 + 0),
    ("six-hump-camel", (-1.0, 0.5), (4 - 2.1 + 1 / 3) - 0.5 + (-4 + 1) * 0.25),
    ("rastrigin", (0.5, 0.5), 20 + 2 * (0.25 + 10)),
    ("rastrigin", (1.0, 0.0), 20 + (1 - 10) + (0 - 10)),
    ("ackley", (1.0, 1.0), 20 * (1 - math.exp(-0.2))),
    ("ackley", (0.5, 0.0), -20 * math.exp(-0.2 * math.sqrt(0.125)) - 1 + math.e + 20),
    ("styblinski-tang", (1.0, 1.0), -10.0),
    ("styblinski-tang", (2.0, 0.0), 0.5 * (16 - 64 + 10)),
    ("goldstein-price", (0.0, 0.0), (1 + 19) * 30),
    ("goldstein-price", (1.0, 1.0), (1 + 9 * 3) * (30 + 1 * 37)),
    ("saddle", (2.0, 3.0), -5.0),
    ("monkey-saddle", (2.0, 1.0), 8.0 - 6.0),
    ("plateau-saddle", (1.0, 2.0), 1.0 + 64 / 6 - 4),
    ("valley", (2.0, 0.5), 0.5 * (4 + 25)),
    ("round-bowl", (3.0, 4.0), 25.0),
]


@pytest.mark.parametrize("name, point, value", SPOT_VALUES)
def test_loss_is_the_standard_formula_at_a_hand_computed_point(name, point, value):
    assert landscapes.get(name).loss(point) == pytest.approx(value, rel=1e-14, abs=1e-14)


# Known global minima from the standard tables (to the digits the tables give).
KNOWN_MINIMA = [
    ("rosenbrock", [(1, 1)], 0.0),
    ("beale", [(3, 0.5)], 0.0),
    ("booth", [(1, 3)], 0.0),
    ("six-hump-camel", [(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316),
    ("rastrigin", [(0, 0)], 0.0),
    ("ackley", [(0, 0)], 0.0),
    ("styblinski-tang", [(-2.903534, -2.903534)], -39.16599 * 2),
    ("goldstein-price", [(0, -1)], 3.0),
]


@pytest.mark.parametrize("name, minima, value", KNOWN_MINIMA)
def test_minima_match_the_published_tables(name, minima, value):
    landscape = landscapes.get(name)
    np.testing.assert_allclose(landscape.minima, minima, atol=1e-4)
    assert landscape.min_value == pytest.approx(value, abs=1e-3)


def test_himmelblau_has_four_distinct_minima_of_value_0():
    himmelblau = landscapes.get("himmelblau")
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    np.testing.assert_allclose(himmelblau.minima, published, atol=1e-6)
    np.testing.assert_allclose(himmelblau.loss(himmelblau.minima), 0.0, atol=1e-28)
    np.testing.assert_allclose(himmelblau.grad(himmelblau.minima), 0.0, atol=1e-13)
    distances = np.linalg.norm(himmelblau.minima[:, None] - himmelblau.minima[None], axis=-1)
    assert distances[~np.eye(4, dtype=bool)].min() > 3


def test_himmelblau_descent_ends_in_the_minimum_of_the_starts_quadrant():
    himmelblau = landscapes.get("himmelblau")
    for minimum in himmelblau.minima:
        start = np.sign(minimum) * 4.5
        np.testing.assert_allclose(descend(himmelblau, start, 2000), minimum, atol=1e-8)


def test_rastrigin_descent_stops_in_a_local_dimple_not_the_global_minimum():
    rastrigin = landscapes.get("rastrigin")
    end = descend(rastrigin, rastrigin.start, 2000)
    np.testing.assert_allclose(rastrigin.grad(end), 0.0, atol=1e-8)
    assert rastrigin.loss(end) > 5 and np.linalg.norm(end) > 2


def test_ackley_gradient_at_its_cone_point_is_taken_as_zero_without_warnings():
    ackley = landscapes.get("ackley")
    np.testing.assert_array_equal(ackley.grad([0.0, 0.0]), [0.0, 0.0])
    assert ackley.loss([0.0, 0.0]) == pytest.approx(0.0, abs=1e-14)
    # just off the cone point the funnel's slope has magnitude about 2·√2 along each axis
    assert ackley.grad([1e-12, 0.0])[0] == pytest.approx(2 * math.sqrt(2), rel=1e-9)


def test_rosenbrock_default_descent_reaches_the_curved_valley_and_creeps_along_it():
    rosenbrock = landscapes.get("rosenbrock")
    early = descend(rosenbrock, rosenbrock.start, 100)
    late = descend(rosenbrock, rosenbrock.start, 3000)
    assert abs(early[1] - early[0] ** 2) < 0.05  # on the valley floor y ≈ x²
    assert np.linalg.norm(early - 1) > 1.5 > 0.4 > np.linalg.norm(late - 1)


def test_valley_is_ill_conditioned_with_condition_number_100():
    curvatures = np.linalg.eigvalsh(landscapes.get("valley").hessian([0.3, -0.2]))
    assert curvatures.max() / curvatures.min() == pytest.approx(100.0)


def test_styblinski_tang_default_descent_ends_in_a_local_not_the_global_minimum():
    tang = landscapes.get("styblinski-tang")
    end = descend(tang, tang.start, 500)
    np.testing.assert_allclose(tang.grad(end), 0.0, atol=1e-9)
    assert tang.loss(end) > tang.min_value + 10


def test_goldstein_price_default_descent_reaches_the_global_minimum_3():
    gp = landscapes.get("goldstein-price")
    end = descend(gp, gp.start, 3000)
    np.testing.assert_allclose(end, [0.0, -1.0], atol=1e-6)
    assert gp.loss(end) == pytest.approx(3.0, abs=1e-9)
