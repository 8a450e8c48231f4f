"""landscapes.basins: basin maps (against one-by-one descend()), the critical learning rate
(against numpy.linalg.eigvalsh), the learning-rate sweep's outcomes and the presets."""

import warnings

import numpy as np
import pytest

import circuits
import landscapes
import optimizers
from landscapes import basins

# a learning rate per optimizer at which Himmelblau's map has all four basins in 60 steps
LRS = {"sgd": 0.01, "momentum": 0.003, "nesterov": 0.003, "adagrad": 0.5, "rmsprop": 0.05,
       "adam": 0.1, "adamw": 0.1, "lion": 0.05}


def test_every_optimizer_has_a_learning_rate_here():
    assert set(LRS) == set(optimizers.names())


def _one_by_one(landscape, basin_map, sample, hyper=None):
    """Labels of descend() from each sampled start alone, against the map's centres."""
    opt = optimizers.get(basin_map.optimizer, lr=basin_map.lr, **(hyper or {}))
    labels, ends = [], []
    for i, j in sample:
        run = optimizers.descend(landscape, opt, basin_map.starts[i, j], steps=basin_map.steps)
        label, centres = basins.label_ends(landscape, run.points[-1], run.points[-2],
                                           basin_map.grad_scale, centres=basin_map.centres)
        assert centres is not None
        labels.append(int(label))
        ends.append(run.points[-1])
    return np.array(labels), np.array(ends)


def _sample(n, count=30, seed=0):
    rng = np.random.default_rng(seed)
    flat = rng.choice(n * n, size=count, replace=False)
    return [divmod(int(k), n) for k in flat]


@pytest.mark.parametrize("name", optimizers.names())
def test_labels_equal_one_by_one_descend_for_every_optimizer(name):
    himmelblau = landscapes.get("himmelblau")
    m = basins.basin_map(himmelblau, name, LRS[name], n=16, steps=60)
    sample = _sample(16)
    labels, ends = _one_by_one(himmelblau, m, sample)
    rows, cols = np.array(sample).T
    assert np.array_equal(labels, m.labels[rows, cols])
    assert np.array_equal(ends, m.ends[rows, cols], equal_nan=True)   # bitwise: + and × only
    assert len(set(m.labels.ravel()) & {0, 1, 2, 3}) == 4
    assert m.centres.shape == (4, 2) and np.array_equal(m.centres, himmelblau.minima)


def test_a_map_with_found_basins_equals_one_by_one_descend():
    # Rastrigin's dimples are not in its minima: the map finds them; each sampled start, run
    # alone, lands in the basin the map gave it (np.sin/np.cos may differ in the last bit
    # between batch and scalar loops, hence allclose for the ends)
    rastrigin = landscapes.get("rastrigin")
    m = basins.basin_map(rastrigin, "sgd", 0.002, n=24, steps=120)
    assert len(m.centres) > 20
    sample = _sample(24, count=40, seed=1)
    labels, ends = _one_by_one(rastrigin, m, sample)
    rows, cols = np.array(sample).T
    assert np.allclose(ends, m.ends[rows, cols], rtol=1e-12, atol=1e-12)
    assert np.array_equal(labels, m.labels[rows, cols])
    assert (labels >= m.known).sum() >= 20


def test_map_shapes_counts_and_fields():
    bowl = landscapes.get("bowl")
    m = basins.basin_map(bowl, "momentum", 0.05, n=9, steps=40, hyper={"momentum": 0.5})
    assert m.starts.shape == m.ends.shape == (9, 9, 2)
    assert m.labels.shape == m.diverged_at.shape == (9, 9) and m.labels.dtype.kind == "i"
    assert np.array_equal(m.starts[0, 0], [-5, -5]) and np.array_equal(m.starts[0, -1], [5, -5])
    assert np.array_equal(m.starts[-1, 0], [-5, 5])   # row i is y
    assert sum(m.counts.values()) == 81 and set(m.counts) == {-2, -1, 0}
    assert m.counts[0] == np.count_nonzero(m.labels == 0)
    assert m.radius == pytest.approx(0.2) and m.hyper == {"momentum": 0.5}
    assert (m.optimizer, m.lr, m.steps, m.known) == ("momentum", 0.05, 40, 1)
    for array in (m.starts, m.ends, m.labels, m.centres, m.diverged_at):
        assert not array.flags.writeable
    plain = basins.basin_map(bowl, "momentum", 0.05, n=9, steps=40)
    assert not np.array_equal(plain.ends, m.ends)   # hyper reaches the optimizer


