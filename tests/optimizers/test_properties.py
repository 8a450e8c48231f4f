"""Property: any landscape × optimizer × learning rate × start never raises, never emits ±inf,
and flags divergence consistently."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import landscapes
import optimizers

SURFACES = [("landscape", name) for name in landscapes.names()] + [
    ("curve", name) for name in landscapes.curves()]


def surface(kind, name):
    return landscapes.get(name) if kind == "landscape" else landscapes.curve(name)


@st.composite
def starts(draw, bounds, runs):
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    unit = np.array(draw(st.lists(st.lists(st.floats(0, 1), min_size=len(bounds),
                                           max_size=len(bounds)),
                                  min_size=runs, max_size=runs)))
    return bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])


def check(run, steps, runs_shape):
    assert run.points.shape[0] == steps + 1 and run.losses.shape == (steps + 1, *runs_shape)
    for array in (run.points, run.losses, run.grads):
        assert not np.isinf(array).any()
    diverged = np.atleast_1d(run.diverged_at)
    points = run.points.reshape(steps + 1, -1, run.points.shape[-1])
    losses = run.losses.reshape(steps + 1, -1)
    for i, k in enumerate(diverged):
        all_finite = np.isfinite(points[:, i]).all() and np.isfinite(losses[:, i]).all()
        assert (k == -1) == all_finite
        if k >= 0:
            assert np.isfinite(points[:k, i]).all() and np.isfinite(losses[:k, i]).all()
            assert np.isnan(points[k:, i]).all() and np.isnan(losses[k:, i]).all()
            assert np.isnan(run.grads.reshape(points.shape)[k:, i]).all()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), which=st.sampled_from(SURFACES),
       name=st.sampled_from(optimizers.names()),
       log_lr=st.floats(-6, 3), runs=st.integers(1, 3), steps=st.integers(0, 60),
       clip=st.sampled_from([None, 1.0]))
def test_any_descent_is_finite_or_flagged_and_never_raises(data, which, name, log_lr, runs,
                                                           steps, clip):
    landscape = surface(*which)
    opt = optimizers.get(name, lr=10.0**log_lr, clip_norm=clip)
    start = data.draw(starts(landscape.bounds, runs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = optimizers.descend(landscape, opt, start, steps=steps)
    check(run, steps, (runs,))
    single = optimizers.descend(landscape, opt, start[0], steps=steps)
    assert type(single.diverged_at) is int
    check(single, steps, ())
    assert single.diverged_at == run.diverged_at[0]


@settings(max_examples=25, deadline=None)
@given(data=st.data(), name=st.sampled_from(["line-fit", "logistic"]),
       opt_name=st.sampled_from(optimizers.names()), log_lr=st.floats(-6, 3),
       batch_size=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_any_minibatch_descent_is_finite_or_flagged(data, name, opt_name, log_lr, batch_size,
                                                    seed):
    landscape = landscapes.get(name)
    start = data.draw(starts(landscape.bounds, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = optimizers.descend(landscape, optimizers.get(opt_name, lr=10.0**log_lr), start,
                                 steps=30, batch_size=batch_size, seed=seed)
    check(run, 30, (2,))
    assert run.batches.shape == (30, batch_size)
