"""Issue 16 in lesson 2, server side: the inspector shows the optimizer's own state, the history
slider scrubs without recomputing, taps on dots jump, the quiz scores guesses, the narration
reaches the live status, and `at`/`inspect`/`quiz` links round-trip (hostile ones refused)."""

import html
import re

import numpy as np
import pytest
from bokeh.events import DoubleTap, Tap

import landscapes
import optimizers
from app import url_state
from app.descent import GradientDescent
from app.descent_inside import ASSUMED_FRAME_PX, TAP_TOLERANCE_PX
from app.inspector import value_text

BOWL = landscapes.get("bowl")


def rows(text):
    """{key: [cell texts]} read back from the inspector's HTML."""
    found = {}
    for key, body in re.findall(r"<tr data-key='([^']+)'>(.*?)</tr>", text):
        found[key] = [html.unescape(c) for c in
                      re.findall(r"<td class='number'[^>]*>(.*?)</td>", body)]
    return found


def own_steps(name, lr, start, k, landscape=BOWL):
    """Step optimizers.get(name).step by hand: the params and state after k and k + 1 steps."""
    opt = optimizers.get(name, lr=lr)
    params = np.array(start, dtype=float)
    state = opt.init(params)
    for _ in range(k):
        params, state = opt.step(params, landscape.grad(params), state)
    after, after_state = opt.step(params, landscape.grad(params), state)
    return params, state, after, after_state


def assert_same_state(shown, own):
    """The same state; the trace keeps descend()'s (1, d) arrays of one run."""
    assert type(shown) is type(own)
    for field in own._fields:
        a, b = getattr(shown, field), getattr(own, field)
        if b is None:
            assert a is None, field
            continue
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        assert a.reshape(b.shape).shape == b.shape, field
        assert np.allclose(a.reshape(b.shape), b, rtol=1e-12, atol=0, equal_nan=True), field


def tap(lesson, x, y, kind=Tap):
    fig = lesson.landscape_figure
    fig._trigger_event(kind(fig, x=float(x), y=float(y)))


@pytest.mark.parametrize("name", optimizers.names())
@pytest.mark.parametrize("k", [0, 3, 12])
def test_the_inspector_shows_the_optimizers_own_state_at_step_k(name, k):
    lr = 0.05
    lesson = GradientDescent(optimizer=name, learning_rate=lr, inspect=True)
    lesson.history.value = k  # the UI path: the history slider
    assert lesson.shown == k
    params, state, after, after_state = own_steps(name, lr, BOWL.start, k)
    report = lesson.inside.report
    assert report.step == k and report.optimizer == name
    assert np.allclose(report.point, params, rtol=1e-12, atol=0)
    assert np.allclose(report.next_point, after, rtol=1e-12, atol=0)
    assert_same_state(report.state, state)
    assert_same_state(report.updated, after_state)
    table = rows(lesson.inside.inspector.table.object)
    gradient = BOWL.grad(params)
    assert table["g"] == [value_text(v) for v in gradient]
    assert table["delta"] == [value_text(v) for v in after - params]
    for row in report.quantities:  # every row of the table is the report's
        value = np.atleast_1d(np.asarray(row.value))
        expected = [value_text(v) for v in value]
        assert table[row.key] == (expected if len(value) > 1 or len(table[row.key]) == 1
                                  else expected * 2)
    step = lesson.inside.step_source.data
    assert np.allclose([step["x0"][0], step["y0"][0]], params, rtol=1e-12, atol=0)
    assert np.allclose([step["x1"][0], step["y1"][0]], after, rtol=1e-12, atol=0)
    assert "state-inspector" == lesson.inside.inspector.table.model_name


def test_momentum_draws_its_velocity_and_sgd_none():
    momentum = GradientDescent(optimizer="momentum", inspect=True, shown=4)
    velocity = momentum.inside.velocity_source.data
    assert len(velocity["x0"]) == 1 and np.isfinite(velocity["x1"]).all()
    assert velocity["x0"][0] == momentum.runs[0].points[4][0]
    sgd = GradientDescent(optimizer="sgd", inspect=True, shown=4)
    assert sgd.inside.velocity_source.data["x0"] == []
    assert len(sgd.inside.step_source.data["x0"]) == 1


