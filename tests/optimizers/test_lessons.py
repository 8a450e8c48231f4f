"""The lessons' worked numbers (LESSONS.md, section 2): the seeds' own arithmetic."""

import numpy as np
import pytest

import landscapes
import optimizers


def test_shifted_curve_from_0_with_lr_0_1_gives_0_0_6_1_08_1_464_1_7712():
    run = optimizers.descend(landscapes.curve("shifted"), optimizers.get("sgd", lr=0.1), 0.0,
                             steps=4)
    assert run.points.shape == (5, 1)
    np.testing.assert_allclose(run.points[:, 0], [0, 0.6, 1.08, 1.464, 1.7712], rtol=1e-14)
    assert run.diverged_at == -1


def test_shifted_curve_with_lr_0_1_tends_to_3():
    run = optimizers.descend(landscapes.curve("shifted"), optimizers.get("sgd", lr=0.1), 0.0,
                             steps=200)
    # w_k = 3 − 3·0.8^k: the gap to 3 shrinks by 0.8 each step
    gaps = 3 - run.points[:, 0]
    np.testing.assert_allclose(gaps[1:60] / gaps[:59], 0.8, rtol=1e-9)
    assert abs(run.points[-1, 0] - 3) < 1e-15 * 3 * 10


def test_shifted_curve_with_lr_2_flips_and_diverges():
    run = optimizers.descend(landscapes.curve("shifted"), optimizers.get("sgd", lr=2.0), 0.0,
                             steps=100)
    w = run.points[:4, 0]
    np.testing.assert_allclose(w, [0, 12, -24, 84])  # w ← −3w + 12
    assert isinstance(run.diverged_at, int) and run.diverged_at > 0
    assert np.isnan(run.points[run.diverged_at:]).all()
    assert np.isfinite(run.points[: run.diverged_at]).all()


def test_curve_start_of_shape_1_equals_scalar_start():
    curve = landscapes.curve("shifted")
    opt = optimizers.get("sgd", lr=0.1)
    a = optimizers.descend(curve, opt, 0.0, steps=5)
    b = optimizers.descend(curve, opt, np.array([0.0]), steps=5)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_allclose(a.losses, (a.points[:, 0] - 3) ** 2)


def test_bowl_step_from_4_3_with_lr_0_1_lands_on_3_2_1_2():
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.1), (4, 3),
                             steps=1)
    np.testing.assert_allclose(run.points[1], [3.2, 1.2], rtol=1e-15)
    np.testing.assert_allclose(run.losses, [16 + 27, 3.2**2 + 3 * 1.2**2], rtol=1e-15)


def test_bowl_with_lr_0_3_zig_zags_in_y_by_factor_minus_0_8_and_converges():
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.3), (4, 3),
                             steps=200)
    y = run.points[:, 1]
    np.testing.assert_allclose(y[1:30] / y[:29], -0.8, rtol=1e-12)
    assert np.all(np.sign(y[1:30]) == -np.sign(y[:29]))
    assert run.diverged_at == -1
    assert np.all(np.abs(run.points[-1]) < 1e-15)


def test_bowl_with_lr_0_4_flies_off_and_is_flagged():
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=0.4), (4, 3),
                             steps=200)
    y = run.points[:, 1]
    np.testing.assert_allclose(y[1:10] / y[:9], -1.4, rtol=1e-12)
    assert run.diverged_at >= 0
    assert np.isnan(run.points[run.diverged_at:]).all()
    assert np.isnan(run.losses[run.diverged_at:]).all()
    assert not np.isinf(run.points).any() and not np.isinf(run.losses).any()


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3])
def test_bowl_critical_lr_is_one_third(lr):
    run = optimizers.descend(landscapes.get("bowl"), optimizers.get("sgd", lr=lr), (4, 3),
                             steps=50)
    assert run.diverged_at == -1
    assert run.losses[-1] < run.losses[0]
