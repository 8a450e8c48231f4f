"""Mini-batch descent on the data landscapes: sampling, reproducibility, full-batch equality."""

import numpy as np
import pytest

import landscapes
import optimizers

DATA_LANDSCAPES = ["line-fit", "logistic"]


def test_minibatches_shuffle_each_epoch_without_replacement():
    batches = optimizers.minibatches(50, 8, steps=20, seed=4)
    assert batches.shape == (20, 8) and batches.dtype == np.int64
    per_epoch = 50 // 8  # 6 batches of 8; 2 examples left out each epoch (drop_last)
    rng = np.random.default_rng(4)
    for epoch in range(4):
        rows = batches[epoch * per_epoch:(epoch + 1) * per_epoch].ravel()
        np.testing.assert_array_equal(rows, rng.permutation(50)[: len(rows)])
        assert len(set(rows.tolist())) == len(rows)
        assert rows.min() >= 0 and rows.max() < 50


def test_minibatches_are_reproducible_from_the_seed():
    np.testing.assert_array_equal(optimizers.minibatches(50, 5, 30, seed=7),
                                  optimizers.minibatches(50, 5, 30, seed=7))
    assert not np.array_equal(optimizers.minibatches(50, 5, 30, seed=7),
                              optimizers.minibatches(50, 5, 30, seed=8))


def test_batch_size_1_visits_every_example_once_per_epoch():
    batches = optimizers.minibatches(50, 1, steps=100, seed=0)
    assert sorted(batches[:50, 0]) == list(range(50))
    assert sorted(batches[50:, 0]) == list(range(50))


@pytest.mark.parametrize("name", DATA_LANDSCAPES)
def test_full_batch_is_exactly_gradient_descent_on_the_full_loss(name):
    landscape = landscapes.get(name)
    n = len(landscape.data[0])
    opt = optimizers.get("sgd", lr=landscape.lr)
    full = optimizers.descend(landscape, opt, landscape.start, steps=30)
    same = optimizers.descend(landscape, opt, landscape.start, steps=30, batch_size=n, seed=9)
    p = np.array(landscape.start)
    expected = [p]
    for _ in range(30):
        p = p - landscape.lr * landscape.grad(p)
        expected.append(p)
    np.testing.assert_array_equal(full.points, expected)
    np.testing.assert_array_equal(same.points, full.points)
    for run in (full, same):  # every step used all the data, in order
        np.testing.assert_array_equal(run.batches, np.broadcast_to(np.arange(n), (30, n)))


@pytest.mark.parametrize("name", DATA_LANDSCAPES)
@pytest.mark.parametrize("batch_size", [1, 7])
def test_minibatch_steps_use_the_recorded_batches(name, batch_size):
    landscape = landscapes.get(name)
    run = optimizers.descend(landscape, optimizers.get("sgd", lr=landscape.lr), landscape.start,
                             steps=25, batch_size=batch_size, seed=3)
    assert run.batches.shape == (25, batch_size)
    np.testing.assert_array_equal(
        run.batches, optimizers.minibatches(len(landscape.data[0]), batch_size, 25, seed=3))
    p = np.array(landscape.start)
    for k in range(25):
        p = p - landscape.lr * landscape.grad(p, batch=run.batches[k])
        np.testing.assert_array_equal(run.points[k + 1], p)


@pytest.mark.parametrize("name", DATA_LANDSCAPES)
def test_losses_and_grads_are_full_data_ones_for_minibatch_runs(name):
    landscape = landscapes.get(name)
    run = optimizers.descend(landscape, optimizers.get("adam", lr=0.05), landscape.start,
                             steps=20, batch_size=5)
    # (not bit for bit: the logistic loss of 21 points at once rounds differently in the last
    # bit from 21 single calls)
    np.testing.assert_allclose(run.losses, landscape.loss(run.points), rtol=1e-14)
    np.testing.assert_allclose(run.grads, landscape.grad(run.points), rtol=1e-14)


def test_same_seed_same_path_other_seed_other_path():
    landscape = landscapes.get("line-fit")
    opt = optimizers.get("momentum", lr=0.05)
    a = optimizers.descend(landscape, opt, landscape.start, steps=40, batch_size=4, seed=11)
    b = optimizers.descend(landscape, opt, landscape.start, steps=40, batch_size=4, seed=11)
    c = optimizers.descend(landscape, opt, landscape.start, steps=40, batch_size=4, seed=12)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.batches, b.batches)
    assert not np.array_equal(a.points, c.points)


def test_every_run_of_a_batch_sees_the_same_minibatches():
    landscape = landscapes.get("line-fit")
    opt = optimizers.get("sgd", lr=0.2)
    starts = np.array([[-0.5, 3.5], [4.0, -1.0], [2.0, 1.0]])
    batch = optimizers.descend(landscape, opt, starts, steps=30, batch_size=3, seed=5)
    for i, start in enumerate(starts):
        single = optimizers.descend(landscape, opt, start, steps=30, batch_size=3, seed=5)
        np.testing.assert_array_equal(batch.points[:, i], single.points)


def test_batch_minibatch_and_sgd_reach_the_same_region():
    # the lesson: batch is smooth, mini-batch noisy, SGD very noisy — all near the least squares
    landscape = landscapes.get("line-fit")
    opt = optimizers.get("sgd", lr=landscape.lr)
    best = landscape.minima[0]
    wander = {}
    for batch_size in (None, 10, 1):
        run = optimizers.descend(landscape, opt, landscape.start, steps=400,
                                 batch_size=batch_size, seed=0)
        assert run.diverged_at == -1
        tail = run.points[-100:]
        assert np.linalg.norm(tail.mean(axis=0) - best) < 0.15
        wander[batch_size] = np.mean(np.linalg.norm(tail - best, axis=-1))
    assert wander[None] < 1e-9 < wander[10] < wander[1]


@pytest.mark.parametrize(("batch_size", "message"), [(0, ">= 1"), (51, "at most"),
                                                     (2.5, "integer")])
def test_bad_batch_sizes_are_value_errors(batch_size, message):
    landscape = landscapes.get("line-fit")
    with pytest.raises(ValueError, match=message):
        optimizers.descend(landscape, optimizers.get("sgd"), landscape.start, steps=3,
                           batch_size=batch_size)