def test_scrubbing_keeps_the_path_restores_the_point_and_never_calls_descend(monkeypatch):
    lesson = GradientDescent(optimizer="adam", learning_rate=0.3, shown=20, inspect=True)
    trajectory = {k: np.array(v, copy=True) for k, v in lesson.trajectory_source.data.items()
                  if k != "step"}
    path_at_20 = dict(lesson.path_sources[0].data)
    table_at_20 = lesson.inside.inspector.table.object
    calls = []
    for name in ("descend", "trace"):
        real = getattr(optimizers, name)
        monkeypatch.setattr(optimizers, name,
                            lambda *a, _real=real, _name=name, **kw: calls.append(_name)
                            or _real(*a, **kw))
    for k in (5, 0, 17, 100, 3, 20):
        lesson.history.value = k
        assert lesson.shown == k
        assert len(lesson.path_sources[0].data["x"]) == k + 1
        assert lesson.loss_step_mark.location == k
        assert lesson.inside.report is None if k == 100 else lesson.inside.report.step == k
    assert calls == []
    for key, column in trajectory.items():
        assert np.array_equal(lesson.trajectory_source.data[key], column, equal_nan=True)
    assert np.array_equal(lesson.path_sources[0].data["x"], path_at_20["x"])
    assert np.array_equal(lesson.path_sources[0].data["y"], path_at_20["y"])
    assert lesson.inside.inspector.table.object == table_at_20


def test_the_history_slider_follows_steps_and_a_hostile_value_clamps_to_the_budget():
    lesson = GradientDescent(steps=30)
    assert (lesson.history.start, lesson.history.end, lesson.history.value) == (0, 30, 0)
    lesson.shown_input.value = 4  # Step downhill's JavaScript
    assert lesson.history.value == 4 and lesson.loss_step_mark.location == 4
    lesson.history.value = 10**6  # a scripted client
    assert lesson.shown == 30 and lesson.history.value == 30 and lesson.steps == 30
    lesson.history.value = -5
    assert lesson.shown == 0 and lesson.history.value == 0
    lesson.steps = 12
    assert lesson.history.end == 12


@pytest.mark.parametrize("kind", [Tap, DoubleTap])
def test_a_tap_on_a_dot_jumps_there_and_a_tap_beside_it_places_the_start(kind):
    lesson = GradientDescent(shown=10)
    dot = lesson.runs[0].points[4]
    px = ASSUMED_FRAME_PX / (BOWL.bounds[0][1] - BOWL.bounds[0][0])  # px per x unit
    tap(lesson, dot[0], dot[1] + (TAP_TOLERANCE_PX - 2) / px, kind)
    assert lesson.shown == 4 and lesson.start == (4.0, 3.0)
    tap(lesson, dot[0], dot[1] + (TAP_TOLERANCE_PX + 3) / px, kind)  # no dot within 12 px
    assert lesson.start == (dot[0], dot[1] + (TAP_TOLERANCE_PX + 3) / px)
    assert lesson.shown == 4


def test_the_dot_tolerance_uses_the_frame_size_the_browser_reports():
    lesson = GradientDescent(shown=10)
    dot = lesson.runs[0].points[4]
    px = ASSUMED_FRAME_PX / (BOWL.bounds[0][1] - BOWL.bounds[0][0])
    near = (dot[0], dot[1] + (TAP_TOLERANCE_PX - 4) / px)  # 8 px away at the assumed size
    fig = lesson.landscape_figure
    for name in ("inner_width", "inner_height"):  # as the browser reports a 2× larger frame
        fig.set_from_json(name, 2 * ASSUMED_FRAME_PX)
    tap(lesson, *near)
    assert lesson.start == near and lesson.shown == 10  # 16 px away on this screen


def test_toggles_off_mean_no_trace_and_no_inspector_models(monkeypatch):
    calls = []
    real = optimizers.trace
    monkeypatch.setattr(optimizers, "trace",
                        lambda *a, **kw: calls.append(1) or real(*a, **kw))
    lesson = GradientDescent()
    lesson.step()
    tap(lesson, 1.0, 1.0)
    lesson.history.value = 1
    assert calls == [] and not lesson.inside.built and lesson.inside.sentence == ""
    names = {m.name for m in lesson.landscape_figure.references()}
    assert "step-arrow" not in names and "quiz-guess" not in names
    lesson.inspect = True
    assert len(calls) == 1 and lesson.inside.built
    lesson.step()
    lesson.history.value = 0
    assert len(calls) == 1  # the same path: the trace is kept
    tap(lesson, -2.0, 2.0)
    assert len(calls) == 2  # a new path: traced again
    lesson.inspect = False
    lesson.step()
    tap(lesson, 2.0, 2.0)
    assert len(calls) == 2 and lesson.inside.sentence == ""
    assert lesson.inside.step_arrow.visible is False


def test_the_narrated_step_reaches_the_live_status_only_while_on():
    lesson = GradientDescent(shown=2)
    assert "slope" not in lesson.status_text()
    lesson.inspect = True
    assert lesson.status_text().endswith(lesson.inside.sentence)
    assert lesson.inside.sentence.startswith("The slope points")
    assert lesson.inside.sentence in html.unescape(lesson.inside.narration.object)


