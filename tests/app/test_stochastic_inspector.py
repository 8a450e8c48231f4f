"""Lesson 4's "Inside the optimizer" (issue 16): the followed path's state inspector, the
narrated step and the two arrows on the loss map, server side."""

import html
import re

import pytest

pytest.importorskip("panel")  # `make oracle` collects in a venv without panel

import numpy as np  # noqa: E402

import landscapes  # noqa: E402
import optimizers  # noqa: E402
from app.descent_view import fmt as value_text  # noqa: E402
from app.stochastic import (  # noqa: E402
    MAX_STEPS,
    PATH_TITLES,
    PATHS,
    SCHEDULES,
    StochasticAdaptive,
    _schedule,
)

LINE_FIT = landscapes.get("line-fit")
SADDLE = landscapes.get("plateau-saddle")
SIZES = {"full": None, "mini": 8, "sgd": 1}


@pytest.fixture
def lesson():
    return StochasticAdaptive()


def table_rows(lesson):
    """{key: [numbers as shown]} from the inspector's table HTML."""
    return table_rows_of(lesson.inspector)


def table_rows_of(inspector):
    text = inspector.table.object
    rows = {}
    for key, body in re.findall(r"<tr data-key='([^']+)'>(.*?)</tr>", text):
        rows[key] = [html.unescape(cell) for cell in
                     re.findall(r"<td class='number'[^>]*>(.*?)</td>", body)]
    return rows


def shown(values):
    return [value_text(v) for v in np.atleast_1d(values)]


def arrow(source):
    data = source.data
    return {column: list(data[column]) for column in ("x0", "y0", "x1", "y1")}


def replay(lesson, key, k):
    """The followed run rebuilt by hand from the optimizer's own init/step and the run's
    batches: (w_k, the gradient step k used, the state after k + 1 updates, w_{k+1})."""
    opt = optimizers.get("sgd", lr=_schedule(lesson.schedule, lesson.learning_rate),
                         clip_norm=lesson.clip_norm if lesson.clip else None)
    run = lesson.runs[key]
    params = np.asarray(lesson.start, dtype=np.float64)
    state = opt.init(params)
    for step in range(k + 1):
        batch = None if SIZES[key] is None else run.batches[step]
        grad = LINE_FIT.grad(params) if batch is None else LINE_FIT.grad(params, batch=batch)
        before = params
        params, state = opt.step(params, grad, state)
    return before, grad, state, params


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("key", PATHS)
def test_the_inspected_trace_is_the_drawn_run_bit_for_bit(lesson, key, schedule):
    lesson.param.update(inspect=True, follow=PATH_TITLES[key], schedule=schedule, seed=7,
                        clip=schedule == "Cosine")
    trail = lesson.followed_trace()
    np.testing.assert_array_equal(trail.points, lesson.runs[key].points)
    lesson.step = 60
    drawn = lesson.path_sources[key].data
    np.testing.assert_array_equal(trail.points[:61, 0], drawn["x"])
    np.testing.assert_array_equal(trail.points[:61, 1], drawn["y"])


@pytest.mark.parametrize("settings", [
    {},
    {"schedule": "Warmup + cosine", "batch_size": 5, "seed": 3},
    {"clip": True, "clip_norm": 0.3, "schedule": "Step decay"},
])
@pytest.mark.parametrize("key", PATHS)
def test_the_table_shows_the_optimizers_own_numbers_at_several_steps(lesson, key, settings):
    lesson.param.update(inspect=True, follow=PATH_TITLES[key], **settings)
    lesson.runs[key]  # the drawn run
    for k in (0, 1, 17, 80, MAX_STEPS - 1):
        lesson.step = k
        report = lesson.inspected_report()
        before, grad, state, after = replay(lesson, key, k)
        assert report.step == k
        # the optimizer's own state object after the step, as the report carries it
        assert report.updated.t == state.t == k + 1
        np.testing.assert_array_equal(report.point, before)
        np.testing.assert_array_equal(report.next_point, after)
        np.testing.assert_array_equal(report.raw_grad, grad)  # the mini-batch's, raw
        rows = table_rows(lesson)
        assert rows["g"] == shown(report.grad)
        assert rows["delta"] == shown(after - before)
        assert rows["lr"] == shown(lesson.schedule_source.data["lr"][k])
        assert "effective_lr" in rows and "rule_lr" in rows
        assert f"step {k} → {k + 1}" in lesson.inspector.table.object


