"""Lesson 4 (stochastic & adaptive), server side: paths, batches, schedules, clipping, race."""

import pytest

pytest.importorskip("panel")  # `make oracle` collects in a venv without panel

import numpy as np  # noqa: E402
import panel as pn  # noqa: E402
from bokeh.document import Document  # noqa: E402
from bokeh.events import DoubleTap, Tap  # noqa: E402
from panel.io.state import set_curdoc  # noqa: E402

import landscapes  # noqa: E402
import optimizers  # noqa: E402
from app.stochastic import (  # noqa: E402
    MAX_STEPS,
    PATHS,
    PLAY_JS,
    RACERS,
    RESET_JS,
    STEP_JS,
    StochasticAdaptive,
    _signed,
)

LINE_FIT = landscapes.get("line-fit")


@pytest.fixture
def lesson():
    return StochasticAdaptive()


def path(lesson, key):
    data = lesson.path_sources[key].data
    return np.column_stack([data["x"], data["y"]])


def test_three_paths_start_together_and_step_moves_all_three(lesson):
    start = np.asarray(LINE_FIT.start)
    for key in PATHS:
        np.testing.assert_array_equal(path(lesson, key), [start])
    lesson.advance()
    lesson.shown_input.value = 2  # what the Step button does in the browser
    assert lesson.step == 2
    for key in PATHS:
        assert len(path(lesson, key)) == 3
    # full batch is plain gradient descent on the mean loss: one step = start − η∇L(start)
    np.testing.assert_allclose(path(lesson, "full")[1],
                               start - 0.2 * LINE_FIT.grad(start), rtol=1e-12)
    # the three differ: different batches, different gradients
    assert not np.allclose(path(lesson, "mini")[2], path(lesson, "full")[2])
    assert not np.allclose(path(lesson, "sgd")[2], path(lesson, "mini")[2])


def test_paths_are_the_core_runs_with_one_seed(lesson):
    lesson.seed = 3
    lesson.batch_size = 5
    lesson.step = 20
    start = np.asarray(LINE_FIT.start)
    opt = optimizers.get("sgd", lr=0.2)
    for key, size in (("full", None), ("mini", 5), ("sgd", 1)):
        run = optimizers.descend(LINE_FIT, opt, start, steps=MAX_STEPS, batch_size=size, seed=3)
        np.testing.assert_array_equal(path(lesson, key), run.points[:21])
    for _ in range(5):
        lesson.advance()
    for key, size in (("full", None), ("mini", 5), ("sgd", 1)):
        run = optimizers.descend(LINE_FIT, opt, start, steps=MAX_STEPS, batch_size=size, seed=3)
        np.testing.assert_array_equal(path(lesson, key), run.points[:26])
        np.testing.assert_array_equal(lesson.loss_sources[key].data["loss"], run.losses[:26])
        np.testing.assert_array_equal(lesson.loss_sources[key].data["step"], np.arange(26))


def test_batch_size_and_seed_change_only_the_noisy_paths(lesson):
    lesson.step = 10
    full, mini, sgd = (path(lesson, k).copy() for k in PATHS)
    lesson.batch_size = 16
    np.testing.assert_array_equal(path(lesson, "full"), full)
    np.testing.assert_array_equal(path(lesson, "sgd"), sgd)
    assert not np.array_equal(path(lesson, "mini"), mini)
    mini16 = path(lesson, "mini").copy()
    lesson.seed = 1
    np.testing.assert_array_equal(path(lesson, "full"), full)
    assert not np.array_equal(path(lesson, "mini"), mini16)
    assert not np.array_equal(path(lesson, "sgd"), sgd)


def test_line_follows_the_selected_path(lesson):
    lesson.step = 7
    x = np.asarray(lesson.line_source.data["x"])
    for title, key in (("Full batch", "full"), ("Mini-batch", "mini"), ("SGD", "sgd")):
        lesson.follow = title
        m, b = path(lesson, key)[-1]
        np.testing.assert_allclose(lesson.line_source.data["y"], m * x + b, rtol=1e-12)


