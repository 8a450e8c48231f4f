"""The landscape contract, checked on every registered landscape (DESIGN.md, STYLE.md)."""

import warnings

import numpy as np
import pytest

import landscapes

NAMES = landscapes.names()
EPS = np.finfo(np.float64).eps


def random_points(landscape, count, seed=0):
    """Points drawn uniformly from the display bounds."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = landscape.bounds
    return np.stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)], axis=-1)


def display_grid(landscape, size):
    (x0, x1), (y0, y1) = landscape.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, size), np.linspace(y0, y1, size))
    return np.stack([xs, ys], axis=-1)


def central_difference(f, p, h):
    """(f(p + h·eᵢ) − f(p − h·eᵢ)) / 2h for both coordinates, stacked on a new last axis."""
    columns = []
    for i in range(2):
        step = np.zeros(2)
        step[i] = h[i]
        columns.append((f(p + step) - f(p - step)) / (2.0 * h[i]))
    return np.stack(columns, axis=-1)


def steps_for(landscape):
    """A step of 1e-6 of the display width per axis: truncation error (∝ h²) stays below 1e-6
    even where the third derivative reaches 1e5 (Goldstein–Price), and round-off (∝ 1/h) is
    allowed for explicitly."""
    return np.array([1e-6 * (hi - lo) for lo, hi in landscape.bounds])


@pytest.fixture(params=NAMES)
def landscape(request):
    return landscapes.get(request.param)


def test_gradient_equals_central_difference_at_random_points(landscape):
    p = random_points(landscape, 40)
    h = steps_for(landscape)
    numeric = central_difference(landscape.loss, p, h)
    exact = landscape.grad(p)
    # round-off of the difference quotient: a few ulps of the loss divided by h
    round_off = 50 * EPS * np.abs(landscape.loss(p))[:, None] / h
    np.testing.assert_array_less(np.abs(numeric - exact), 1e-6 * (1 + np.abs(exact)) + round_off)


def test_hessian_equals_central_difference_of_gradient(landscape):
    if landscape.hessian is None:
        pytest.skip(f"{landscape.id} is not twice differentiable everywhere")
    p = random_points(landscape, 40, seed=1)
    h = steps_for(landscape)
    numeric = central_difference(landscape.grad, p, h)  # (..., 2 [gradient], 2 [direction])
    exact = landscape.hessian(p)
    round_off = 50 * EPS * np.abs(landscape.grad(p))[..., :, None] / h
    np.testing.assert_array_less(np.abs(numeric - exact), 1e-6 * (1 + np.abs(exact)) + round_off)
    np.testing.assert_array_equal(exact, np.swapaxes(exact, -1, -2))


def test_loss_at_each_listed_minimum_equals_min_value(landscape):
    if len(landscape.minima) == 0:
        assert landscape.min_value is None
        return
    tolerance = 1e-12 * max(1.0, abs(landscape.min_value))
    for minimum in landscape.minima:
        assert abs(landscape.loss(minimum) - landscape.min_value) <= tolerance


def test_gradient_vanishes_and_curvature_is_upward_at_each_minimum(landscape):
    if not landscape.smooth:
        pytest.skip(f"{landscape.id} is not differentiable at its minimum")
    for minimum in landscape.minima:
        np.testing.assert_allclose(landscape.grad(minimum), 0.0, atol=1e-12)
        if landscape.hessian is not None:
            assert np.linalg.eigvalsh(landscape.hessian(minimum)).min() > 0.0


def test_no_point_on_the_display_lies_below_the_global_minimum(landscape):
    values = landscape.loss(display_grid(landscape, 201))
    if landscape.min_value is None:
        assert values.min() < 0 < values.max()  # the saddles fall away in some direction
    else:
        assert values.min() >= landscape.min_value - 1e-12 * max(1.0, abs(landscape.min_value))


def test_vectorized_call_equals_a_python_loop(landscape):
    p = random_points(landscape, 7, seed=2)
    loop_loss = np.array([landscape.loss(point) for point in p])
    loop_grad = np.array([landscape.grad(point) for point in p])
    np.testing.assert_allclose(landscape.loss(p), loop_loss, rtol=1e-13, atol=0)
    np.testing.assert_allclose(landscape.grad(p), loop_grad, rtol=1e-13, atol=1e-15)
    if landscape.hessian is not None:
        loop_hessian = np.array([landscape.hessian(point) for point in p])
        np.testing.assert_allclose(landscape.hessian(p), loop_hessian, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape", [(2,), (5, 2), (3, 4, 2)])
def test_output_shapes_follow_the_leading_shape_of_the_points(landscape, shape):
    p = random_points(landscape, int(np.prod(shape[:-1])), seed=3).reshape(shape)
    assert np.shape(landscape.loss(p)) == shape[:-1]
    assert landscape.grad(p).shape == shape
    if landscape.hessian is not None:
        assert landscape.hessian(p).shape == shape + (2,)


def test_float32_in_gives_float32_out_close_to_float64(landscape):
    p = random_points(landscape, 6, seed=4)
    p32 = p.astype(np.float32)
    loss, grad = landscape.loss(p32), landscape.grad(p32)
    assert loss.dtype == np.float32
    assert grad.dtype == np.float32
    # float32 rounds the input itself: compare with float64 evaluated at the rounded points
    p_rounded = p32.astype(np.float64)
    scale = np.abs(landscape.loss(p_rounded)).max()
    np.testing.assert_allclose(loss, landscape.loss(p_rounded), rtol=1e-4, atol=1e-5 * scale)
    exact_grad = landscape.grad(p_rounded)
    np.testing.assert_allclose(grad, exact_grad, rtol=1e-3, atol=1e-4 * np.abs(exact_grad).max())
    if landscape.hessian is not None:
        assert landscape.hessian(p32).dtype == np.float32


def test_integer_points_are_evaluated_in_float64(landscape):
    assert landscape.loss(np.array([1, 1])).dtype == np.float64
    assert landscape.grad(np.array([[1, 1]])).dtype == np.float64


def test_huge_and_infinite_points_raise_no_numpy_warnings(landscape):
    far = np.array([[1e200, 1e200], [-1e300, 1e300], [np.inf, 0.0], [-np.inf, np.inf], [1e8, -1e8]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = landscape.loss(far)
        grad = landscape.grad(far)
        if landscape.hessian is not None:
            landscape.hessian(far)
    assert loss.shape == (5,)
    assert grad.shape == (5, 2)
    if landscape.min_value is not None:  # overflow must not invent values below the minimum
        assert not np.any(loss < landscape.min_value)


def test_points_ten_displays_away_still_have_finite_loss_and_gradient(landscape):
    (x0, x1), (y0, y1) = landscape.bounds
    far = np.array([[x0 - 10 * (x1 - x0), y1 + 10 * (y1 - y0)], [x1 + 10 * (x1 - x0), y0]])
    assert np.isfinite(landscape.loss(far)).all()
    assert np.isfinite(landscape.grad(far)).all()


def test_declared_attributes_are_consistent(landscape):
    (x0, x1), (y0, y1) = landscape.bounds
    assert x0 < x1 and y0 < y1
    assert x0 <= landscape.start[0] <= x1 and y0 <= landscape.start[1] <= y1
    assert landscape.lr > 0
    assert landscape.minima.dtype == np.float64 and landscape.minima.shape[1:] == (2,)
    assert not landscape.minima.flags.writeable
    for mx, my in landscape.minima:
        assert x0 <= mx <= x1 and y0 <= my <= y1
    assert (landscape.min_value is None) == (len(landscape.minima) == 0)
    assert landscape.title and landscape.formula and landscape.description
    assert landscape.description.endswith(".")
    assert len(landscape.variables) == 2
    assert isinstance(landscape.smooth, bool) and isinstance(landscape.log_color, bool)
    assert landscape.hessian is None or landscape.smooth
    if landscape.hessian is None:
        assert type(landscape).hessian is None  # a class attribute, not a per-instance switch


def test_plain_gradient_descent_with_the_default_lr_goes_downhill_from_start(landscape):
    if landscape.min_value is None:
        pytest.skip(f"{landscape.id} is unbounded below: descent from its start leaves the display")
    p = np.array(landscape.start)
    start_loss = landscape.loss(p)
    for _ in range(200):
        p = p - landscape.lr * landscape.grad(p)
    assert np.isfinite(p).all()
    assert landscape.loss(p) < start_loss


def test_log_color_marks_the_surfaces_whose_linear_heatmap_would_be_one_colour(landscape):
    """log_color ⇔ over a quarter of the display lies in the bottom 5% of the loss range."""
    values = landscape.loss(display_grid(landscape, 200))
    excess = (values - values.min()) / (values.max() - values.min())
    assert landscape.log_color == (np.mean(excess < 0.05) > 0.25)
