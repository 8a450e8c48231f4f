"""Lesson 2 without a browser: taps, steps, η, racers, divergence, bad input."""

import html
import math

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ModelChangedEvent
from bokeh.events import DoubleTap, Tap

import landscapes
import optimizers
from app.descent import (
    MAX_RACERS,
    GradientDescent,
    arrow_tips,
    check_learning_rate,
    fmt,
    loss_for_log_axis,
    snapped_loss_range,
)


def path(lesson, slot=0):
    data = lesson.path_sources[slot].data
    return np.column_stack([data["x"], data["y"]])


def test_defaults_are_the_bowl_from_4_3_with_eta_0_1_and_sgd():
    lesson = GradientDescent()
    assert (lesson.landscape, lesson.optimizer, lesson.learning_rate) == ("bowl", "sgd", 0.1)
    assert lesson.start == (4.0, 3.0)
    assert lesson.start_source.data == {"x": [4.0], "y": [3.0]}
    assert path(lesson).tolist() == [[4.0, 3.0]]
    assert "(x, y) = (4, 3)" in lesson.status.object and "loss <b>43</b>" in lesson.status.object


def test_one_step_lands_on_3_2_1_2_and_the_status_shows_it():
    lesson = GradientDescent()
    lesson.step()
    assert np.allclose(path(lesson), [[4.0, 3.0], [3.2, 1.2]], rtol=0, atol=1e-15)
    assert "step <b>1</b>" in lesson.status.object
    assert "(x, y) = (3.2, 1.2)" in lesson.status.object
    assert "loss <b>14.56</b>" in lesson.status.object
    assert "|∇L| 9.633" in lesson.status.object  # |(6.4, 7.2)|
    assert lesson.loss_sources[0].data["loss"].tolist() == pytest.approx([43.0, 14.56])


def test_the_hidden_shown_widget_is_how_the_browser_steps():
    lesson = GradientDescent()
    lesson.shown_input.value = 2  # what Step downhill's JavaScript does
    assert len(lesson.path_sources[0].data["x"]) == 3


def test_path_equals_optimizers_descend():
    lesson = GradientDescent(optimizer="adam", learning_rate=0.5, shown=30)
    run = optimizers.descend(
        landscapes.get("bowl"), optimizers.get("adam", lr=0.5), np.array([4.0, 3.0]), steps=100
    )
    assert np.array_equal(path(lesson), run.points[:31])
    assert np.array_equal(lesson.trajectory_source.data["x0"], run.points[:, 0])


@pytest.mark.parametrize("event_type", [Tap, DoubleTap])
def test_tap_and_double_tap_place_the_start(event_type):
    lesson = GradientDescent(shown=3)
    fig = lesson.landscape_figure
    fig._trigger_event(event_type(fig, x=-2.0, y=1.5))
    assert lesson.start == (-2.0, 1.5)
    assert lesson.start_source.data == {"x": [-2.0], "y": [1.5]}
    p = path(lesson)
    assert len(p) == 4  # the same number of steps, now from the new start
    assert p[0].tolist() == [-2.0, 1.5]
    assert np.allclose(p[1], [-2.0 * 0.8, 1.5 * 0.4])


def test_changing_eta_recomputes_the_path_from_the_same_start_at_once():
    lesson = GradientDescent(shown=4)
    lesson.learning_rate = 0.3
    ys = path(lesson)[:, 1]
    assert np.allclose(ys, 3.0 * (-0.8) ** np.arange(5))  # 1 − 6η = −0.8: zig-zag
    assert path(lesson)[0].tolist() == [4.0, 3.0]


def test_eta_0_4_diverges_at_step_45_and_nothing_infinite_reaches_a_plot():
    lesson = GradientDescent(learning_rate=0.4)
    lesson.shown = 60
    assert "diverged at step 45" in lesson.status.object
    p = path(lesson)
    assert np.isfinite(p[:45]).all() and np.isnan(p[45:]).all()
    for source in (*lesson.path_sources, *lesson.loss_sources, lesson.trajectory_source,
                   lesson.arrow_source):
        for column in source.data.values():
            values = np.asarray(column, dtype=float)
            assert not np.isinf(values).any()
    assert lesson.arrow_source.data["x0"] == []  # no arrow at a diverged point


