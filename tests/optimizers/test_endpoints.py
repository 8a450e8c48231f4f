"""endpoints(): descend()'s descent without the path — the same end points, bit for bit."""

import numpy as np
import pytest

import landscapes
import optimizers
import optimizers.descent


def _starts(landscape, count, seed=0):
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = landscape.bounds
    return np.stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)], axis=-1)


def _same(a, b):
    return np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("name", optimizers.names())
@pytest.mark.parametrize("landscape_id", ["himmelblau", "rastrigin", "bowl"])
def test_ends_are_descends_last_points_bitwise(name, landscape_id):
    landscape = landscapes.get(landscape_id)
    starts = _starts(landscape, 60).reshape(3, 20, 2)
    opt = optimizers.get(name, lr=0.3)   # large: some runs diverge (the bowl's above 1/3)
    run = optimizers.descend(landscape, opt, starts, steps=30)
    ends = optimizers.endpoints(landscape, opt, starts, steps=30)
    assert ends.final.shape == (3, 20, 2) and ends.losses.shape == (3, 20)
    assert _same(ends.final, run.points[-1])
    assert _same(ends.previous, run.points[-2])
    assert _same(ends.losses, run.losses[-1])
    assert np.array_equal(ends.diverged_at, run.diverged_at)
    assert ends.steps == 30
    assert not np.isinf(ends.final).any() and not np.isinf(ends.previous).any()


def test_diverged_runs_are_nan_and_the_rest_move():
    bowl = landscapes.get("bowl")
    starts = np.array([[4.0, 3.0], [4.0, 0.0]])   # y = 0: the 1 − 6η factor never applies
    ends = optimizers.endpoints(bowl, optimizers.get("sgd", lr=0.5), starts, steps=40)
    assert ends.diverged_at[0] >= 0 and np.isnan(ends.final[0]).all()
    assert np.isnan(ends.losses[0]) and np.isnan(ends.previous[0]).all()
    assert ends.diverged_at[1] == -1 and np.allclose(ends.final[1], 0.0)


def test_previous_of_a_run_diverging_on_its_last_step_is_its_last_finite_point():
    bowl = landscapes.get("bowl")
    opt = optimizers.get("sgd", lr=2.0)   # y ← −11·y: leaves the 1e6-widths box at step 7
    run = optimizers.descend(bowl, opt, [0.0, 1.0], steps=7)
    assert run.diverged_at == 7
    ends = optimizers.endpoints(bowl, opt, [0.0, 1.0], steps=7)
    assert ends.diverged_at == 7 and isinstance(ends.diverged_at, int)
    assert np.isnan(ends.final).all() and _same(ends.previous, run.points[-2])
    assert np.isfinite(ends.previous).all()


def test_more_runs_than_one_chunk():
    himmelblau = landscapes.get("himmelblau")
    starts = _starts(himmelblau, optimizers.descent.CHUNK_RUNS + 123, seed=3)
    opt = optimizers.get("adam", lr=0.1)
    run = optimizers.descend(himmelblau, opt, starts, steps=4)
    ends = optimizers.endpoints(himmelblau, opt, starts, steps=4)
    assert _same(ends.final, run.points[-1]) and _same(ends.previous, run.points[-2])


def test_single_run_zero_steps_and_minibatches():
    bowl = landscapes.get("bowl")
    ends = optimizers.endpoints(bowl, "sgd", [4.0, 3.0], steps=0)
    assert ends.final.shape == (2,) and _same(ends.final, [4.0, 3.0])
    assert _same(ends.previous, ends.final) and ends.diverged_at == -1
    line = landscapes.get("line-fit")
    opt = optimizers.get("momentum", lr=0.05)
    starts = _starts(line, 10)
    run = optimizers.descend(line, opt, starts, steps=25, batch_size=5, seed=4)
    ends = optimizers.endpoints(line, opt, starts, steps=25, batch_size=5, seed=4)
    assert _same(ends.final, run.points[-1]) and _same(ends.losses, run.losses[-1])


def test_curves_and_bad_arguments_as_descend():
    square = landscapes.curve("square")
    ends = optimizers.endpoints(square, optimizers.get("sgd", lr=0.1), 3.0, steps=10)
    assert ends.final.shape == (1,) and ends.final[0] == pytest.approx(3.0 * 0.8**10)
    bowl = landscapes.get("bowl")
    with pytest.raises(ValueError, match="start must have shape"):
        optimizers.endpoints(bowl, "sgd", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="steps"):
        optimizers.endpoints(bowl, "sgd", [1.0, 2.0], steps=-1)
    with pytest.raises(ValueError, match="no data"):
        optimizers.endpoints(bowl, "sgd", [1.0, 2.0], batch_size=2)
