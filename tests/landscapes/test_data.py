"""Line fit and logistic regression: matrix forms, mini-batches, data, the exact minimum."""

import warnings

import numpy as np
import pytest

import landscapes


@pytest.fixture
def line():
    return landscapes.get("line-fit")


@pytest.fixture
def logistic():
    return landscapes.get("logistic")


def weights(count, seed, low=-3.0, high=5.0):
    return np.random.default_rng(seed).uniform(low, high, (count, 2))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("name", ["line-fit", "logistic"])
def test_minibatch_gradient_and_hessian_equal_central_differences(name):
    landscape = landscapes.get(name)
    batch = np.array([4, 8, 15, 16, 23, 42])
    h = 1e-6
    for w in weights(5, seed=20, low=-2.0, high=4.0):
        steps = h * np.eye(2)
        loss = [landscape.loss(w + s, batch) - landscape.loss(w - s, batch) for s in steps]
        grad = [landscape.grad(w + s, batch) - landscape.grad(w - s, batch) for s in steps]
        np.testing.assert_allclose(landscape.grad(w, batch), np.array(loss) / (2 * h), atol=1e-8)
        np.testing.assert_allclose(
            landscape.hessian(w, batch), np.array(grad).T / (2 * h), atol=1e-8
        )


# line fit


def design(x):
    return np.stack([x, np.ones_like(x)], axis=1)  # X = [x, 1]


def test_line_fit_data_are_50_seeded_points_around_y_2x_plus_1(line):
    x, y = line.data
    assert x.shape == y.shape == (50,)
    assert not x.flags.writeable and not y.flags.writeable
    fresh = type(line)()
    np.testing.assert_array_equal(fresh.data[0], x)
    np.testing.assert_array_equal(fresh.data[1], y)
    assert -1 <= x.min() and x.max() <= 3
    np.testing.assert_allclose(line.minima[0], [2.0, 1.0], atol=0.1)


def test_line_fit_loss_is_the_mean_squared_error_halved(line):
    x, y = line.data
    w = weights(20, seed=1)
    residuals = w @ design(x).T - y
    np.testing.assert_allclose(
        line.loss(w), np.sum(residuals**2, axis=-1) / (2 * len(x)), rtol=1e-13
    )


def test_line_fit_gradient_equals_the_matrix_form_one_over_n_xt_xw_minus_y(line):
    x, y = line.data
    X = design(x)
    for w in weights(20, seed=2):
        np.testing.assert_allclose(line.grad(w), X.T @ (X @ w - y) / len(x), rtol=1e-12, atol=1e-14)


def test_line_fit_gradient_is_the_sum_form_divided_by_n(line):
    """The lesson's ½Σ form has ∂L/∂m = Σ rᵢxᵢ, ∂L/∂b = Σ rᵢ; the playground divides by n."""
    x, y = line.data
    m, b = 0.5, -1.0
    r = m * x + b - y
    np.testing.assert_allclose(line.grad([m, b]) * len(x), [np.sum(r * x), np.sum(r)], rtol=1e-12)


def test_line_fit_hessian_is_xtx_over_n_everywhere(line):
    X = design(line.data[0])
    np.testing.assert_allclose(line.hessian(weights(3, seed=3)), [X.T @ X / 50] * 3, rtol=1e-14)


def test_line_fit_minimum_is_the_least_squares_solution(line):
    x, y = line.data
    X = design(x)
    normal_equations = np.linalg.solve(X.T @ X, X.T @ y)
    np.testing.assert_allclose(line.minima[0], normal_equations, rtol=1e-13)
    residual = X @ normal_equations - y
    assert line.min_value == pytest.approx(residual @ residual / (2 * len(x)), rel=1e-13)