def test_reset_shows_only_the_start_again():
    lesson = GradientDescent(shown=5)
    lesson.reset()
    assert path(lesson).tolist() == [[4.0, 3.0]]


def test_step_beyond_the_budget_extends_it():
    lesson = GradientDescent(steps=2, shown=2)
    lesson.step()
    assert (lesson.steps, lesson.shown) == (3, 3)
    assert len(path(lesson)) == 4


def test_racers_each_get_a_path_a_loss_curve_and_a_legend_entry():
    lesson = GradientDescent(shown=10)
    lesson.race_choice.value = ["momentum", "adam", "lion"]
    assert lesson.racers == ["momentum", "adam", "lion"]
    assert len(lesson.runs) == MAX_RACERS
    labels = [item.label["value"] for item in lesson.landscape_figure.legend.items
              if item.visible]
    assert labels[1:5] == ["SGD", "Momentum", "Adam", "Lion"]
    assert [tag["label"] for tag in lesson.trajectory_source.tags] == [
        "SGD, η = 0.1", "Momentum, η = 0.1", "Adam, η = 0.1", "Lion, η = 0.1"]
    for slot in range(MAX_RACERS):
        assert len(lesson.path_sources[slot].data["x"]) == 11
        assert lesson.path_renderers[slot].visible
        assert lesson.loss_renderers[slot].visible
        color = lesson.path_renderers[slot].glyph.line_color
        assert lesson.loss_renderers[slot].glyph.line_color == color
    assert len(set(r.glyph.line_color for r in lesson.path_renderers)) == MAX_RACERS
    lesson.race_choice.value = []
    assert not lesson.path_renderers[1].visible
    assert lesson.path_sources[1].data == {"x": [], "y": []}


def test_optimizer_hyperparameters_come_from_the_optimizer_and_change_the_path():
    lesson = GradientDescent(shown=5)
    lesson.optimizer = "momentum"
    labels = {w.label: w.value for w in lesson.hyper_widgets}
    assert labels["Momentum"] == 0.9 and labels["Nesterov"] is False
    before = path(lesson).copy()
    momentum = next(w for w in lesson.hyper_widgets if w.label == "Momentum")
    momentum.value = 0.5
    assert lesson.hyperparameters == {"momentum": 0.5}
    assert not np.array_equal(before, path(lesson))
    expected = optimizers.descend(
        landscapes.get("bowl"), optimizers.get("momentum", lr=0.1, momentum=0.5),
        np.array([4.0, 3.0]), steps=5,
    )
    assert np.array_equal(path(lesson), expected.points)


def test_adam_betas_are_editable():
    lesson = GradientDescent(optimizer="adam", shown=3)
    beta2 = next(w for w in lesson.hyper_widgets if w.label == "β₂")
    beta2.value = 0.9
    assert lesson.hyperparameters == {"betas": (0.9, 0.9)}


def test_an_invalid_hyperparameter_shows_the_optimizers_message_and_changes_nothing():
    lesson = GradientDescent(optimizer="nesterov", shown=3)
    before = path(lesson).copy()
    momentum = next(w for w in lesson.hyper_widgets if w.label == "Momentum")
    momentum.value = 0.0
    assert "Nesterov momentum needs momentum &gt; 0" in lesson.message.object
    assert lesson.hyperparameters == {}
    assert np.array_equal(before, path(lesson))


@pytest.mark.parametrize("typed", [float("nan"), -1.0, 0.0, 1e6, float("inf"), None])
def test_bad_typed_eta_gives_a_message_and_nothing_else_changes(typed):
    lesson = GradientDescent(shown=3)
    before = path(lesson).copy()
    lesson.lr_input.value = typed
    assert "η must" in lesson.message.object or "Type a number" in lesson.message.object
    assert lesson.learning_rate == 0.1
    assert lesson.lr_input.value == 0.1
    assert np.array_equal(before, path(lesson))


