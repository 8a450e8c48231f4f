"""descend(): shapes, batches of runs, divergence, the recorded gradients, argument checks."""

import warnings

import numpy as np
import pytest

import landscapes
import optimizers
import optimizers.descent


class Ramp:
    """L = x + y on the display [−1, 1]²: gradient descent walks off at a constant pace."""

    bounds = ((-1.0, 1.0), (-1.0, 1.0))

    def loss(self, p):
        return p[..., 0] + p[..., 1]

    def grad(self, p):
        return np.ones_like(p)


class Quartic:
    """L = x⁴ + y⁴: with a large learning rate the iterates overflow to inf, then NaN."""

    bounds = ((-2.0, 2.0), (-2.0, 2.0))

    def loss(self, p):
        return np.sum(p**4, axis=-1)

    def grad(self, p):
        return 4 * p**3


class HoleInTheMiddle:
    """A loss that is NaN in the disc |p| < 1 (like a log of a negative number)."""

    bounds = ((-5.0, 5.0), (-5.0, 5.0))

    def loss(self, p):
        r2 = np.sum(p * p, axis=-1)
        return np.where(r2 < 1, np.nan, r2)

    def grad(self, p):
        return 2 * p


def test_single_run_shapes_and_int_diverged_at():
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("adam", lr=0.1), (4.0, 3.0),
                             steps=7)
    assert run.points.shape == (8, 2)
    assert run.losses.shape == (8,)
    assert run.grads.shape == (8, 2)
    assert type(run.diverged_at) is int and run.diverged_at == -1
    assert run.batches is None
    np.testing.assert_array_equal(run.points[0], [4.0, 3.0])


def test_batch_of_runs_shapes_and_array_diverged_at():
    starts = np.stack(np.meshgrid(np.linspace(-4, 4, 4), np.linspace(-3, 3, 3)), axis=-1)
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.1), starts,
                             steps=5)
    assert run.points.shape == (6, 3, 4, 2)
    assert run.losses.shape == (6, 3, 4)
    assert run.grads.shape == (6, 3, 4, 2)
    assert run.diverged_at.shape == (3, 4)
    assert run.diverged_at.dtype.kind == "i"
    assert np.all(run.diverged_at == -1)


@pytest.mark.parametrize("name", optimizers.names())
def test_batch_of_runs_equals_a_loop_of_single_runs(name, monkeypatch):
    # small chunks, so the chunk boundaries are crossed too; some runs diverge, some do not
    monkeypatch.setattr(optimizers.descent, "CHUNK_RUNS", 3)
    landscape = landscapes.get("rosenbrock")
    starts = np.random.default_rng(3).uniform(-2, 2, size=(2, 5, 2))
    opt = optimizers.get(name, lr=0.3)
    batch = optimizers.descend(landscape, opt, starts, steps=40)
    for index in np.ndindex(2, 5):
        single = optimizers.descend(landscape, opt, starts[index], steps=40)
        np.testing.assert_array_equal(batch.points[:, *index], single.points)
        np.testing.assert_array_equal(batch.losses[:, *index], single.losses)
        assert batch.diverged_at[index] == single.diverged_at


def test_losses_are_the_loss_at_each_point():
    landscape = landscapes.get("himmelblau")
    run = optimizers.descend(landscape, optimizers.get("momentum", lr=0.005), (0.0, 0.0),
                             steps=300)
    np.testing.assert_array_equal(run.losses, landscape.loss(run.points))
    np.testing.assert_array_equal(run.grads, landscape.grad(run.points))
    assert np.min(np.linalg.norm(landscape.minima - run.points[-1], axis=-1)) < 1e-3


def test_gradient_descent_steps_are_minus_lr_times_the_recorded_gradient():
    run = optimizers.descend(landscapes.get("valley"), optimizers.get("sgd", lr=0.01),
                             (-8.0, 3.0), steps=20)
    np.testing.assert_allclose(np.diff(run.points, axis=0), -0.01 * run.grads[:-1], rtol=1e-12)


def test_divergence_box_is_1e6_display_widths_from_the_centre():
    # width 2, so the box is |x|, |y| ≤ 2e6; each step moves by −1e5: x_20 = −2e6 is still
    # inside, x_21 = −2.1e6 is not, though it is perfectly finite
    run = optimizers.descend(Ramp(), optimizers.get("sgd", lr=1e5), (0.0, 0.0), steps=30)
    assert run.diverged_at == 21
    np.testing.assert_array_equal(run.points[20], [-2e6, -2e6])
    assert np.isnan(run.points[21:]).all() and np.isnan(run.losses[21:]).all()
    assert np.isnan(run.grads[21:]).all()
    assert np.isfinite(run.points[:21]).all() and np.isfinite(run.grads[:21]).all()


def test_box_is_per_axis_of_the_display():
    class WideRamp(Ramp):
        bounds = ((-10.0, 10.0), (-1.0, 1.0))   # x may go to 2e7, y only to 2e6

    run = optimizers.descend(WideRamp(), optimizers.get("sgd", lr=1e5), (0.0, 0.0), steps=30)
    assert run.diverged_at == 21