def test_line_fit_minibatch_loss_and_gradient_are_the_formulas_on_that_subset(line):
    x, y = line.data
    batch = np.array([3, 17, 17, 42, 0])  # an index array; repeats count twice
    Xb, yb = design(x[batch]), y[batch]
    for w in weights(10, seed=4):
        r = Xb @ w - yb
        assert line.loss(w, batch=batch) == pytest.approx(r @ r / (2 * len(batch)), rel=1e-13)
        np.testing.assert_allclose(line.grad(w, batch=batch), Xb.T @ r / len(batch), rtol=1e-12)
        np.testing.assert_allclose(line.hessian(w, batch=batch), Xb.T @ Xb / len(batch))


def test_line_fit_batch_of_every_index_equals_the_full_data(line):
    w = weights(10, seed=5)
    everything = np.arange(50)
    np.testing.assert_allclose(line.loss(w, batch=everything), line.loss(w), rtol=1e-13)
    np.testing.assert_allclose(line.grad(w, batch=everything), line.grad(w), atol=1e-13)


def test_line_fit_one_minibatch_per_run_equals_each_run_alone(line):
    runs = weights(4, seed=6)
    batches = np.random.default_rng(7).integers(0, 50, (4, 8))
    np.testing.assert_allclose(
        line.loss(runs, batch=batches),
        [line.loss(w, b) for w, b in zip(runs, batches, strict=True)],
    )
    np.testing.assert_allclose(
        line.grad(runs, batch=batches),
        [line.grad(w, b) for w, b in zip(runs, batches, strict=True)],
    )


def test_line_fit_minibatch_keeps_float32(line):
    w = np.array([[1.0, 2.0]], dtype=np.float32)
    assert line.loss(w, batch=[1, 2]).dtype == np.float32
    assert line.grad(w, batch=[1, 2]).dtype == np.float32


def test_an_empty_or_non_integer_batch_is_refused(line, logistic):
    for landscape in (line, logistic):
        with pytest.raises(ValueError, match="at least|k ≥ 1"):
            landscape.loss([1.0, 1.0], batch=np.array([], dtype=int))
        with pytest.raises(ValueError, match="integer index"):
            landscape.grad([1.0, 1.0], batch=np.array([0.5, 1.5]))


def test_line_fit_default_descent_converges_visibly_on_a_round_enough_ellipse(line):
    curvatures = np.linalg.eigvalsh(line.hessian(line.start))
    assert curvatures.max() / curvatures.min() < 10  # an ellipse, not a ravine
    assert line.lr < 2 / curvatures.max()  # stable
    p, distances = np.array(line.start), []
    for _ in range(100):
        p = p - line.lr * line.grad(p)
        distances.append(np.linalg.norm(p - line.minima[0]))
    assert distances[9] > 0.3 and distances[-1] < 1e-3  # visible in ten steps, done in a hundred


# logistic regression


def test_logistic_data_are_50_seeded_overlapping_points_with_0_1_labels(logistic):
    x, y = logistic.data
    assert x.shape == (50, 2) and y.shape == (50,)
    assert set(np.unique(y)) == {0.0, 1.0}
    fresh = type(logistic)()
    np.testing.assert_array_equal(fresh.data[0], x)
    # not separable through the origin: at the minimum some points sit on the wrong side
    margins = (x @ logistic.minima[0]) * (2 * y - 1)
    assert (margins < 0).sum() >= 3


def test_logistic_loss_is_the_mean_cross_entropy(logistic):
    x, y = logistic.data
    for w in weights(10, seed=8):
        s = sigmoid(x @ w)
        cross_entropy = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
        assert logistic.loss(w) == pytest.approx(cross_entropy, rel=1e-12)


def test_logistic_gradient_is_one_over_n_xt_sigmoid_xw_minus_y(logistic):
    x, y = logistic.data
    for w in weights(10, seed=9):
        expected = x.T @ (sigmoid(x @ w) - y) / len(y)
        np.testing.assert_allclose(logistic.grad(w), expected, rtol=1e-12, atol=1e-15)