def test_next_batch_is_highlighted(lesson):
    x, y = LINE_FIT.data
    lesson.step = 4
    for title, size in (("Mini-batch", 8), ("SGD", 1), ("Full batch", 50)):
        lesson.follow = title
        batch = lesson.runs[{"Mini-batch": "mini", "SGD": "sgd", "Full batch": "full"}[title]]
        indices = batch.batches[4]
        assert len(lesson.batch_source.data["x"]) == size
        np.testing.assert_array_equal(lesson.batch_source.data["x"], np.asarray(x)[indices])
        np.testing.assert_array_equal(lesson.batch_source.data["y"], np.asarray(y)[indices])
        assert sum(lesson.data_source.data["in_batch"]) == size


def test_mean_form_of_the_loss_is_stated_on_screen(lesson):
    text = lesson._layout[0].object
    assert "1/(2n)Σ" in text and "does not" in text and "depend on the number of examples" in text


@pytest.mark.parametrize(("name", "check"), [
    ("Constant", lambda lr: np.allclose(lr, 0.2)),
    ("Step decay", lambda lr: lr[39] == 0.2 and np.isclose(lr[40], 0.1)
     and np.isclose(lr[80], 0.05)),
    ("Cosine", lambda lr: lr[0] == 0.2 and np.isclose(lr[75], 0.1) and lr[-1] < 1e-4),
    ("Warmup", lambda lr: np.isclose(lr[0], 0.02) and np.isclose(lr[10], 0.2)),
    ("Warmup + cosine", lambda lr: np.isclose(lr[0], 0.02) and np.isclose(lr[10], 0.2)
     and lr[-1] < 0.01),
])
def test_schedule_plot_shows_eta_over_the_steps(lesson, name, check):
    lesson.schedule = name
    lr = np.asarray(lesson.schedule_source.data["lr"])
    assert len(lr) == MAX_STEPS
    assert check(lr)


def test_schedule_changes_the_steps(lesson):
    lesson.schedule = "Warmup"
    lesson.step = 1
    start = np.asarray(LINE_FIT.start)
    np.testing.assert_allclose(path(lesson, "full")[1], start - 0.02 * LINE_FIT.grad(start),
                               rtol=1e-12)
    assert lesson.schedule_now.data["step"] == [1]


def test_clipping_caps_the_step(lesson):
    assert lesson.clip_slider.disabled
    lesson.clip = True
    assert not lesson.clip_slider.disabled
    lesson.clip_norm = 0.5
    lesson.step = 1
    step = path(lesson, "full")[1] - path(lesson, "full")[0]
    # the start's gradient has norm > 0.5, so the step is η·0.5 long (torch's clip_grad_norm_
    # divides by the norm + 1e-6, hence the tolerance)
    assert np.linalg.norm(LINE_FIT.grad(np.asarray(LINE_FIT.start))) > 0.5
    np.testing.assert_allclose(np.linalg.norm(step), 0.2 * 0.5, rtol=1e-5)
    lesson.clip = False
    assert np.linalg.norm(path(lesson, "full")[1] - path(lesson, "full")[0]) > 0.2 * 0.6


def test_too_large_a_rate_diverges_without_anything_non_finite_in_a_plot(lesson):
    lesson.learning_rate = 1.0
    for _ in range(MAX_STEPS):  # one step at a time, as Play does
        lesson.advance()
    assert lesson.runs["full"].diverged_at > 0
    assert len(lesson.path_sources["full"].data["x"]) == lesson.runs["full"].diverged_at
    assert "Full batch: <b>diverged at step" in lesson.status.text
    for key in PATHS:
        for source in (lesson.path_sources[key], lesson.loss_sources[key]):
            for column in source.data.values():
                assert np.all(np.isfinite(np.asarray(column, dtype=float)))
    lesson.clip = True  # clipping tames it
    assert lesson.runs["full"].diverged_at == -1


def shown_run(lesson, key):
    """What the browser's Play reveals at `lesson.step`: the precomputed run, cut where it
    diverged (JS_HELPERS' reveal slices exactly so)."""
    data, info = lesson.trajectory_source.data, lesson.trajectory_source.tags[0]
    diverged_at = next(p["diverged_at"] for p in info["paths"] if p["key"] == key)
    end = lesson.step + 1 if diverged_at < 0 else min(lesson.step + 1, diverged_at)
    return (np.column_stack([data[f"x_{key}"][:end], data[f"y_{key}"][:end]]),
            np.asarray(data[f"loss_{key}"][:end]))


