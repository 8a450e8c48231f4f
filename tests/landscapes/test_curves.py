"""The 1-D curves' contract: exact derivatives, shapes, dtypes, declared attributes."""

import numpy as np
import pytest

import landscapes


@pytest.fixture(params=landscapes.curves())
def curve(request):
    return landscapes.curve(request.param)


def random_weights(curve, count, seed=0):
    return np.random.default_rng(seed).uniform(*curve.bounds, count)


def test_derivative_equals_central_difference(curve):
    w = random_weights(curve, 50)
    h = 1e-6
    numeric = (curve.loss(w + h) - curve.loss(w - h)) / (2 * h)
    np.testing.assert_allclose(curve.grad(w), numeric, rtol=1e-7, atol=1e-8)


def test_second_derivative_equals_central_difference_of_derivative(curve):
    w = random_weights(curve, 50, seed=1)
    h = 1e-6
    numeric = (curve.grad(w + h) - curve.grad(w - h)) / (2 * h)
    np.testing.assert_allclose(curve.hessian(w), numeric, rtol=1e-7, atol=1e-8)


def test_loss_at_the_minimum_is_min_value_and_the_slope_is_zero_there(curve):
    for w in curve.minima:
        assert curve.loss(w) == curve.min_value
        assert curve.grad(w) == 0.0
        assert curve.hessian(w) > 0.0


@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
def test_outputs_have_the_shape_of_the_input(curve, shape):
    w = random_weights(curve, int(np.prod(shape)), seed=2).reshape(shape)
    for f in (curve.loss, curve.grad, curve.hessian):
        assert np.shape(f(w)) == shape


def test_float32_stays_float32_and_python_numbers_become_float64(curve):
    w32 = np.array([0.5, 1.5], dtype=np.float32)
    for f in (curve.loss, curve.grad, curve.hessian):
        assert f(w32).dtype == np.float32
        assert np.asarray(f(1)).dtype == np.float64


def test_vectorized_call_equals_a_python_loop(curve):
    w = random_weights(curve, 9, seed=3)
    for f in (curve.loss, curve.grad, curve.hessian):
        np.testing.assert_array_equal(f(w), [f(v) for v in w])


def test_huge_weights_overflow_to_inf_without_warnings(curve):
    assert curve.loss(1e300) == np.inf
    assert curve.grad(-1e308 * 1.5) == -np.inf


def test_declared_attributes_are_consistent(curve):
    lo, hi = curve.bounds
    assert lo < curve.start < hi and curve.lr > 0
    assert all(lo < w < hi for w in curve.minima)
    assert not curve.minima.flags.writeable
    assert curve.title and curve.formula and curve.description.endswith(".")


def test_square_is_w_squared_with_slope_2w():
    square = landscapes.curve("square")
    w = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(square.loss(w), w**2)
    np.testing.assert_array_equal(square.grad(w), 2 * w)
    assert square.start == 1.0


def test_shifted_is_w_minus_3_squared_starting_at_0_with_lr_0_1():
    shifted = landscapes.curve("shifted")
    w = np.array([-1.0, 0.0, 3.0, 5.0])
    np.testing.assert_array_equal(shifted.loss(w), (w - 3) ** 2)
    np.testing.assert_array_equal(shifted.grad(w), 2 * (w - 3))
    assert (shifted.start, shifted.lr) == (0.0, 0.1)