def test_a_quiz_round_scores_the_guess_in_step_lengths_and_keeps_a_running_score():
    lesson = GradientDescent(quiz=True, shown=2)
    points = lesson.runs[0].points
    tap(lesson, *points[3])  # a perfect guess of step 3
    assert lesson.shown == 3 and lesson.start == (4.0, 3.0)
    assert lesson.inside.rounds == [1.0]
    assert lesson.inside.guess_source.data["x"] == [points[3][0]]
    assert "100 %" in html.unescape(lesson.inside.score.object)
    tap(lesson, *points[3])  # guessing "it stays": one step length off, 0 points
    assert lesson.shown == 4 and lesson.inside.rounds == [1.0, 0.0]
    text = html.unescape(lesson.inside.score.object)
    assert "missed by 1 step lengths" in text and "1 / 2 = 50 %" in text
    # the quiz explains the step just revealed (3 → 4), never the next one
    assert lesson.inside.report.step == 3
    lesson.step()  # Step downhill without a guess: no round, the marker goes
    assert lesson.inside.rounds == [1.0, 0.0] and lesson.inside.guess_source.data["x"] == []


def test_in_the_quiz_next_tap_moves_the_start_once():
    lesson = GradientDescent(quiz=True, shown=2)
    lesson.inside.move_start.value = True
    tap(lesson, -1.0, 2.0)
    assert lesson.start == (-1.0, 2.0) and lesson.inside.rounds == []
    assert lesson.inside.move_start.value is False
    tap(lesson, 0.0, 0.0)
    assert lesson.inside.rounds != [] and lesson.start == (-1.0, 2.0)


def test_a_guess_on_a_diverged_run_scores_nothing_and_changes_nothing():
    lesson = GradientDescent(quiz=True, learning_rate=0.4, shown=60)
    assert 0 <= lesson.runs[0].diverged_at <= 60
    tap(lesson, 1.0, 1.0)
    assert lesson.shown == 60 and lesson.inside.rounds == []
    assert "diverged" in lesson.inside.score.object


def test_at_inspect_and_quiz_links_round_trip():
    state = url_state.decode("tab=descent&optimizer=adam&at=7&inspect=1&quiz=1")
    assert state.problems == []
    lesson = GradientDescent.from_settings(state.lessons["descent"])
    assert (lesson.shown, lesson.inspect, lesson.quiz) == (7, True, True)
    assert lesson.history.value == 7 and lesson.inside.built and lesson.inside.quiz_built
    query = url_state.encode(url_state.LinkState(tab="descent",
                                                 lessons={"descent": lesson.settings()}))
    assert "at=7" in query and "inspect=1" in query and "quiz=1" in query
    assert "shown=" not in query
    again = GradientDescent.from_settings(url_state.decode(query).lessons["descent"])
    assert (again.shown, again.inspect, again.quiz) == (7, True, True)
    fresh = GradientDescent()
    fresh.apply_settings(state.lessons["descent"])
    assert (fresh.shown, fresh.inspect, fresh.quiz) == (7, True, True)
    fresh.apply_settings({})
    assert (fresh.shown, fresh.inspect, fresh.quiz) == (0, False, False)


@pytest.mark.parametrize("query, shown, problem", [
    ("at=99999", 100, None),              # beyond the budget: the last step
    ("at=50&steps=20", 20, None),
    ("at=-3", None, "at: below 0"),
    ("at=1e3", None, "at: not a whole number"),
    ("at=12345678901", None, "at: not a whole number"),
    ("at=%3Cscript%3E", None, "at: not a whole number"),
    ("shown=300", 300, None),             # the older name still extends the budget
    ("at=4&shown=9", 4, None),
])
def test_hostile_or_large_at_values(query, shown, problem):
    state = url_state.decode(query)
    assert state.lessons["descent"].get("shown") == shown
    if problem:
        assert state.problems == [problem]
        assert "<script>" not in " ".join(state.problems)
    else:
        assert state.problems == []


@pytest.mark.parametrize("query", ["inspect=2", "quiz=%3Cb%3E", "inspect=", "quiz=1.0"])
def test_bad_inspect_and_quiz_values_are_ignored_with_a_problem(query):
    state = url_state.decode(query)
    assert state.lessons["descent"] == {}
    assert state.problems == [f"{query.split('=')[0]}: not on/off"]


def test_panes_built_while_presenting_are_presented_too():
    from app import presenting

    lesson = GradientDescent()
    presenting.prepare_text(lesson)
    presenting.scale_text(lesson, True)  # presentation mode on, then the boxes are ticked
    lesson.param.update(inspect=True, quiz=True)
    inside = lesson.inside
    for item in (inside.inspector.table, inside.narration, inside.score, inside.key):
        assert presenting.PRESENTING in item.css_classes
    assert presenting.PRESENT_LATEX_CSS in inside.inspector.table.stylesheets
    assert inside.score.stylesheets.count(presenting.PRESENT_TEXT_CSS) == 1
