"""Gradient clipping by norm, per run, as torch.nn.utils.clip_grad_norm_ does it."""

import numpy as np

import landscapes
import optimizers


def test_each_run_is_clipped_by_its_own_norm():
    grads = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0], [-6.0, 8.0]])
    clipped = optimizers.clip_by_norm(grads, 1.0)
    # torch: g · min(1, max_norm / (‖g‖ + 1e-6))
    np.testing.assert_allclose(clipped[0], [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)
    np.testing.assert_array_equal(clipped[1], grads[1])
    np.testing.assert_array_equal(clipped[2], grads[2])
    np.testing.assert_allclose(clipped[3], [-6 / (10 + 1e-6), 8 / (10 + 1e-6)], rtol=1e-15)


def test_clipping_leaves_the_direction_and_a_norm_just_under_max_norm():
    grads = np.random.default_rng(0).normal(scale=100.0, size=(50, 2))
    clipped = optimizers.clip_by_norm(grads, 2.5)
    norms = np.linalg.norm(clipped, axis=-1)
    np.testing.assert_allclose(norms, 2.5 * np.linalg.norm(grads, axis=-1)
                               / (np.linalg.norm(grads, axis=-1) + 1e-6), rtol=1e-14)
    np.testing.assert_allclose(clipped / norms[:, None],
                               grads / np.linalg.norm(grads, axis=-1)[:, None], rtol=1e-14)


def test_clip_norm_clips_the_gradient_the_step_sees():
    opt = optimizers.get("sgd", lr=1.0, clip_norm=1.0)
    params = np.array([[0.0, 0.0], [1.0, 1.0]])
    new, _ = opt.step(params, np.array([[3.0, 4.0], [0.3, 0.4]]), opt.init(params))
    np.testing.assert_allclose(new, [[-3 / (5 + 1e-6), -4 / (5 + 1e-6)], [0.7, 0.6]],
                               rtol=1e-15)


def test_clipping_acts_on_the_raw_gradient_before_weight_decay():
    # torch clips p.grad before optimizer.step(), which then adds λw: a zero gradient stays
    # zero, and the whole decay 1·10 is applied, unclipped
    opt = optimizers.get("sgd", lr=0.5, weight_decay=1.0, clip_norm=1.0)
    new, _ = opt.step(np.array([10.0, 0.0]), np.zeros(2), opt.init(np.zeros(2)))
    np.testing.assert_array_equal(new, [5.0, 0.0])


def test_clipped_descent_on_the_bowl_moves_at_most_lr_times_clip_norm_per_step():
    opt = optimizers.get("sgd", lr=0.1, clip_norm=1.0)
    run = optimizers.descend(landscapes.get("bowl"), opt, np.array([[4.0, 3.0], [0.01, 0.0]]),
                             steps=30)
    moves = np.linalg.norm(np.diff(run.points, axis=0), axis=-1)
    assert np.all(moves[:, 0] <= 0.1 + 1e-15)
    norms = np.linalg.norm(run.grads[:10, 0], axis=-1)
    assert np.all(norms > 1)
    np.testing.assert_allclose(moves[:10, 0], 0.1 * norms / (norms + 1e-6), rtol=1e-12)
    # the run near the minimum has |∇L| = 0.02 < 1: plain gradient descent, w ← 0.8w
    np.testing.assert_allclose(run.points[1:6, 1, 0], 0.01 * 0.8 ** np.arange(1, 6), rtol=1e-14)


def test_nan_gradient_gives_nan_without_warnings():
    clipped = optimizers.clip_by_norm(np.array([[np.nan, 1.0], [np.inf, 0.0], [1.0, 1.0]]), 1.0)
    assert np.isnan(clipped[0]).all() and np.isnan(clipped[1, 0])
    np.testing.assert_allclose(clipped[2], 1 / (np.sqrt(2) + 1e-6), rtol=1e-15)