def test_logistic_hessian_is_xt_diag_sigmoid_one_minus_sigmoid_x_over_n(logistic):
    x, y = logistic.data
    for w in weights(5, seed=10):
        s = sigmoid(x @ w)
        expected = x.T @ (x * (s * (1 - s))[:, None]) / len(y)
        np.testing.assert_allclose(logistic.hessian(w), expected, rtol=1e-12)


def test_logistic_minimum_is_finite_and_exact(logistic):
    w = logistic.minima[0]
    assert np.all(np.abs(w) < 10)
    np.testing.assert_allclose(logistic.grad(w), 0.0, atol=1e-15)
    assert logistic.min_value == pytest.approx(logistic.loss(w))
    ring = w + 1e-3 * np.stack([np.cos(np.arange(12)), np.sin(np.arange(12))], axis=-1)
    assert np.all(logistic.loss(ring) > logistic.min_value)


def test_logistic_minibatch_loss_and_gradient_are_the_formulas_on_that_subset(logistic):
    x, y = logistic.data
    batch = np.array([0, 49, 25, 24, 7, 7])
    xb, yb = x[batch], y[batch]
    for w in weights(5, seed=11):
        s = sigmoid(xb @ w)
        loss = -np.mean(yb * np.log(s) + (1 - yb) * np.log(1 - s))
        assert logistic.loss(w, batch=batch) == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(logistic.grad(w, batch=batch), xb.T @ (s - yb) / 6, rtol=1e-12)
        np.testing.assert_allclose(
            logistic.hessian(w, batch=batch), xb.T @ (xb * (s * (1 - s))[:, None]) / 6, rtol=1e-12
        )


def test_logistic_one_minibatch_per_run_equals_each_run_alone(logistic):
    runs = weights(3, seed=12).reshape(3, 1, 2)  # leading shape (3, 1)
    batches = np.random.default_rng(13).integers(0, 50, (3, 1, 5))
    loop = [[logistic.grad(w[0], b[0])] for w, b in zip(runs, batches, strict=True)]
    np.testing.assert_allclose(logistic.grad(runs, batch=batches), loop, rtol=1e-13)
    loop = [[logistic.hessian(w[0], b[0])] for w, b in zip(runs, batches, strict=True)]
    np.testing.assert_allclose(logistic.hessian(runs, batch=batches), loop, rtol=1e-13)


def test_logistic_large_grids_evaluated_in_blocks_equal_row_by_row(logistic):
    grid = np.stack(np.meshgrid(np.linspace(-2, 6, 120), np.linspace(-3, 5, 90)), axis=-1)
    rows_loss = np.array([logistic.loss(row) for row in grid])
    rows_grad = np.array([logistic.grad(row) for row in grid])
    np.testing.assert_allclose(logistic.loss(grid), rows_loss, rtol=1e-14)
    np.testing.assert_allclose(logistic.grad(grid), rows_grad, rtol=1e-13, atol=1e-16)


def test_logistic_is_stable_for_huge_weights(logistic):
    x, y = logistic.data
    w = np.array([[1e300, -1e300], [-1e6, 3e6], [50.0, -80.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad, hessian = logistic.loss(w), logistic.grad(w), logistic.hessian(w)
    assert np.isfinite(loss).all() and np.isfinite(grad).all() and np.isfinite(hessian).all()
    # far out the loss grows like the mean margin of the misclassified points
    z = x @ w[1]
    assert loss[1] == pytest.approx(np.mean(np.maximum((1 - 2 * y) * z, 0)), rel=1e-12)
    assert np.all(np.abs(grad) <= np.abs(x).max(axis=0))


def test_logistic_default_descent_converges(logistic):
    p = np.array(logistic.start)
    for _ in range(300):
        p = p - logistic.lr * logistic.grad(p)
    np.testing.assert_allclose(p, logistic.minima[0], atol=1e-3)