def test_the_mini_batch_gradient_is_the_highlighted_batchs(lesson):
    lesson.param.update(inspect=True, follow="Mini-batch", batch_size=4, seed=11)
    lesson.step = 9
    batch = lesson.next_batch()
    assert list(np.flatnonzero(lesson.data_source.data["in_batch"])) == sorted(batch)
    np.testing.assert_array_equal(lesson.inspected_report().raw_grad,
                                  LINE_FIT.grad(lesson.runs["mini"].points[9], batch=batch))
    assert "B_k" in lesson.inspected_report().quantity("g").formula


@pytest.mark.parametrize("key", PATHS)
def test_the_step_arrow_ends_at_the_next_drawn_point(lesson, key):
    lesson.param.update(inspect=True, follow=PATH_TITLES[key])
    for k in (0, 4, 33):
        lesson.step = k
        step_arrow = arrow(lesson.step_arrow_source)
        lesson.step = k + 1
        drawn = lesson.path_sources[key].data
        assert step_arrow == {"x0": [drawn["x"][k]], "y0": [drawn["y"][k]],
                              "x1": [drawn["x"][k + 1]], "y1": [drawn["y"][k + 1]]}


def test_the_gradient_arrow_points_downhill_on_all_the_data(lesson):
    lesson.param.update(inspect=True, follow="SGD")
    lesson.step = 12
    point = lesson.runs["sgd"].points[12]
    a = arrow(lesson.gradient_arrow_source)
    assert (a["x0"][0], a["y0"][0]) == tuple(point)
    direction = np.array([a["x1"][0] - a["x0"][0], a["y1"][0] - a["y0"][0]])
    downhill = -LINE_FIT.grad(point)
    cosine = direction @ downhill / np.linalg.norm(direction) / np.linalg.norm(downhill)
    assert cosine == pytest.approx(1.0, abs=1e-12)
    (m0, m1), (b0, b1) = LINE_FIT.bounds
    assert np.linalg.norm(direction) == pytest.approx(0.14 * min(m1 - m0, b1 - b0))


@pytest.mark.parametrize("lr", [0.2, 1.0])
@pytest.mark.parametrize("key", PATHS)
def test_arrows_and_table_never_hold_inf_or_nan(lesson, key, lr):
    lesson.param.update(inspect=True, follow=PATH_TITLES[key], learning_rate=lr, batch_size=2)
    for k in range(0, MAX_STEPS + 1, 7):
        lesson.step = k
        for source in (lesson.step_arrow_source, lesson.gradient_arrow_source):
            values = np.array([v for column in arrow(source).values() for v in column], float)
            assert np.isfinite(values).all()
        cells = [cell.lower() for row in table_rows(lesson).values() for cell in row]
        assert cells and not any("inf" in cell or "nan" in cell for cell in cells)
    traj = lesson.trajectory_source.data
    drawn_tips = np.asarray(traj[f"ax_{key}"])
    assert not np.isinf(drawn_tips).any()


