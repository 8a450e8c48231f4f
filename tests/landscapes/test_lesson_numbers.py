"""The lessons' worked numbers, computed from the landscapes' own gradients (LESSONS.md)."""

import numpy as np
import pytest

import landscapes


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


def test_shifted_descent_from_0_gives_0_6_1_08_1_464_1_7712_and_tends_to_3():
    shifted = landscapes.curve("shifted")
    w, iterates = 0.0, [0.0]
    for _ in range(4):
        w = w - 0.1 * shifted.grad(w)
        iterates.append(float(w))
    np.testing.assert_allclose(iterates, [0.0, 0.6, 1.08, 1.464, 1.7712], rtol=0, atol=1e-14)
    for _ in range(200):
        w = w - 0.1 * shifted.grad(w)
    assert w == pytest.approx(3.0, abs=1e-12)