def test_the_labelling_rule():
    bowl = landscapes.get("bowl")
    r = basins.radius(bowl)
    ends = np.array([[0.5 * r, 0.0], [1.5 * r, 0.0], [np.nan, np.nan], [3.0, 0.0]])
    labels, centres = basins.label_ends(bowl, ends, ends, grad_scale=10.0)
    # within r of the minimum → 0; just outside, with ‖∇L‖ = 0.6 > 1 % of 10 → not converged
    assert labels.tolist() == [0, -2, -1, -2]
    assert np.array_equal(centres, bowl.minima)
    # a small gradient is not enough: the Newton step from 1.5 r points 1.5 r on, to the
    # minimum (a run crawling along a valley floor has not converged)
    assert basins.label_ends(bowl, ends, ends, grad_scale=100.0)[0].tolist() == [0, -2, -1, -2]
    # where no minimum is known, the end at 0.5 r is stationary: a basin of its own
    typed = circuits.to_landscape("x**2 + 3*y**2")
    labels, centres = basins.label_ends(typed, ends, ends, grad_scale=100.0)
    assert labels.tolist() == [0, -2, -1, -2] and np.array_equal(centres, ends[:1])
    # still moving: a last step longer than r is not converged
    moving = ends.copy()
    moving[0, 1] -= 1.01 * r
    assert basins.label_ends(typed, ends, moving, grad_scale=100.0)[0].tolist() == [
        -2, -2, -1, -2]
    # a saddle (indefinite Hessian) is no basin, however flat
    saddle = circuits.to_landscape("x**2 - y**2")
    assert basins.label_ends(saddle, ends[:1] * 0.01, ends[:1] * 0.01,
                             grad_scale=100.0)[0].tolist() == [-2]


def test_a_valley_crawl_is_not_a_basin():
    # SGD at the valley's default η crawls along the flat floor: not converged, not a basin
    valley = landscapes.get("valley")
    m = basins.basin_map(valley, "sgd", valley.lr, n=20, steps=100)
    assert len(m.centres) == 1 and m.counts[-2] > 0.5 * m.labels.size


@pytest.mark.parametrize("tilt", [0.1, -0.1])
def test_neighbouring_cells_join_and_basins_are_ordered_by_loss(tilt):
    # ends on both sides of a cell border (x = 1 is a multiple of r = 0.2) are one basin;
    # in the tilted double well the minimum on the side the tilt goes down to comes first
    well = circuits.to_landscape(f"(x**2 - 1)**2 + y**2 + {tilt}*x")
    left = -1.0 - tilt / 8
    ends = np.array([[0.9999, 0.0], [1.0001, 0.0], [left, 0.0], [left + 1e-3, 0.0]])
    labels, centres = basins.label_ends(well, ends, ends, grad_scale=100.0)
    assert centres.shape == (2, 2)
    low, high = (0, 1) if tilt > 0 else (1, 0)   # the label of the left / the right basin
    assert labels.tolist() == [high, high, low, low]
    assert (centres[low, 0] < 0) and (centres[high, 0] > 0)
    # the centre is the group's lowest end point
    assert np.array_equal(centres[low], ends[np.argmin(well.loss(ends[2:])) + 2])
    assert np.array_equal(centres[high], ends[np.argmin(well.loss(ends[:2]))])


def test_a_typed_function_gets_its_basins_found():
    well = circuits.to_landscape("(x**2 - 1)**2 + y**2")
    m = basins.basin_map(well, "adam", 0.1, n=30, steps=150)
    assert m.known == 0 and m.centres.shape == (2, 2)
    assert np.allclose(np.abs(m.centres), [[1, 0], [1, 0]], atol=1e-3)
    left = int(np.argmin(m.centres[:, 0]))
    x = m.starts[..., 0]
    assert np.all((m.labels == left) <= (x < 0)) and np.all((m.labels == 1 - left) <= (x > 0))
    assert m.counts[0] > 300 and m.counts[1] > 300
    labels, _ = _one_by_one(well, m, _sample(30, count=20))
    rows, cols = np.array(_sample(30, count=20)).T
    assert np.array_equal(labels, m.labels[rows, cols])


def test_a_ring_or_a_plateau_of_minima_is_one_basin():
    # every point of the circle x² + y² = 4 is a minimum (zero curvature along it), and the
    # quadrant x, y < 0 of relu(x) + relu(y) is flat at its minimum 0: one basin each
    ring = circuits.to_landscape("(x**2 + y**2 - 4)**2")
    m = basins.basin_map(ring, "adam", 0.05, n=40, steps=300)
    assert len(m.centres) == 1 and m.counts[0] > 0.8 * m.labels.size
    assert np.hypot(*m.centres[0]) == pytest.approx(2.0, abs=1e-3)
    # (on a grid finer than r, n ≥ 51: coarser, the plateau's stopped runs do not touch)
    flat = circuits.to_landscape("relu(x) + relu(y)")
    m = basins.basin_map(flat, "sgd", 0.1, n=60, steps=100)
    assert len(m.centres) == 1 and m.counts[0] == m.labels.size