def test_a_good_typed_eta_moves_the_slider_and_clears_the_message():
    lesson = GradientDescent(shown=3)
    lesson.lr_input.value = -1.0
    lesson.lr_input.value = 0.3
    assert lesson.learning_rate == 0.3
    assert lesson.message.object == ""
    assert math.isclose(lesson.lr_slider.value, math.log10(0.3))


def test_the_log_slider_sets_eta_to_ten_to_its_position():
    lesson = GradientDescent()
    lesson.lr_slider.value = -2.0
    assert lesson.learning_rate == 0.01
    assert lesson.lr_input.value == 0.01


def test_landscape_picker_redraws_the_map_and_uses_its_start_and_eta():
    lesson = GradientDescent(shown=4)
    lesson.landscape = "rosenbrock"
    rosenbrock = landscapes.get("rosenbrock")
    assert lesson.start == rosenbrock.start and lesson.learning_rate == rosenbrock.lr
    assert lesson.shown == 0
    assert lesson.image_renderer.glyph.color_mapper is lesson.log_mapper
    assert lesson.minima_source.data["x"].tolist() == [1.0]
    assert (lesson.landscape_figure.x_range.start, lesson.landscape_figure.x_range.end) == (
        -2.0, 2.0)
    image = lesson.image_source.data["image"][0]
    assert image.shape == (160, 160) and np.isfinite(image).all() and (image > 0).all()
    assert len(lesson.contours.line_renderer.data_source.data["xs"]) > 0


def test_notebook_style_construction_on_rosenbrock():
    lesson = GradientDescent(landscape="rosenbrock")
    assert lesson.start == (-1.2, 1.0) and lesson.learning_rate == 0.001
    assert lesson.image_renderer.glyph.color_mapper is lesson.log_mapper


def test_a_saddle_without_a_minimum_plots_the_loss_on_a_linear_axis():
    lesson = GradientDescent(landscape="saddle", shown=20)
    assert type(lesson.loss_figure.y_scale).__name__ == "LinearScale"
    assert np.array_equal(lesson.loss_sources[0].data["loss"], lesson.runs[0].losses[:21])


def test_every_landscape_and_optimizer_draws_without_non_finite_image_values():
    lesson = GradientDescent()
    for name in landscapes.names():
        lesson.landscape = name
        image = lesson.image_source.data["image"][0]
        assert np.isfinite(image).all(), name
    for name in optimizers.names():
        lesson.optimizer = name
        lesson.shown = 10
        assert len(lesson.path_sources[0].data["x"]) == 11


def test_arrow_points_along_minus_the_gradient_with_a_fixed_length():
    tips = arrow_tips(np.array([[4.0, 3.0], [0.0, 0.0]]), np.array([[8.0, 18.0], [0.0, 0.0]]),
                      length=1.0)
    direction = tips[0] - [4.0, 3.0]
    assert math.isclose(np.hypot(*direction), 1.0)
    assert math.isclose(direction[1] / direction[0], 18.0 / 8.0) and direction[0] < 0
    assert np.isnan(tips[1]).all()  # no direction at a flat point


def test_loss_for_log_axis_turns_non_positive_gaps_into_nan():
    out = loss_for_log_axis([3.0, 1.0, 0.5], 1.0)
    assert out[0] == 2.0 and math.isnan(out[1]) and math.isnan(out[2])


def test_check_learning_rate():
    assert check_learning_rate("0.3") == (0.3, "")
    assert check_learning_rate(20)[0] is None


def test_fmt_prints_four_significant_digits_without_noise():
    assert [fmt(3.2), fmt(14.56), fmt(9.632757), fmt(1e-5), fmt(123456.0), fmt(0.0)] == [
        "3.2", "14.56", "9.633", "1e-5", "1.235e5", "0"]