def test_a_diverged_run_has_no_arrows_and_says_so(lesson):
    lesson.param.update(inspect=True, follow="SGD", learning_rate=1.0, batch_size=2)
    diverged_at = int(lesson.runs["sgd"].diverged_at)
    assert 0 < diverged_at < MAX_STEPS
    lesson.step = diverged_at
    assert arrow(lesson.step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert arrow(lesson.gradient_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert f"diverged at step {diverged_at}" in lesson.narration.text


def test_the_last_step_has_no_step_to_explain(lesson):
    lesson.inspect = True
    lesson.step = MAX_STEPS
    assert lesson.inspected_report() is None
    assert arrow(lesson.step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert len(lesson.gradient_arrow_source.data["x0"]) == 1  # downhill is still shown
    assert "no next step" in lesson.narration.text


def test_the_narrated_step_is_under_the_figure_and_in_the_live_status(lesson):
    lesson.inspect = True
    lesson.step = 3
    sentence = lesson.narration_text()
    assert sentence.startswith("Mini-batch (8), step 3 → 4: The slope points")
    assert "mini-batch's gradient g points" in sentence
    assert lesson.narration.text == f"<div class='minibatch-status'>{sentence}</div>"
    assert lesson.status_text().endswith(sentence)
    lesson.follow = "Full batch"
    assert "straight downhill" in lesson.narration_text()
    assert "mini-batch" not in lesson.narration_text()


def test_switched_off_it_does_no_work(lesson, monkeypatch):
    calls = []
    real_trace = optimizers.trace
    monkeypatch.setattr(optimizers, "trace", lambda *a, **k: calls.append(a) or real_trace(*a, **k))
    placeholder = lesson.inspector.table.object
    for k in (1, 2, 30):
        lesson.step = k
    lesson.seed = 4
    lesson.follow = "SGD"
    assert calls == []
    assert not lesson.inspector_panel.visible
    assert lesson.inspector.table.object == placeholder
    assert lesson.narration.text == ""
    assert arrow(lesson.step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert arrow(lesson.gradient_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert not any(column.startswith("ax_") for column in lesson.trajectory_source.data)
    assert "step 30 → 31" not in lesson.status_text()

    lesson.inspect = True
    # one trace for the followed path, one for the saddle's inspected racer
    assert sorted(call[0].title for call in calls) == sorted([LINE_FIT.title, SADDLE.title])
    calls[:] = [call for call in calls if call[0].title == LINE_FIT.title]
    assert lesson.inspector_panel.visible
    assert {"ax_full", "ay_full", "ax_mini", "ay_mini", "ax_sgd", "ay_sgd"} <= set(
        lesson.trajectory_source.data)
    lesson.step = 31  # the same settings and path: traced once
    assert len(calls) == 1
    lesson.inspect = False
    lesson.step = 32
    lesson.batch_size = 6
    assert len(calls) == 1
    assert arrow(lesson.step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert not any(column.startswith("ax_") for column in lesson.trajectory_source.data)


def test_a_new_setting_or_followed_path_traces_afresh(lesson):
    lesson.inspect = True
    lesson.step = 5
    mini = lesson.followed_trace()
    lesson.follow = "SGD"
    assert lesson.followed_trace() is not mini
    np.testing.assert_array_equal(lesson.followed_trace().points, lesson.runs["sgd"].points)
    lesson.learning_rate = 0.1
    np.testing.assert_array_equal(lesson.followed_trace().points, lesson.runs["sgd"].points)
    assert lesson.inspected_report().lr == 0.1


def test_the_inspector_has_its_own_model_names(lesson):
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        doc.add_root(lesson.__panel__().get_root(doc))
    names = ("stochastic-state-inspector", "stochastic-step-arrow", "stochastic-gradient-arrow",
             "stochastic-step-arrow-annotation", "stochastic-gradient-arrow-annotation",
             "stochastic-narration")
    for name in names:
        assert len(list(doc.select({"name": name}))) == 1, name
    for name in ("state-inspector", "step-arrow", "gradient-arrow"):
        assert not list(doc.select({"name": name}))


# ---- the saddle race's selected racer

RACER_STATE = {  # the table's rows straight from each racer's own state object (after the step)
    "sgd": {},
    "momentum": {"velocity": "momentum_buffer"},
    "rmsprop": {"square_avg": "square_avg"},
    "adam": {"m": "exp_avg", "v": "exp_avg_sq"},
}


@pytest.mark.parametrize("racer", sorted(RACER_STATE))
def test_the_race_inspector_shows_each_racers_own_state(lesson, racer):
    from app.stochastic import RACER_TITLES

    lesson.param.update(inspect=True, inspect_racer=RACER_TITLES[racer])
    opt = optimizers.get(racer, lr=lesson.race_learning_rate)
    params = np.asarray(SADDLE.start, dtype=np.float64)
    state = opt.init(params)
    np.testing.assert_array_equal(lesson.race_trace().points, lesson.race[racer].points)
    checked = 0
    for k in range(lesson.race_steps):
        before = params
        params, state = opt.step(params, SADDLE.grad(params), state)
        if k not in (0, 1, 25, 90, lesson.race_steps - 1):
            continue
        lesson.race_step = k
        report = lesson.race_report()
        rows = table_rows_of(lesson.race_inspector)
        assert rows["g"] == shown(SADDLE.grad(before))
        assert rows["delta"] == shown(params - before)
        for key, field in RACER_STATE[racer].items():
            assert rows[key] == shown(getattr(state, field)), (k, key)
        assert report.updated.t == state.t == k + 1
        drawn = lesson.race_sources[racer].data
        step_arrow = arrow(lesson.race_step_arrow_source)
        assert (step_arrow["x1"], step_arrow["y1"]) == ([drawn["x"][k + 1]], [drawn["y"][k + 1]])
        gradient = arrow(lesson.race_gradient_arrow_source)
        assert (gradient["x0"], gradient["y0"]) == ([drawn["x"][k]], [drawn["y"][k]])
        assert lesson.race_narration.text.startswith(
            f"<div class='minibatch-status'>{RACER_TITLES[racer]}, step {k} → {k + 1}: ")
        checked += 1
    assert checked == 5


def test_the_race_inspector_follows_a_new_race_and_is_off_by_default(lesson, monkeypatch):
    calls = []
    real_trace = optimizers.trace
    monkeypatch.setattr(optimizers, "trace", lambda *a, **k: calls.append(a) or real_trace(*a, **k))
    lesson.race_step = 10
    lesson.inspect_racer = "Momentum"
    lesson.race_learning_rate = 0.1
    assert calls == [] and not lesson.race_inspector_panel.visible
    assert arrow(lesson.race_step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    lesson.inspect = True
    assert lesson.race_inspector_panel.visible and lesson.race_inspect_controls.visible
    assert lesson.race_report().lr == 0.1
    lesson.race_steps = 20  # a shorter race: the inspected step stays inside it
    lesson.race_step = 20
    assert lesson.race_report() is None
    assert "no next step" in lesson.race_narration.text
    assert arrow(lesson.race_step_arrow_source) == {"x0": [], "y0": [], "x1": [], "y1": []}
    assert lesson.race_step_slider.end == 20


def test_a_setting_typed_wrong_keeps_the_inspector_on_the_drawn_runs(lesson):
    lesson.param.update(inspect=True, step=6, follow="SGD")  # the mini-batch: not traced yet
    lesson.learning_rate = None  # a cleared box: a message, the runs stay
    lesson.batch_size = 5       # not used while the learning rate is missing
    lesson.seed = None
    assert lesson.message.visible
    for title, key in (("Mini-batch", "mini"), ("SGD", "sgd")):
        lesson.follow = title
        np.testing.assert_array_equal(lesson.followed_trace().points, lesson.runs[key].points)
        assert lesson.inspected_report().lr == 0.2
    lesson.race_learning_rate = None
    lesson.inspect_racer = "RMSprop"
    np.testing.assert_array_equal(lesson.race_trace().points, lesson.race["rmsprop"].points)
