"""Lesson 2's basin map, critical η and learning-rate sweep (app/descent_stability.py)."""

import math
import re

import numpy as np
import pytest

import landscapes
from app import descent_stability
from app.descent import GradientDescent
from app.descent_stability import (
    NO_CRITICAL,
    OUTCOME_WORDS,
    SWEEP_STEPS,
    basin_color,
    paint,
    sweep_points,
)
from landscapes import basins


@pytest.fixture(autouse=True)
def fresh_cache():
    descent_stability.clear_cache()
    yield
    descent_stability.clear_cache()


def shown_image(panel):
    data = panel.map_source.data
    return np.asarray(data["image"][0]) if data["image"] else None


def all_finite(source):
    for name, column in source.data.items():
        for value in column:
            array = np.asarray(value)
            if array.dtype.kind in "fc" and not np.isfinite(array).all():
                return False, name
    return True, None


class HeldJobs:
    """A scheduler that keeps the map jobs until the test runs them (a slow worker)."""

    def __init__(self):
        self.jobs = []

    def __call__(self, job, deliver):
        self.jobs.append((job, deliver))

    def finish(self, index):
        job, deliver = self.jobs[index]
        deliver(job())


def test_the_basin_map_is_off_by_default_and_its_part_is_built_when_first_ticked():
    lesson = GradientDescent()
    panel = lesson.stability
    # off: only the checkbox (the renderer, presets, map steps and key cost every join)
    assert not panel.show_map and panel.map_renderer is None and panel.preset_select is None
    assert panel.controls.objects == [panel.map_toggle]
    assert not [r for r in lesson.landscape_figure.renderers if r.name == "basin-map"]
    panel.map_toggle.value = True
    assert panel.controls.objects == [panel.map_toggle, panel.preset_select,
                                      panel.map_steps_input, panel.key]
    assert panel.sweep_note is None and panel.view.objects == [panel.sweep_toggle]
    panel.map_toggle.value = False  # off again: the part stays, the map goes
    assert not panel.map_renderer.visible
    assert panel.map_source.data["image"] == []
    renderers = lesson.landscape_figure.renderers
    assert renderers.index(lesson.image_renderer) + 1 == renderers.index(panel.map_renderer)
    assert renderers.index(panel.map_renderer) + 1 == renderers.index(lesson.contours)
    assert panel.map_renderer.name == "basin-map"
    assert panel.map_source.name == "basin-map-image"


def test_switching_the_map_on_shows_basin_map_of_the_same_inputs():
    lesson = GradientDescent(landscape="himmelblau", optimizer="adam", learning_rate=0.1)
    panel = lesson.stability
    panel.map_toggle.value = True
    expected = basins.basin_map(landscapes.get("himmelblau"), "adam", 0.1,
                                n=panel.grid, steps=panel.map_steps, hyper={})
    assert np.array_equal(panel.map.labels, expected.labels)
    assert np.array_equal(shown_image(panel), paint(expected.labels, expected.centres))
    assert panel.map_renderer.visible
    # four basins, four colours; the key names each minimum with its share
    assert len(np.unique(shown_image(panel))) == 4
    assert "→ (3, 2): " in panel.key.object and "%" in panel.key.object
    (x0, x1), _ = landscapes.get("himmelblau").bounds
    data = panel.map_source.data
    cell = (x1 - x0) / (panel.grid - 1)
    assert data["x"][0] == pytest.approx(x0 - cell / 2)
    assert data["dw"][0] == pytest.approx(x1 - x0 + cell)


def test_a_new_learning_rate_or_optimizer_recomputes_the_map():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.show_map = True
    assert (panel.map.counts[0], panel.map.counts[basins.DIVERGED]) == (panel.grid ** 2, 0)
    lesson.learning_rate = 0.4  # above 1/3: everything off the x axis flies off
    expected = basins.basin_map(landscapes.get("bowl"), "sgd", 0.4, n=panel.grid,
                                steps=panel.map_steps)
    assert np.array_equal(panel.map.labels, expected.labels)
    assert panel.map.counts[basins.DIVERGED] > 0.9 * panel.grid ** 2
    assert "diverged: 99 %" in panel.key.object
    lesson.optimizer = "adam"
    assert panel.map.optimizer == "adam" and panel.map.lr == 0.4
    panel.map_steps = 20
    assert panel.map.steps == 20


