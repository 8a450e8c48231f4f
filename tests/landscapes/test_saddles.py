"""Saddles: gradient descent stops on them, and the plateau saddle stalls plain SGD while the
adaptive methods escape. The update rules are written out here as plain numpy loops (the
optimizers package is tested on its own), with torch.optim's default hyperparameters."""

import numpy as np
import pytest

import landscapes


def sgd(landscape, start, lr, steps):
    """w ← w − η·g"""
    w = np.array(start, dtype=float)
    path = [w]
    for _ in range(steps):
        w = w - lr * landscape.grad(w)
        path.append(w)
    return np.array(path)


def rmsprop(landscape, start, lr, steps, alpha=0.99, eps=1e-8):
    """v ← αv + (1−α)g²;  w ← w − η·g/(√v + ε)   (torch.optim.RMSprop)"""
    w, v = np.array(start, dtype=float), np.zeros(2)
    path = [w]
    for _ in range(steps):
        g = landscape.grad(w)
        v = alpha * v + (1 - alpha) * g * g
        w = w - lr * g / (np.sqrt(v) + eps)
        path.append(w)
    return np.array(path)


def adam(landscape, start, lr, steps, betas=(0.9, 0.999), eps=1e-8):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η·m̂/(√v̂ + ε)   (torch.optim.Adam)"""
    w, m, v = np.array(start, dtype=float), np.zeros(2), np.zeros(2)
    path = [w]
    for t in range(1, steps + 1):
        g = landscape.grad(w)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        w = w - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
        path.append(w)
    return np.array(path)


@pytest.fixture
def plateau():
    return landscapes.get("plateau-saddle")


def test_plateau_saddle_is_flat_at_the_origin_with_zero_curvature_along_y(plateau):
    np.testing.assert_array_equal(plateau.grad([0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(plateau.hessian([0.0, 0.0]), [[2.0, 0.0], [0.0, 0.0]])
    assert plateau.loss([0.0, 0.0]) == 0.0 > plateau.min_value
    assert abs(plateau.grad(plateau.start)[1]) < 2e-4  # the slope toward the minima is tiny


def test_plateau_saddle_is_bounded_below_by_its_two_minima(plateau):
    np.testing.assert_array_equal(plateau.minima, [[0.0, 1.0], [0.0, -1.0]])
    assert plateau.min_value == pytest.approx(-1 / 12, rel=1e-15)
    far = np.array([[0.0, 5.0], [0.0, -40.0], [3.0, 1.0]])
    assert np.all(plateau.loss(far) > plateau.min_value)


def test_plateau_saddle_plain_sgd_stalls_on_the_plateau_for_hundreds_of_steps(plateau):
    path = sgd(plateau, plateau.start, plateau.lr, 500)
    assert abs(path[-1, 0]) < 1e-20  # x has long converged ...
    assert np.abs(path[:, 1]).max() < 0.06  # ... but y has crept from 0.05 to under 0.06
    assert plateau.loss(path[-1]) > -1e-5  # still at the saddle's level, not near −1/12


@pytest.mark.parametrize("rule, lr", [(adam, 0.1), (rmsprop, 0.01)], ids=["adam", "rmsprop"])
def test_plateau_saddle_adaptive_methods_escape_to_a_minimum_within_100_steps(plateau, rule, lr):
    path = rule(plateau, plateau.start, lr, 100)
    np.testing.assert_allclose(path[-1], plateau.minima[0], atol=0.03)
    assert plateau.loss(path[-1]) < plateau.min_value + 1e-3
    # they escape because they divide the tiny slope by its own running size
    assert abs(path[1, 1] - path[0, 1]) > 100 * abs(plateau.lr * plateau.grad(plateau.start)[1])


def test_saddle_descent_from_the_x_axis_stops_at_the_saddle_which_is_no_minimum():
    saddle = landscapes.get("saddle")
    path = sgd(saddle, (-2.5, 0.0), saddle.lr, 200)
    np.testing.assert_allclose(path[-1], [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(saddle.grad(path[-1]), [0.0, 0.0], atol=1e-15)
    assert np.linalg.eigvalsh(saddle.hessian(path[-1])).min() < 0  # a way down exists
    assert len(saddle.minima) == 0 and saddle.min_value is None


def test_saddle_descent_from_just_off_the_axis_escapes_downhill():
    saddle = landscapes.get("saddle")
    path = sgd(saddle, saddle.start, saddle.lr, 30)
    assert abs(path[-1, 1]) > 1.0 and saddle.loss(path[-1]) < -1.0
    np.testing.assert_allclose(path[1:, 1] / path[:-1, 1], 1.2)  # y grows by 1 + 2η a step


def test_monkey_saddle_centre_has_zero_gradient_and_zero_curvature():
    monkey = landscapes.get("monkey-saddle")
    np.testing.assert_array_equal(monkey.grad([0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(monkey.hessian([0.0, 0.0]), np.zeros((2, 2)))
    # three valleys: along the directions at 60°, 180° and 300° the loss falls away
    angles = np.deg2rad([60.0, 180.0, 300.0])
    valleys = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    np.testing.assert_allclose(monkey.loss(valleys), -1.0)
