"""The lessons' worked numbers, computed from the landscapes' own gradients (LESSONS.md)."""

import numpy as np
import pytest

import landscapes


def descend(gradient, start, learning_rate, steps):
    """Plain gradient descent w ← w − η·∇L(w); returns every iterate."""
    points = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        points.append(points[-1] - learning_rate * gradient(points[-1]))
    return np.array(points)


# 1. Derivative


@pytest.mark.parametrize("h, slope", [(0.1, 2.1), (0.01, 2.01), (0.001, 2.001)])
def test_square_secant_slopes_at_1_are_2_1_2_01_2_001(h, slope):
    square = landscapes.curve("square")
    assert (square.loss(1 + h) - square.loss(1.0)) / h == pytest.approx(slope, abs=1e-9)


def test_square_slope_is_2w_positive_right_negative_left_zero_at_the_bottom():
    square = landscapes.curve("square")
    np.testing.assert_array_equal(square.grad(np.array([1.0, -1.0, 0.0])), [2.0, -2.0, 0.0])


# 2. Gradient descent, one dimension


def test_shifted_descent_from_0_gives_0_6_1_08_1_464_1_7712_and_tends_to_3():
    shifted = landscapes.curve("shifted")
    iterates = descend(shifted.grad, 0.0, 0.1, 300)
    np.testing.assert_allclose(iterates[:5], [0.0, 0.6, 1.08, 1.464, 1.7712], rtol=0, atol=1e-14)
    assert iterates[-1] == pytest.approx(3.0, abs=1e-12)


def test_shifted_descent_with_lr_2_is_w_to_minus_3w_plus_12_and_flips_and_grows():
    shifted = landscapes.curve("shifted")
    iterates = descend(shifted.grad, 0.0, 2.0, 6)
    np.testing.assert_array_equal(iterates[1:], -3 * iterates[:-1] + 12)
    np.testing.assert_array_equal(iterates[:4], [0.0, 12.0, -24.0, 84.0])
    assert np.all(np.abs(np.diff(iterates - 3)) > 0) and abs(iterates[-1] - 3) > 2000


# 2. Gradient descent, two dimensions


def test_bowl_grad_at_4_3_is_8_18():
    np.testing.assert_array_equal(landscapes.get("bowl").grad([4.0, 3.0]), [8.0, 18.0])


def test_bowl_step_from_4_3_lands_on_3_2_1_2():
    bowl = landscapes.get("bowl")
    point = np.array([4.0, 3.0])
    point = point - 0.1 * bowl.grad(point)
    np.testing.assert_allclose(point, [3.2, 1.2], rtol=0, atol=1e-15)


def test_bowl_defaults_are_the_lessons_start_4_3_and_lr_0_1():
    bowl = landscapes.get("bowl")
    assert bowl.start == (4.0, 3.0)
    assert bowl.lr == 0.1
    assert bowl.loss(bowl.start) == 16.0 + 27.0


def test_bowl_y_moves_faster_because_its_slope_is_steeper():
    path = descend(landscapes.get("bowl").grad, (4.0, 3.0), 0.1, 1)
    assert abs(path[1, 1] - path[0, 1]) > abs(path[1, 0] - path[0, 0])


def test_bowl_critical_learning_rate_is_2_over_largest_curvature_one_third():
    curvatures = np.linalg.eigvalsh(landscapes.get("bowl").hessian([4.0, 3.0]))
    assert 2 / curvatures.max() == pytest.approx(1 / 3, rel=1e-15)


def test_bowl_lr_0_3_zig_zags_in_y_by_factor_minus_0_8_and_converges():
    path = descend(landscapes.get("bowl").grad, (4.0, 3.0), 0.3, 100)
    np.testing.assert_allclose(path[1:6, 1] / path[:5, 1], -0.8, rtol=1e-12)
    assert np.abs(path[-1]).max() < 1e-9


def test_bowl_lr_0_4_flips_y_by_factor_minus_1_4_and_flies_off():
    path = descend(landscapes.get("bowl").grad, (4.0, 3.0), 0.4, 40)
    np.testing.assert_allclose(path[1:6, 1] / path[:5, 1], -1.4, rtol=1e-12)
    assert abs(path[-1, 1]) > 1e5


def test_bowl_lr_0_05_crawls():
    slow = descend(landscapes.get("bowl").grad, (4.0, 3.0), 0.05, 10)[-1]
    fast = descend(landscapes.get("bowl").grad, (4.0, 3.0), 0.1, 10)[-1]
    assert np.linalg.norm(slow) > 2 * np.linalg.norm(fast)