def test_hyperparameters_reach_the_map():
    lesson = GradientDescent(optimizer="momentum", learning_rate=0.05)
    panel = lesson.stability
    panel.show_map = True
    lesson.hyperparameters = {"momentum": 0.5}
    assert panel.map.hyper == {"momentum": 0.5}
    expected = basins.basin_map(landscapes.get("bowl"), "momentum", 0.05, n=panel.grid,
                                steps=panel.map_steps, hyper={"momentum": 0.5})
    assert np.array_equal(panel.map.labels, expected.labels)


def test_a_stale_map_is_dropped_and_progress_shows_while_computing():
    lesson = GradientDescent()
    panel = lesson.stability
    held = panel.schedule = HeldJobs()
    panel.show_map = True
    assert panel.computing and "computing the basin map…" in panel.key.object
    lesson.learning_rate = 0.4  # a second request before the first one finished
    assert len(held.jobs) == 2
    held.finish(0)  # the η = 0.1 map arrives late: dropped
    assert panel.map is None and shown_image(panel) is None
    assert "computing the basin map…" in panel.key.object
    held.finish(1)
    assert panel.map.lr == 0.4 and not panel.computing
    assert "computing" not in panel.key.object
    held.finish(0)  # and once more, after the newer one: still dropped
    assert panel.map.lr == 0.4


def test_switching_the_map_off_drops_what_is_computing():
    lesson = GradientDescent()
    panel = lesson.stability
    held = panel.schedule = HeldJobs()
    panel.show_map = True
    panel.show_map = False
    held.finish(0)
    assert panel.map is None and not panel.map_renderer.visible
    assert panel.key.object == ""


def test_taps_move_the_start_while_the_map_computes():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.schedule = HeldJobs()
    panel.show_map = True
    lesson.place_start(1.0, 2.0)
    assert lesson.start_source.data == {"x": [1.0], "y": [2.0]}
    assert len(panel.schedule.jobs) == 1  # a new start does not change the map


def test_the_same_inputs_are_computed_once_per_process():
    first = GradientDescent(landscape="himmelblau").stability
    second = GradientDescent(landscape="himmelblau").stability
    first.show_map = True
    second.show_map = True
    assert second.map is first.map