def test_nan_and_overflowing_regions_are_diverged_never_inf():
    # log(x) is NaN for x < 0 and runs fall into it; exp(x·y) overflows to inf
    wild = circuits.to_landscape("log(x) + y**2 + exp(x*y)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = basins.basin_map(wild, "sgd", 0.1, n=20, steps=50)
        crit = basins.critical_lr(circuits.to_landscape("x**2 + 3*y**2"), [0.5, -0.5])
    assert not np.isinf(m.ends).any()
    assert m.counts[-1] > 0 and np.isnan(m.ends[m.labels == -1]).all()
    assert np.all(m.labels[m.starts[..., 0] < 0] == -1)
    assert crit == pytest.approx(1 / 3, rel=1e-8)


@pytest.mark.parametrize("landscape_id", ["bowl", "round-bowl", "valley", "booth"])
def test_critical_lr_is_two_over_the_largest_eigenvalue(landscape_id):
    landscape = landscapes.get(landscape_id)
    expected = 2.0 / np.max(np.linalg.eigvalsh(landscape.hessian(landscape.minima[0])))
    assert basins.critical_lr(landscape) == pytest.approx(expected, rel=1e-15)


def test_critical_lr_of_the_bowl_is_exactly_a_third():
    assert basins.critical_lr(landscapes.get("bowl")) == 1 / 3


def test_max_curvature_at_any_point_and_without_a_hessian():
    himmelblau = landscapes.get("himmelblau")
    for point in ([0.3, -1.2], [3.0, 2.0], [-4.0, 4.5]):
        expected = np.max(np.linalg.eigvalsh(himmelblau.hessian(np.array(point))))
        assert basins.max_curvature(himmelblau, point) == pytest.approx(expected, rel=1e-14)
    # a typed Himmelblau has no Hessian: central differences of its exact gradient
    typed = circuits.to_landscape("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    for point in ([0.3, -1.2], [3.0, 2.0], [-4.0, 4.5], [1.1, 0.7]):
        expected = np.max(np.linalg.eigvalsh(himmelblau.hessian(np.array(point))))
        assert basins.max_curvature(typed, point) == pytest.approx(expected, rel=1e-9)


def test_concave_points_have_no_critical_lr_and_the_small_root_is_accurate():
    hill = circuits.to_landscape("-(x**2) - 3*y**2")
    assert basins.critical_lr(hill, [0.0, 0.0]) is None
    # [[-1e8, 0], [0, 1e-3]] from a typed function: λmax = 1e-3 survives −1e8 (no cancellation)
    ridge = circuits.to_landscape("-50000000*x**2 + 0.0005*y**2")
    assert basins.max_curvature(ridge, [0.0, 0.0]) == pytest.approx(1e-3, rel=1e-6)
    saddle = landscapes.get("saddle")
    assert basins.critical_lr(saddle, [0.0, 0.0]) == pytest.approx(
        2.0 / np.max(np.linalg.eigvalsh(saddle.hessian(np.zeros(2)))), rel=1e-15)


def test_critical_lr_needs_a_minimum_or_a_point():
    typed = circuits.to_landscape("x**2 + y**2")
    with pytest.raises(ValueError, match="no known minimum"):
        basins.critical_lr(typed)
    with pytest.raises(ValueError, match="point"):
        basins.critical_lr(typed, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not finite"):
        basins.critical_lr(circuits.to_landscape("log(x) + y**2"), [-1.0, 0.0])


def test_sweep_flips_from_converging_to_diverging_at_the_critical_lr():
    bowl = landscapes.get("bowl")
    # the y deviation is multiplied by 1 − 6η per step: −0.998 below, −1.002 above 1/3; x
    # shrinks by 1 − 2η ≈ 1/3 per step, so after a few steps only y's growth or decay shows
    sweep = basins.lr_sweep(bowl, "sgd", factors=(0.5, 0.999, 1.001, 2.0), steps=50)
    assert sweep.critical_lr == 1 / 3 and np.array_equal(sweep.start, bowl.start)
    outcomes = [run.outcome for run in sweep.runs]
    assert outcomes[1] == "oscillates" and outcomes[2] == "diverges"
    assert sweep.runs[1].run.diverged_at == -1 == sweep.runs[2].run.diverged_at
    assert sweep.runs[2].lr == pytest.approx(1.001 / 3)
    assert outcomes[0] == "converges" and outcomes[3] == "diverges"
    assert sweep.runs[3].run.diverged_at >= 0


def test_default_sweep_shows_the_four_regimes():
    for landscape_id in ("bowl", "booth"):
        sweep = basins.lr_sweep(landscapes.get(landscape_id))
        assert [run.outcome for run in sweep.runs] == [
            "converges slowly", "converges", "oscillates", "diverges", "diverges"]
        assert [run.factor for run in sweep.runs] == list(basins.SWEEP_FACTORS)


def test_sweep_arguments():
    bowl = landscapes.get("bowl")
    with pytest.raises(ValueError, match="4 to 6"):
        basins.lr_sweep(bowl, factors=(0.5, 1.5))
    with pytest.raises(ValueError, match="factors"):
        basins.lr_sweep(bowl, factors=(0.5, 1.0, -1.0, 2.0))
    with pytest.raises(ValueError, match="no known minimum"):
        basins.lr_sweep(circuits.to_landscape("x**2"))
    sweep = basins.lr_sweep(circuits.to_landscape("x**2 + 3*y**2"), point=[0.0, 0.0],
                            start=[1.0, 1.0], steps=20)
    assert len(sweep.runs) == 5 and sweep.runs[-1].outcome == "diverges"


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "newton"}, "unknown optimizer"),
    ({"lr": 0.0}, "lr must be finite and > 0"),
    ({"lr": -0.1}, "lr must be finite and > 0"),
    ({"lr": float("nan")}, "lr must be finite"),
    ({"lr": float("inf")}, "lr must be finite"),
    ({"lr": "0.1"}, "lr must be a number"),
    ({"n": 1}, "n must be between 2 and 400"),
    ({"n": 401}, "n must be between 2 and 400"),
    ({"n": 20.0}, "n must be an integer"),
    ({"steps": 0}, "steps must be between 1 and 2000"),
    ({"steps": 2001}, "steps must be between 1 and 2000"),
    ({"hyper": {"lr": 0.1}}, "pass the learning rate as lr"),
    ({"hyper": {"bogus": 1}}, "no hyperparameter"),
    ({"hyper": {"momentum": -1}}, "momentum"),
    ({"landscape": landscapes.curve("square")}, "2-D landscape"),
])
def test_bad_input_raises_value_error(kwargs, match):
    arguments = {"landscape": landscapes.get("bowl"), "optimizer": "sgd", "lr": 0.1, "n": 4,
                 "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        basins.basin_map(**arguments)


def test_a_schedule_is_a_learning_rate_too():
    bowl = landscapes.get("bowl")
    m = basins.basin_map(bowl, "sgd", optimizers.schedules.step_decay(0.1, 10, 0.5), n=5,
                         steps=30)
    assert m.counts[0] > 0


def test_himmelblau_preset_shows_four_big_basins():
    m = _preset("himmelblau-basins")
    shares = np.array([m.counts[k] for k in range(4)]) / m.labels.size
    assert np.all(shares > 0.2) and m.counts[-1] == 0 and m.counts[-2] < 0.02 * m.labels.size


def test_bowl_preset_diverges_off_the_x_axis():
    m = _preset("bowl-above-critical")
    y = m.starts[..., 1]
    assert np.all(m.labels[y != 0] == -1)
    assert np.count_nonzero(y == 0) == m.starts.shape[1] and np.all(m.labels[y == 0] == 0)


def test_rastrigin_preset_is_a_mosaic():
    m = _preset("rastrigin-fragments")
    assert len(m.centres) > 80 and m.counts[0] < 0.05 * m.labels.size
    assert np.count_nonzero(m.labels >= 0) > 0.9 * m.labels.size


def _preset(preset_id):
    preset = basins.PRESETS[preset_id]
    assert preset.landscape in landscapes.names() and preset.optimizer in optimizers.names()
    return basins.basin_map(landscapes.get(preset.landscape), preset.optimizer, preset.lr,
                            n=preset.n, steps=preset.steps)


def test_no_import_cycle_and_only_numpy_stdlib_and_optimizers():
    import ast
    import subprocess
    import sys
    from pathlib import Path

    for package, other in (("landscapes", "optimizers"), ("optimizers", "landscapes")):
        code = f"import sys, {package}; print(any(m.startswith('{other}') for m in sys.modules))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)
        assert done.stdout.strip() == "False", f"import {package} imports {other}"
    tree = ast.parse(Path(basins.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - sys.stdlib_module_names == {"numpy", "optimizers"}
