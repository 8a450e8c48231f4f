"""descend()'s single-run fast path (a start of shape (2,)) gives the general path's numbers
bit for bit: every optimizer × every landscape, from several starts, with schedules, clipping
and divergence. The general path is the same start as a batch of one run (shape (1, 2))."""

import numpy as np
import pytest

import landscapes
import optimizers
import optimizers.descent
from optimizers import schedules


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _starts(surface):
    (xmin, xmax), (ymin, ymax) = surface.bounds
    return [surface.start, (0.3 * xmin + 0.7 * xmax, 0.8 * ymin + 0.2 * ymax),
            (xmin, ymax), (0.5 * (xmin + xmax), 0.5 * (ymin + ymax))]


def _optimizers(name, surface):
    lr = float(surface.lr)
    return [optimizers.get(name, lr=lr), optimizers.get(name, lr=lr * 30),
            optimizers.get(name, lr=schedules.cosine(lr, 40)),
            optimizers.get(name, lr=lr, clip_norm=0.5)]


FORMULA_LANDSCAPES = [name for name in landscapes.names()
                      if getattr(landscapes.get(name), "data", None) is None]
"""The landscapes the fast path serves (data landscapes take the general path: mini-batches)."""


def test_the_fast_path_serves_most_landscapes():
    assert len(FORMULA_LANDSCAPES) >= 15


@pytest.mark.parametrize("surface_id", FORMULA_LANDSCAPES)
@pytest.mark.parametrize("name", optimizers.names())
def test_single_run_equals_a_batch_of_one_bit_for_bit(surface_id, name):
    surface = landscapes.get(surface_id)
    for opt in _optimizers(name, surface):
        for start in _starts(surface):
            one = optimizers.descend(surface, opt, start, steps=60)
            batch = optimizers.descend(surface, opt, np.array([start]), steps=60)
            assert _same_bits(one.points, batch.points[:, 0]), (opt, start)
            assert _same_bits(one.losses, batch.losses[:, 0]), (opt, start)
            assert type(one.diverged_at) is int
            assert one.diverged_at == int(batch.diverged_at[0]), (opt, start)
            assert _same_bits(one.grads, batch.grads[:, 0]), (opt, start)


def test_the_cases_above_include_diverging_runs():
    surface = landscapes.get("bowl")
    run = optimizers.descend(surface, optimizers.get("sgd", lr=surface.lr * 30), surface.start,
                             steps=60)
    assert run.diverged_at > 0
    assert np.isnan(run.points[run.diverged_at:]).all()
    assert np.isfinite(run.points[: run.diverged_at]).all()


def test_a_single_run_on_a_declared_landscape_takes_the_fast_path(monkeypatch):
    def general(*_args, **_kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(optimizers.descent, "_descend_chunk", general)
    run = optimizers.descend(landscapes.get("rosenbrock"), "adam", (-1.0, 1.5), steps=20)
    assert run.points.shape == (21, 2)
    with pytest.raises(AssertionError, match="general path"):  # a batch still goes there
        optimizers.descend(landscapes.get("rosenbrock"), "adam", [(-1.0, 1.5)], steps=20)


def test_data_landscapes_and_curves_keep_the_general_path(monkeypatch):
    calls = []
    general = optimizers.descent._descend_chunk

    def counted(*args, **kwargs):
        calls.append(1)
        return general(*args, **kwargs)

    monkeypatch.setattr(optimizers.descent, "_descend_chunk", counted)
    optimizers.descend(landscapes.get("line-fit"), "sgd", (0.0, 0.0), steps=5, batch_size=4)
    optimizers.descend(landscapes.curve(landscapes.curves()[0]), "sgd", 1.0, steps=5)
    assert len(calls) == 2