@pytest.mark.parametrize("settings", [
    {},
    {"batch_size": 5, "seed": 11, "schedule": "Warmup + cosine"},
    {"learning_rate": 1.0},  # all three diverge
    {"learning_rate": 0.9, "clip": True, "clip_norm": 2.0, "schedule": "Step decay"},
])
def test_the_precomputed_runs_equal_stepping_one_at_a_time(lesson, settings):
    lesson.param.update(**settings)
    data = lesson.trajectory_source.data
    assert list(data["step"]) == list(range(MAX_STEPS + 1))
    rates = np.asarray(lesson.schedule_source.data["lr"])
    np.testing.assert_array_equal(data["lr"], np.append(rates, rates[-1]))
    x, y = LINE_FIT.data
    for k in range(MAX_STEPS + 1):
        lesson.advance() if k else lesson.reset()
        assert lesson.step == k
        for key in PATHS:
            points, losses = shown_run(lesson, key)
            np.testing.assert_array_equal(path(lesson, key), points)
            np.testing.assert_array_equal(lesson.loss_sources[key].data["loss"], losses)
            np.testing.assert_array_equal(lesson.now_sources[key].data["x"], points[-1:, 0])
            assert np.isfinite(points).all() and np.isfinite(losses).all()
        batch = data["batch_mini"][k]
        np.testing.assert_array_equal(batch, lesson.runs["mini"].batches[min(k, MAX_STEPS - 1)])
        np.testing.assert_array_equal(lesson.batch_source.data["x"], np.asarray(x)[batch])
        assert lesson.schedule_now.data["lr"] == [data["lr"][k]]


def test_the_followed_batch_column_holds_every_step_and_the_full_batch_none(lesson):
    data = lesson.trajectory_source.data
    assert "batch_full" not in data  # a full batch is every example
    assert len(data["batch_mini"]) == len(data["batch_sgd"]) == MAX_STEPS + 1
    assert {len(b) for b in data["batch_mini"]} == {8}
    np.testing.assert_array_equal(np.concatenate(data["batch_sgd"][:MAX_STEPS]),
                                  lesson.runs["sgd"].batches[:, 0])
    lesson.batch_size = 16
    assert {len(b) for b in lesson.trajectory_source.data["batch_mini"]} == {16}
    assert lesson.trajectory_source.tags[0]["paths"][1]["label"] == "Mini-batch (16)"


def test_step_play_and_reset_act_in_the_browser_not_in_python_handlers(lesson):
    for button, code in ((lesson.step_button, STEP_JS), (lesson.play_button, PLAY_JS),
                         (lesson.reset_button, RESET_JS)):
        codes = [link.code for link in pn.links.Callback.registry.get(button, [])]
        assert {"event:button_click": code} in codes
        button.clicks += 1  # a click the server sees changes nothing there: no handler
        assert lesson.step == 0 and not lesson.playing


def test_play_from_the_server_asks_the_browser_and_registers_no_callback():
    doc = Document()
    with set_curdoc(doc):
        lesson = StochasticAdaptive()
        lesson.__panel__().get_root(doc)
        lesson.toggle_play()
        assert lesson.playing and lesson.play_button.label == "Pause"
        assert lesson.playing_box.value  # the browser's Play starts from this
        assert doc.callbacks.session_callbacks == []
        assert not pn.state._periodic.get(doc)
        assert doc.callbacks.session_destroyed_callbacks == set()
        assert lesson.step == 0  # the server runs no frames
        lesson.toggle_play()
        assert not lesson.playing and not lesson.playing_box.value
        assert lesson.play_button.label == "Play"


def test_pause_in_the_browser_reports_the_step_and_step_and_reset_continue_from_it(lesson):
    # What the browser sends: "playing" when Play starts, then "stopped" and the step shown.
    lesson.playing_box.value = True
    assert lesson.playing and lesson.play_button.label == "Pause"
    lesson.playing_box.value = False
    lesson.shown_input.value = 37
    assert not lesson.playing and lesson.play_button.label == "Play"
    assert lesson.step == 37 and len(path(lesson, "sgd")) == 38
    assert "<b>Step 37 of 150</b>" in lesson.status.text
    lesson.advance()  # Step continues from where Play stopped
    assert lesson.step == 38 and len(path(lesson, "full")) == 39
    lesson.reset()
    assert lesson.step == 0 and len(path(lesson, "mini")) == 1
    lesson.step = MAX_STEPS
    lesson.toggle_play()  # from the end, Play starts over
    assert lesson.step == 0 and lesson.playing