def test_overflow_to_inf_is_flagged_and_nothing_infinite_or_warning_escapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = optimizers.descend(Quartic(), optimizers.get("sgd", lr=10.0),
                                 np.array([[1.5, 1.0], [0.01, 0.01]]), steps=40)
    assert run.diverged_at[0] > 0 and run.diverged_at[1] == -1
    for array in (run.points, run.losses, run.grads):
        assert not np.isinf(array).any()
    k = run.diverged_at[0]
    assert np.isfinite(run.points[:k, 0]).all() and np.isnan(run.points[k:, 0]).all()
    assert np.isfinite(run.points[:, 1]).all()


def test_a_nan_loss_at_finite_coordinates_is_a_divergence():
    # from (3, 0), w ← 0.2w: 3, 0.6 — inside the NaN disc at step 1
    run = optimizers.descend(HoleInTheMiddle(), optimizers.get("sgd", lr=0.4), (3.0, 0.0),
                             steps=5)
    assert run.diverged_at == 1
    np.testing.assert_array_equal(run.points[0], [3.0, 0.0])
    assert np.isnan(run.points[1:]).all() and np.isnan(run.losses[1:]).all()


@pytest.mark.parametrize("start", [(np.nan, 0.0), (np.inf, 1.0), (1e300, 0.0)])
def test_a_start_outside_the_box_or_not_finite_diverges_at_0(start):
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("adam"), start, steps=3)
    assert run.diverged_at == 0
    assert np.isnan(run.points).all() and np.isnan(run.losses).all()


def test_a_diverged_run_stops_and_the_others_carry_on():
    starts = np.array([[4.0, 3.0], [0.0, 0.1]])
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.4), starts,
                             steps=100)
    # (4, 3): y ← −1.4y flies off; (0, 0.1) too, but later (smaller start)
    assert 0 < run.diverged_at[0] < run.diverged_at[1]
    alone = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.4),
                               starts[1], steps=100)
    np.testing.assert_array_equal(run.points[:, 1], alone.points)


def test_zero_steps_records_only_the_start():
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd"), (1.0, 1.0), steps=0)
    assert run.points.shape == (1, 2) and run.losses.shape == (1,)
    np.testing.assert_array_equal(run.losses, [4.0])


def test_descend_does_not_mutate_start():
    start = np.array([[4.0, 3.0], [1.0, -1.0]])
    start.setflags(write=False)
    optimizers.descend(landscapes.get("bowl"), optimizers.get("rmsprop"), start, steps=3)
    np.testing.assert_array_equal(start, [[4.0, 3.0], [1.0, -1.0]])


def test_an_optimizer_name_means_its_defaults():
    by_name = optimizers.descend(landscapes.get("bowl"), "adam", (4.0, 3.0), steps=10)
    by_object = optimizers.descend(landscapes.get("bowl"), optimizers.get("adam"), (4.0, 3.0),
                                   steps=10)
    np.testing.assert_array_equal(by_name.points, by_object.points)


def test_curve_runs_carry_a_length_1_axis():
    curve = landscapes.curve("square")
    run = optimizers.descend(curve, optimizers.get("sgd", lr=0.25), np.array([[1.0], [-2.0]]),
                             steps=3)
    assert run.points.shape == (4, 2, 1) and run.losses.shape == (4, 2)
    np.testing.assert_allclose(run.points[:, :, 0], [[1, -2], [0.5, -1], [0.25, -0.5],
                                                     [0.125, -0.25]])
    np.testing.assert_allclose(run.grads[..., 0], 2 * run.points[..., 0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": -1}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"start": (1.0, 2.0, 3.0)}, r"shape \(\.\.\., 2\)"),
    ({"start": 1.0}, r"shape \(\.\.\., 2\)"),
    ({"opt": object()}, "Optimizer"),
    ({"batch_size": 4}, "no data"),
])
def test_bad_arguments_are_value_errors(kwargs, message):
    arguments = {"landscape": landscapes.get("bowl"), "opt": optimizers.get("sgd"),
                 "start": (4.0, 3.0), **kwargs}
    with pytest.raises(ValueError, match=message):
        optimizers.descend(**arguments)


def test_curve_start_with_a_wrong_last_axis_is_a_value_error():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 1\)"):
        optimizers.descend(landscapes.curve("shifted"), optimizers.get("sgd"), [0.0, 1.0])


def test_descend_follows_a_schedule():
    # constant gradient (1, 1) on the ramp: after k steps x = −Σ_{t<k} η_t
    schedule = optimizers.schedules.step_decay(0.1, step_size=2, gamma=0.5)
    run = optimizers.descend(Ramp(), optimizers.get("sgd", lr=schedule), (0.0, 0.0), steps=6)
    np.testing.assert_allclose(run.points[:, 0], -np.concatenate([[0], np.cumsum(schedule(
        np.arange(6)))]), rtol=1e-15)


def test_large_batches_give_ordinary_writable_arrays_with_the_same_paths():
    # 101 × 3000 × 2 doubles = 4.8 MB: large enough for the pre-mapped output arrays
    starts = np.random.default_rng(5).uniform(-2, 2, size=(3000, 2))
    opt = optimizers.get("adam", lr=0.05)
    landscape = landscapes.get("rosenbrock")
    run = optimizers.descend(landscape, opt, starts, steps=100)
    assert isinstance(run.points, np.ndarray) and run.points.flags.writeable
    assert run.points.shape == (101, 3000, 2) and run.losses.shape == (101, 3000)
    for i in (0, 1234, 2999):
        single = optimizers.descend(landscape, opt, starts[i], steps=100)
        np.testing.assert_array_equal(run.points[:, i], single.points)
        np.testing.assert_array_equal(run.losses[:, i], single.losses)
