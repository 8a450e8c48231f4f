"""A typed expression in x and y as a landscape whose gradient comes from the backward pass."""

import threading
import warnings

import numpy as np
import pytest

import circuits
from circuits import ExpressionError


def test_bowl_expression_has_the_analytic_gradient_2x_6y_everywhere():
    L = circuits.to_landscape("x**2 + 3*y**2")
    p = np.random.default_rng(1).uniform(-5, 5, size=(7, 5, 2))
    np.testing.assert_allclose(L.loss(p), p[..., 0] ** 2 + 3 * p[..., 1] ** 2, rtol=1e-15)
    expected = np.stack([2 * p[..., 0], 6 * p[..., 1]], axis=-1)
    np.testing.assert_allclose(L.grad(p), expected, rtol=1e-15)
    assert L.grad(p).shape == (7, 5, 2) and L.loss(p).shape == (7, 5)


def test_bowl_first_step_from_4_3_with_lr_0_1_lands_on_3_2_1_2():
    L = circuits.to_landscape("x**2 + 3*y**2")
    start = np.array(L.start)
    np.testing.assert_allclose(start - L.lr * L.grad(start), [3.2, 1.2], rtol=1e-15)
    assert L.loss(np.array([4.0, 3.0])) == 43


def test_landscape_contract_attributes():
    L = circuits.to_landscape("x**2 + 3*y**2")
    assert L.id == "custom"
    assert L.bounds == ((-5.0, 5.0), (-5.0, 5.0))
    assert L.start == (4.0, 3.0) and L.lr == 0.1
    assert L.minima.shape == (0, 2) and not L.minima.flags.writeable
    assert L.min_value is None and L.hessian is None
    assert L.smooth is False and L.log_color is False
    assert L.formula == "x^{2} + 3 y^{2}"
    assert L.title == "f(x, y) = x**2 + 3 * y**2"
    assert "backward pass" in L.description
    assert L.variables == ("x", "y")


def test_bounds_start_lr_and_title_are_parameters():
    L = circuits.to_landscape("abs(x) + abs(y)", bounds=((-2, 2), (0, 10)), start=(1, 9),
                              lr=0.05, title="Diamond")
    assert L.bounds == ((-2.0, 2.0), (0.0, 10.0))
    assert L.start == (1.0, 9.0) and L.lr == 0.05 and L.title == "Diamond"
    assert circuits.to_landscape("x", bounds=((0, 10), (0, 5))).start == (9.0, 4.0)


@pytest.mark.parametrize("bounds", [((1, 0), (0, 1)), ((0, np.inf), (0, 1)), (0, 1), "ab"])
def test_bad_bounds_raise_value_error(bounds):
    with pytest.raises(ValueError, match="bounds"):
        circuits.to_landscape("x", bounds=bounds)


def test_expressions_in_one_or_no_variable_still_give_points_shaped_results():
    p = np.array([[1.0, 2.0], [3.0, -4.0], [0.5, 0.5]])
    only_y = circuits.to_landscape("y**3")
    np.testing.assert_array_equal(only_y.grad(p), [[0, 12], [0, 48], [0, 0.75]])
    constant = circuits.to_landscape("7")
    np.testing.assert_array_equal(constant.loss(p), [7, 7, 7])
    np.testing.assert_array_equal(constant.grad(p), np.zeros((3, 2)))


def test_a_single_point_gives_a_scalar_loss_and_a_length_2_gradient():
    L = circuits.to_landscape("x*y")
    assert np.ndim(L.loss([2.0, 3.0])) == 0 and L.loss([2.0, 3.0]) == 6
    np.testing.assert_array_equal(L.grad([2.0, 3.0]), [3.0, 2.0])


def test_float32_points_give_float32_results():
    L = circuits.to_landscape("x*y")
    p = np.array([[2.0, 3.0]], dtype=np.float32)
    assert L.loss(p).dtype == np.float32 and L.grad(p).dtype == np.float32


def test_kinked_expression_uses_the_documented_tie_rule():
    L = circuits.to_landscape("max(x, y)")
    np.testing.assert_array_equal(L.grad(np.array([[1.0, 1.0], [0.0, 2.0]])),
                                  [[1.0, 0.0], [0.0, 1.0]])


def test_variables_other_than_x_and_y_are_rejected_with_their_column():
    with pytest.raises(ExpressionError, match="x and y only; z is neither") as caught:
        circuits.to_landscape("x + z")
    assert caught.value.column == 5


def test_bad_expression_and_points_are_rejected():
    with pytest.raises(ExpressionError):
        circuits.to_landscape("__import__('os')")
    with pytest.raises(ValueError, match="shape"):
        circuits.to_landscape("x").loss(np.zeros((3, 3)))


def test_far_away_points_give_inf_without_warnings():
    L = circuits.to_landscape("exp(x) + y**10")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L.loss([1000.0, 0.0]) == np.inf
        assert np.all(np.isinf(L.grad([1e300, 1e300])))


def test_concurrent_callers_each_get_their_own_answer():
    L = circuits.to_landscape("x**2 + 3*y**2")
    rng = np.random.default_rng(2)
    points = [rng.uniform(-5, 5, size=(50, 2)) for _ in range(8)]
    failures = []

    def check(p):
        for _ in range(50):
            g = L.grad(p)
            if not np.array_equal(g, np.stack([2 * p[:, 0], 6 * p[:, 1]], axis=-1)):
                failures.append(p)

    threads = [threading.Thread(target=check, args=(p,)) for p in points]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