def test_a_pause_from_the_server_keeps_the_servers_step(lesson):
    lesson.step = 12
    lesson.toggle_play()
    lesson.pause()
    assert not lesson.playing and lesson.step == 12 and len(path(lesson, "full")) == 13


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0.125, 2, "0.13"), (-0.125, 2, "\u22120.13"), (0.375, 2, "0.38"), (2.5, 0, "3"),
    (-0.0, 3, "0.000"), (-0.0001, 3, "\u22120.000"), (3.63095, 4, "3.6309"),
    (1234.5678, 3, "1234.568"),
])
def test_signed_rounds_as_the_browsers_to_fixed(value, digits, text):
    # JavaScript: (0.125).toFixed(2) == "0.13", (-0.0001).toFixed(3) == "-0.000",
    # (3.63095).toFixed(4) == "3.6309" (the double is below ...095), (-0).toFixed(3) == "0.000"
    assert _signed(value, digits) == text


def test_saddle_race_sgd_stalls_adaptive_methods_escape(lesson):
    final = {key: lesson.race_loss_sources[key].data["loss"][-1] for key in RACERS}
    assert final["sgd"] > -0.01
    assert final["momentum"] > -0.01
    assert final["rmsprop"] < -0.08
    assert final["adam"] < -0.08
    assert "SGD: still on the plateau after 150 steps" in lesson.race_status.object
    assert "RMSprop: reaches a minimum at step" in lesson.race_status.object
    start = np.asarray(landscapes.get("plateau-saddle").start)
    for key in RACERS:
        data = lesson.race_sources[key].data
        np.testing.assert_array_equal([data["x"][0], data["y"][0]], start)
        assert len(data["x"]) == 151
    lesson.race_steps = 60
    assert len(lesson.race_sources["adam"].data["x"]) == 61


def test_sessions_do_not_share_state():
    one, two = StochasticAdaptive(), StochasticAdaptive()
    one.step = 5
    assert two.step == 0
    assert one.path_sources["full"] is not two.path_sources["full"]


def test_a_cleared_input_box_gives_a_message_and_changes_nothing(lesson):
    lesson.step = 5
    before = path(lesson, "mini").copy()
    for widget in (lesson.seed_input, lesson.lr_slider):
        widget.value = None
        assert lesson.message.visible and "Type a number" in lesson.message.object
        np.testing.assert_array_equal(path(lesson, "mini"), before)
    lesson.seed_input.value = 0
    lesson.lr_slider.value = 0.2
    assert not lesson.message.visible
    race = dict(lesson.race_sources["adam"].data)
    lesson.race_lr_slider.value = None
    assert "Type a number" in lesson.race_status.object
    assert lesson.race_sources["adam"].data == race


def test_tapping_the_map_moves_the_start_of_all_three_paths(lesson):
    lesson.step = 9
    fig = lesson.contour_figure
    fig._trigger_event(Tap(fig, x=4.0, y=-1.0))
    assert lesson.step == 0
    for key in PATHS:
        np.testing.assert_array_equal(path(lesson, key), [[4.0, -1.0]])
    assert lesson.start_source.data == {"x": [4.0], "y": [-1.0]}
    lesson.advance()
    np.testing.assert_allclose(path(lesson, "full")[1],
                               np.array([4.0, -1.0]) - 0.2 * LINE_FIT.grad(np.array([4.0, -1.0])),
                               rtol=1e-12)
    fig._trigger_event(DoubleTap(fig, x=0.0, y=0.0))
    np.testing.assert_array_equal(path(lesson, "sgd"), [[0.0, 0.0]])
    fig._trigger_event(Tap(fig, x=40.0, y=0.0))  # outside the map: nothing changes
    np.testing.assert_array_equal(path(lesson, "sgd"), [[0.0, 0.0]])