def test_loss_axis_covers_the_whole_precomputed_path():
    lesson = GradientDescent()
    y_range = lesson.loss_figure.y_range
    # Whole decades around [min / 2, 2 · 43]: from (4, 3) the loss starts at 43.
    low = 10.0 ** np.floor(np.log10(np.nanmin(lesson.runs[0].losses) / 2))
    assert (y_range.start, y_range.end) == (pytest.approx(low), pytest.approx(100.0))
    lesson.landscape = "saddle"
    losses = lesson.runs[0].losses
    assert lesson.loss_figure.y_range.start < np.nanmin(losses)
    assert lesson.loss_figure.y_range.end > np.nanmax(losses)


def test_loss_ranges_snap_to_decades_on_a_log_axis_and_to_round_steps_on_a_linear_one():
    assert snapped_loss_range(0.0031, 86.0, log=True) == (0.001, 100.0)
    assert snapped_loss_range(1e-12, 1.0, log=True) == (pytest.approx(1e-12), 1.0)
    assert snapped_loss_range(0.0, 1.0, log=True) == (pytest.approx(1e-300), 1.0)  # underflow
    assert snapped_loss_range(-23.4, 41.2, log=False) == (-30.0, 50.0)
    assert snapped_loss_range(0.12, 0.57, log=False) == (pytest.approx(0.1), pytest.approx(0.6))
    assert snapped_loss_range(2.0, 2.0, log=False) == (2.0, 2.0)


def test_a_long_budget_whose_loss_underflows_still_gets_a_log_axis():
    lesson = GradientDescent()
    lesson.steps = 2000
    assert len(lesson.trajectory_source.data["step"]) == 2001
    assert 0 < lesson.loss_figure.y_range.start < lesson.loss_figure.y_range.end == 100.0


def test_nearby_starts_keep_the_loss_axis_where_it_was():
    lesson = GradientDescent()
    before = (lesson.loss_figure.y_range.start, lesson.loss_figure.y_range.end)
    lesson.place_start(4.1, 2.9)
    assert (lesson.loss_figure.y_range.start, lesson.loss_figure.y_range.end) == before


def test_the_status_is_an_html_pane_named_landscape_status_holding_escaped_html():
    lesson = GradientDescent()
    root = lesson.__panel__().get_root(Document())
    model = root.select_one({"name": "landscape-status"})
    assert model is not None and "BkDiv" not in type(model).__name__
    assert html.unescape(model.text) == lesson.status.object
    lesson.step()
    assert "step <b>1</b>" in html.unescape(model.text)


def test_a_new_eta_leaves_the_legend_labels_alone():
    lesson = GradientDescent()
    lesson.race_choice.value = ["adam"]
    items = [item for item in lesson.landscape_figure.legend.items if item.visible]
    labels = [item.label["value"] for item in items]
    lesson.learning_rate = 0.05
    assert [item.label["value"] for item in items] == labels == ["minimum", "SGD", "Adam",
                                                                 "start (tap to move)"]
    assert "η = 0.05" in lesson.status.object


def test_a_tap_changes_the_path_before_the_trajectory_and_the_axes():
    """Each change travels as a message of its own; the path the student watches goes first."""
    lesson = GradientDescent()
    doc = Document()
    doc.add_root(lesson.__panel__().get_root(doc))
    changed = []

    def record(event):
        if isinstance(event, ColumnDataChangedEvent | ModelChangedEvent):
            changed.append(event.model.name or type(event.model).__name__)

    doc.on_change(record)
    lesson.place_start(-2.0, 1.0)
    assert changed.index("landscape-path") < changed.index("landscape-trajectory")
    assert changed.index("landscape-start") < changed.index("landscape-trajectory")
    assert "loss-curve-2" not in changed  # idle racers' empty sources are not sent again