def test_a_failing_map_says_why_and_shows_nothing(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise ValueError("n must be between 2 and 400, got 401")

    monkeypatch.setattr(basins, "basin_map", refuse)
    panel = GradientDescent().stability
    panel.show_map = True
    assert panel.map is None and not panel.map_renderer.visible
    assert "No basin map: n must be between 2 and 400" in panel.key.object


@pytest.mark.parametrize("preset", sorted(basins.PRESETS))
def test_a_preset_sets_landscape_optimizer_eta_and_steps_and_switches_the_map_on(preset):
    lesson = GradientDescent()
    panel = lesson.stability
    chosen = basins.PRESETS[preset]
    panel.build_map()  # as after ticking the map on and off: the presets are there
    panel.preset_select.value = preset
    assert (lesson.landscape, lesson.optimizer, lesson.learning_rate) == (
        chosen.landscape, chosen.optimizer, chosen.lr)
    assert (panel.map_steps, panel.grid) == (chosen.steps, chosen.n)
    assert panel.show_map and panel.preset_select.value == ""
    expected = basins.basin_map(landscapes.get(chosen.landscape), chosen.optimizer,
                                chosen.lr, n=chosen.n, steps=chosen.steps)
    assert np.array_equal(panel.map.labels, expected.labels)


def test_the_bowl_preset_leaves_only_the_x_axis_converging():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.build_map()
    panel.preset_select.value = "bowl-above-critical"
    labels = panel.map.labels
    middle = labels.shape[0] // 2
    assert (labels[middle] >= -2).all() and (labels[middle] != basins.DIVERGED).all()
    others = np.delete(labels, middle, axis=0)
    assert (others == basins.DIVERGED).all()
    image = shown_image(panel)
    assert len(np.unique(np.delete(image, middle, axis=0))) == 1  # all one colour: diverged


def test_a_new_landscape_gives_the_default_grid_back():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.build_map()
    panel.preset_select.value = "himmelblau-basins"
    lesson.landscape = "booth"
    assert panel.grid == descent_stability.MAP_GRID
    assert panel.map.labels.shape == (descent_stability.MAP_GRID,) * 2


def test_the_map_source_never_holds_inf_or_nan():
    lesson = GradientDescent(learning_rate=5.0)  # everything diverges
    panel = lesson.stability
    panel.show_map = True
    assert panel.map.counts[basins.DIVERGED] == panel.grid ** 2 - 1  # all but (0, 0) itself
    assert all_finite(panel.map_source) == (True, None)
    assert shown_image(panel).dtype == np.uint32


def test_colours_diverged_red_not_converged_grey_basins_distinct():
    assert basin_color(basins.DIVERGED) == descent_stability.DIVERGED_COLOR
    assert basin_color(basins.NOT_CONVERGED) == descent_stability.NOT_CONVERGED_COLOR
    colours = [basin_color(j) for j in range(len(descent_stability.BASIN_COLORS))]
    assert len(set(colours)) == len(colours)
    assert descent_stability.DIVERGED_COLOR not in colours


# ---- the critical learning rate --------------------------------------------------------------

def mark_percent(lesson):
    css = [s for s in lesson.lr_slider.stylesheets if "noUi-base::after" in str(s)]
    if not css:
        return None
    (only,) = css
    return float(re.search(r"left: ([0-9.]+)%", only).group(1))


def test_the_bowl_critical_eta_reads_0_3333_and_its_tick_sits_at_log10_one_third():
    lesson = GradientDescent()
    text = lesson.stability.critical.object
    assert "η* = 2/λmax = 0.3333" in text
    assert "oscillates outward and diverges" in text
    slider = lesson.lr_slider
    position = slider.start + mark_percent(lesson) / 100 * (slider.end - slider.start)
    assert position == pytest.approx(math.log10(1 / 3), abs=1e-5)


def test_the_curvature_at_the_start_follows_the_start():
    lesson = GradientDescent(landscape="himmelblau")
    lesson.place_start(0.0, 0.0)
    expected = basins.max_curvature(landscapes.get("himmelblau"), (0.0, 0.0))
    assert f"λmax at the start (0, 0): {descent_stability.fmt(expected)}" in (
        lesson.stability.critical.object)


def test_a_landscape_without_a_minimum_shows_no_critical_eta_and_no_tick():
    lesson = GradientDescent()
    lesson.landscape = "saddle"
    assert NO_CRITICAL in lesson.stability.critical.object
    assert mark_percent(lesson) is None
    lesson.landscape = "booth"
    assert "η* = 2/λmax = 0.1111" in lesson.stability.critical.object
    assert mark_percent(lesson) is not None


def test_a_critical_eta_beyond_the_slider_has_no_tick_but_says_so():
    lesson = GradientDescent(landscape="logistic")  # η* ≈ 22, the slider ends at 10
    assert mark_percent(lesson) is None
    assert "beyond the slider's range" in lesson.stability.critical.object


# ---- the learning-rate sweep -------------------------------------------------------------------

def test_the_sweep_labels_its_small_multiples_with_eta_and_outcome():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.sweep_toggle.value = True
    expected = basins.lr_sweep(landscapes.get("bowl"), "sgd", start=(4.0, 3.0),
                               steps=SWEEP_STEPS)
    figures = panel._sweep_figures
    assert len(figures) == len(expected.runs) and panel.sweep_box.visible
    titles = [(fig.title.text, verdict.text) for fig, verdict, *_ in figures]
    assert titles == [
        ("η = 0.01667 (0.05 η*)", "too low: crawls"),
        ("η = 0.1667 (0.5 η*)", "good: converges"),
        ("η = 0.3 (0.9 η*)", "oscillates"),
        ("η = 0.3667 (1.1 η*)", "diverges"),
        ("η = 0.6667 (2 η*)", "diverges"),
    ]
    assert [OUTCOME_WORDS[run.outcome] for run in expected.runs] == [t[1] for t in titles]
    for (_fig, _verdict, _contours, path, _marks), run in zip(figures, expected.runs,
                                                              strict=True):
        assert all_finite(path) == (True, None)
        assert path.data["x"][0] == 4.0
        if run.run.diverged_at < 0:
            assert np.array_equal(path.data["y"], run.run.points[:, 1])
        else:  # a diverged path ends at its last finite point
            assert len(path.data["x"]) == run.run.diverged_at


def test_the_sweep_is_plain_descent_around_the_minimum_nearest_the_start():
    lesson = GradientDescent(landscape="himmelblau", optimizer="adam")
    panel = lesson.stability
    panel.show_sweep = True
    lesson.place_start(-2.0, 2.0)  # nearest minimum: (-2.805, 3.131), not the first (3, 2)
    expected = basins.lr_sweep(landscapes.get("himmelblau"), "sgd", start=(-2.0, 2.0),
                               steps=SWEEP_STEPS, point=landscapes.get("himmelblau").minima[1])
    assert panel.sweep.start.tolist() == [-2.0, 2.0]
    assert panel.sweep.critical_lr == expected.critical_lr
    assert [run.outcome for run in panel.sweep.runs] == [run.outcome for run in expected.runs]
    # measured against the minimum it heads for, a good run does not read as flying off
    assert [run.outcome for run in expected.runs][:3] == ["converges", "converges", "oscillates"]
    assert "plain gradient descent (SGD)" in panel.sweep_note.object


def test_the_sweep_stops_without_a_minimum():
    lesson = GradientDescent()
    panel = lesson.stability
    panel.show_sweep = True
    lesson.landscape = "monkey-saddle"
    assert not panel.sweep_box.visible and NO_CRITICAL in panel.sweep_note.object


def test_sweep_points_stop_at_the_last_finite_point():
    run = basins.lr_sweep(landscapes.get("bowl"), "sgd", steps=200).runs[-1].run
    assert run.diverged_at > 0
    points = sweep_points(run)
    assert len(points) == run.diverged_at and np.isfinite(points).all()


def test_your_function_gets_its_own_basin_map_and_no_critical_eta():
    """The two halves of issue 15 meet: a typed f is mapped by clusters of end points."""
    lesson = GradientDescent()
    panel = lesson.stability
    panel.map_toggle.value = True
    text = "(x**2 - 4)**2 + y**2"   # two minima, at (±2, 0); nobody told the app
    assert lesson.use_function(text, (-4.0, 4.0, -3.0, 3.0)) == ""
    lesson.learning_rate = 0.02   # below 2/λmax = 2/32 at (±2, 0)
    expected = basins.basin_map(lesson.surface, lesson.optimizer, lesson.learning_rate,
                                n=panel.grid, steps=panel.map_steps, hyper={})
    assert np.array_equal(panel.map.labels, expected.labels)
    assert len(expected.centres) == 2
    assert np.allclose(sorted(expected.centres[:, 0]), [-2.0, 2.0], atol=0.05)
    assert np.array_equal(shown_image(panel), paint(expected.labels, expected.centres))
    assert NO_CRITICAL in panel.critical.object
    # a preset leaves the typed function for its registered landscape
    panel.preset_select.value = "himmelblau-basins"
    assert (lesson.landscape, lesson.function) == ("himmelblau", "")


def test_a_tap_does_not_recompute_the_critical_eta_only_the_curvature_at_the_start(monkeypatch):
    lesson = GradientDescent()
    panel = lesson.stability
    calls = []
    original = basins.critical_lr
    monkeypatch.setattr(basins, "critical_lr", lambda *a, **k: calls.append(a) or original(*a, **k))
    lesson.place_start(1.0, -1.0)
    assert calls == []
    assert "λmax at the start (1, -1)" in panel.critical.object
    assert "η* = 2/λmax = 0.3333" in panel.critical.object
    lesson.landscape = "rosenbrock"     # a new surface: its own η*
    assert len(calls) == 1


def test_lambda_max_follows_the_point_on_screen():
    lesson = GradientDescent(landscape="rosenbrock")
    panel = lesson.stability
    lesson.step()
    x, y = lesson.runs[0].points[1]
    expected = basins.max_curvature(lesson.surface, (x, y))
    assert (f"λmax at step 1 ({descent_stability.fmt(x, 3)}, {descent_stability.fmt(y, 3)}): "
            f"{descent_stability.fmt(expected)}") in panel.critical.object
    lesson.shown = 0
    assert "λmax at the start" in panel.critical.object


def test_a_tap_leaves_the_eta_sliders_stylesheets_alone():
    """The lecture appends presentation mode's stylesheet after the tick's: a tap must not
    re-send the slider's stylesheets (on a server that rebuilt models and walked the whole
    document on every tap)."""
    lesson = GradientDescent()
    slider = lesson.lr_slider
    slider.stylesheets = [*slider.stylesheets, ":host { --added-later: 1; }"]
    changes = []
    slider.param.watch(changes.append, "stylesheets")
    lesson.place_start(1.0, -1.0)
    lesson.place_start(-2.0, 2.0)
    lesson.step()
    assert changes == []
    lesson.landscape = "rosenbrock"   # a new surface: the tick moves, once
    assert len(changes) == 1
    ticks = [s for s in slider.stylesheets if "noUi-base::after" in str(s)]
    assert len(ticks) == 1 and ":host { --added-later: 1; }" in slider.stylesheets