def test_two_sessions_share_one_computation_of_a_landscapes_picture(monkeypatch):
    """The heatmap and contour lines are the same for every student: computed once per
    process, shared read-only, while each session keeps its own sources."""
    from bokeh.plotting import contour

    from app import descent_figures

    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return contour.contour_data(*args, **kwargs)

    monkeypatch.setattr(descent_figures, "contour_data", counted)
    descent_figures.landscape_picture.cache_clear()
    first = GradientDescent(landscape="rosenbrock")
    second = GradientDescent(landscape="rosenbrock")
    assert len(calls) == 1
    one, two = (lesson.image_source.data["image"][0] for lesson in (first, second))
    assert one is two and not one.flags.writeable
    lines = [lesson.contours.line_renderer.data_source for lesson in (first, second)]
    assert lines[0] is not lines[1] and lines[0].data["xs"] is not lines[1].data["xs"]
    assert all(not xs.flags.writeable for xs in lines[0].data["xs"])
    # What ContourRenderer.set_data would draw from the same contour_data.
    expected = contour.contour_data(*calls[0], want_fill=False).line_data
    assert len(lines[0].data["xs"]) == len(expected.xs) > 0
    for got, want in zip(lines[0].data["xs"], expected.xs, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(lines[0].data["levels"], expected.levels)
    first.landscape = "bowl"  # a change of landscape uses (and fills) the cache too
    assert len(calls) == 2
    assert first.image_source.data["image"][0] is descent_figures.landscape_picture("bowl").image



def test_racers_2_to_4_are_built_when_a_race_first_needs_them():
    """Each join pays for every Bokeh model: racers 2-4's sources, lines, dots and legend
    entries (~15 models each) come when a race first needs them, from a link too."""
    lesson = GradientDescent()
    assert [s.name for s in lesson.path_sources] == ["landscape-path"]
    assert [s.name for s in lesson.loss_sources] == ["loss-curve"]
    sources = {getattr(r, "data_source", None) for r in lesson.landscape_figure.renderers}
    assert {s.name for s in sources if s is not None} >= {"landscape-path"}
    assert not any(s is not None and s.name == "landscape-path-2" for s in sources)
    lesson.race_choice.value = ["adam"]
    assert [s.name for s in lesson.path_sources] == ["landscape-path", "landscape-path-2"]
    renderers = lesson.landscape_figure.renderers
    assert renderers.index(lesson.path_renderers[1]) < renderers.index(lesson.start_renderer)
    assert lesson.path_renderers[1] in lesson.to_overlay.args["moving"]
    assert lesson.loss_renderers[1] in lesson.loss_figure.renderers
    lesson.race_choice.value = []  # off again: kept, hidden
    assert len(lesson.path_sources) == 2 and not lesson.path_renderers[1].visible
    linked = GradientDescent.from_settings({"racers": ["momentum", "adam", "lion"]})
    assert [s.name for s in linked.loss_sources] == [
        "loss-curve", "loss-curve-2", "loss-curve-3", "loss-curve-4"]
    assert [item.label["value"] for item in linked.loss_figure.legend.items] == [
        "SGD", "Momentum", "Adam", "Lion"]


def test_a_new_lesson_2_stays_within_its_model_budget():
    """Every Bokeh model costs server CPU on each join (~0.8 ms: a hall student opens
    ?tab=descent). Lesson 2 held 294 before its unseen parts were built when first needed and
    its renderers made lean (theme.SharedModels): a renderer is its glyph alone, the sources
    share one selection."""
    lesson = GradientDescent()
    doc = Document()
    doc.add_root(lesson.__panel__().get_root(doc))
    assert len(doc.models) <= 165, len(doc.models)
    for renderer in lesson.path_renderers + lesson.loss_renderers + [lesson.image_renderer]:
        assert renderer.nonselection_glyph == "auto" and renderer.muted_glyph == "auto"
    assert len({s.selected.id for s in (*lesson.path_sources, lesson.start_source,
                                        lesson.image_source, lesson.trajectory_source)}) == 1
