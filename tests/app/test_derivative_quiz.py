"""Lesson 1's predict-then-reveal quiz (app/derivative_quiz.py) without a browser: rounds on
(w − 3)² scored by optimizers.score_guess, the running score, η = 2, the stops, the cost while
off and the `quiz1` link."""

import html

import numpy as np
import pytest
from bokeh.events import DoubleTap, Tap

import optimizers
from app.derivative import Derivative
from app.derivative_quiz import MIN_STEP_SHARE, QUIZ_LABEL, RESTART_LABEL


def quiz(**settings):
    lesson = Derivative(quiz=True, **settings)
    return lesson, lesson.quiz_panel


def said(panel):
    """The quiz pane's text as a student reads it (tags dropped)."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", panel.score.object)).replace("  ", " ")


def data(source):
    return {name: list(np.asarray(values)) for name, values in source.data.items()}


# ------------------------------------------------------------------------ one round


def test_a_guess_at_0_6_from_0_with_eta_0_1_is_perfect():
    lesson, panel = quiz()
    assert "w₀ = 0" in said(panel) and "Tap the chart" in said(panel)
    score = panel.guess(0.6)
    assert score.points == pytest.approx(1.0) and score.error == pytest.approx(0.0, abs=1e-12)
    text = said(panel)
    assert "w₁ = w₀ − η·L′(w₀) = 0 − 0.1 × (−6) = 0.6" in text
    assert "You guessed 0.6 : right direction, 1× the true step; miss 0 step lengths" in text
    assert "Score 1 / 1 round (100 %)" in text
    assert "w₁ = 0.6 (ring)" in text and "your w₂" in text  # the next round, from w₁


def test_a_guess_at_0_3_is_half_the_step_and_half_the_points():
    _lesson, panel = quiz()
    score = panel.guess(0.3)
    assert score.points == pytest.approx(0.5) and score.same_direction
    assert score.reach == pytest.approx(0.5)
    text = said(panel)
    assert "right direction, 0.5× the true step; miss 0.5 step lengths → 0.5 points" in text
    assert "Score 0.5 / 1 round (50 %)" in text


def test_a_guess_on_the_wrong_side_says_so():
    _lesson, panel = quiz()
    score = panel.guess(-0.3)
    assert not score.same_direction and score.points == 0
    assert ("wrong direction: w moves right, your guess went left; miss 1.5 step lengths → "
            "0 points") in said(panel)
    _lesson, panel = quiz(descent_start=5.0)  # slope 4 > 0: w moves left
    panel.guess(6.0)
    assert "wrong direction: w moves left, your guess went right" in said(panel)


def test_a_guess_of_no_move_says_w_moves():
    _lesson, panel = quiz()
    score = panel.guess(0.0)
    assert score.points == 0 and "you said w stays, but it moves right" in said(panel)


def test_the_reveal_draws_the_true_step_and_the_guess():
    lesson, panel = quiz()
    assert data(panel.guess_source) == {"w": [], "loss": []}  # nothing before the guess
    assert data(panel.now_source) == {"w": [0.0], "loss": [9.0]}
    panel.guess(0.9)
    guess = data(panel.guess_source)
    assert guess["w"] == [0.9] and guess["loss"][0] == pytest.approx((0.9 - 3) ** 2)
    step = data(panel.step_source)
    assert step["x0"] == [0.0, 0.0] and step["x1"][1] == 0.9
    assert step["x1"][0] == pytest.approx(0.6) and step["label"] == ["true step", "your guess"]
    now = data(panel.now_source)
    assert now["w"][0] == pytest.approx(0.6) and now["loss"][0] == pytest.approx(5.76)
    assert "You guessed 0.9 : right direction, 1.5× the true step; miss 0.5 step lengths" \
        in said(panel)


def test_the_reveal_is_narrated_for_w():
    _lesson, panel = quiz()
    panel.guess(0.6)
    assert ("The slope is negative (dL/dw = −6), so downhill is to the right; SGD takes "
            "η = 0.1 times the slope, so w moves 0.6 to the right.") in said(panel)


# ------------------------------------------------------------------------ rounds


def test_rounds_follow_the_lessons_own_iterates_and_keep_a_running_score():
    lesson, panel = quiz()
    table = np.asarray(lesson.descent_source.data["w"])
    points = []
    for guess in (0.6, 0.84, 1.08):  # perfect, half-way (0.84 = 0.6 + 0.24), no move
        points.append(panel.guess(guess).points)
    assert points == pytest.approx([1.0, 0.5, 0.0])
    path = data(panel.path_source)["w"]
    assert path == list(table[:4])  # 0, 0.6, 1.08, 1.464: bit for bit the table's
    assert path == pytest.approx([0.0, 0.6, 1.08, 1.464])
    assert optimizers.running_score(panel.rounds) == (3, pytest.approx(1.5), pytest.approx(0.5))
    assert "Score 1.5 / 3 rounds (50 %)" in said(panel)
    assert "w₃ = 1.464 (ring)" in said(panel)


def test_restart_goes_back_to_w0_and_keeps_the_score():
    lesson, panel = quiz()
    panel.guess(0.6)
    panel.guess(1.08)
    panel.restart_button.clicks += 1  # "Restart at w₀"
    assert panel.restart_button.label == RESTART_LABEL
    assert panel.k == 0 and data(panel.path_source)["w"] == [0.0]
    assert data(panel.guess_source) == {"w": [], "loss": []}
    assert "Back to w₀ (your score carries on)." in said(panel)
    assert "Score 2 / 2 rounds (100 %)" in said(panel)
    panel.guess(0.3)
    assert len(panel.rounds) == 3


def test_a_new_eta_or_start_restarts_the_rounds():
    lesson, panel = quiz()
    panel.guess(0.6)
    lesson.descent_start = 1.0
    assert panel.k == 0 and "w₀ = 1 (ring)" in said(panel)
    assert "New settings: the quiz starts again from w₀" in said(panel)
    lesson.descent_lr = 0.5  # (w − 3)² with η = 0.5: one step to the bottom, w₁ = 3
    assert panel.k == 0 and panel.guess(3.0).points == 1.0
    assert "w₁ = 3 is the bottom: the slope is 0" in said(panel)


def test_tap_and_double_tap_on_the_figure_are_guesses():
    lesson, panel = quiz()
    fig = lesson.descent_figure
    fig._trigger_event(Tap(fig, x=0.6, y=20.0, sx=1, sy=1))  # only x counts
    fig._trigger_event(DoubleTap(fig, x=1.08, y=-1.0, sx=1, sy=1))
    assert panel.rounds == pytest.approx([1.0, 1.0])
    assert {"tap", "doubletap"} <= set(fig.subscribed_events)


# ------------------------------------------------------------------------ η = 2 and stops


def test_eta_2_rounds_grow_and_the_quiz_stops_when_w_leaves_the_chart():
    lesson, panel = quiz(descent_lr=2.0, descent_start=2.5)  # 2.5 → 4.5 → −1.5 → 16.5
    lengths = [panel.guess(guess).step_length for guess in (4.5, -1.5, 8.0)]
    assert lengths == pytest.approx([2.0, 6.0, 18.0])  # the true step grows 3× a round
    text = said(panel)
    assert "it zig-zags back and forth, it speeds up (this step is 3× the last)" in text
    assert "w₃ = 16.5 is off the chart (w from −2 to 8)" in text and "diverges" in text
    assert panel.stopped and panel.report is None
    before = (list(panel.rounds), data(panel.path_source), data(panel.step_source))
    assert panel.guess(3.0) is None  # the next tap changes nothing but says why
    assert "The quiz has stopped" in said(panel)
    assert (list(panel.rounds), data(panel.path_source), data(panel.step_source)) == before
    for source in (panel.path_source, panel.now_source, panel.guess_source, panel.step_source):
        for name, values in source.data.items():
            if name not in ("color", "label"):
                assert np.isfinite(np.asarray(values, dtype=float)).all(), (source.name, name)


def test_eta_2_from_0_reveals_the_first_step_off_the_chart_and_stops():
    lesson, panel = quiz(descent_lr=2.0)
    score = panel.guess(8.0)  # the right edge: the true w₁ = 12 is beyond it
    assert score.points == pytest.approx(1 - 4 / 12)
    assert "= 12 ." in said(panel) and "w₁ = 12 is off the chart" in said(panel)
    assert data(panel.step_source)["x1"][0] == 12.0  # finite; the chart clips it


def test_at_the_bottom_there_is_nothing_to_guess():
    _lesson, panel = quiz(descent_start=3.0)
    assert "w₀ = 3 is the bottom" in said(panel) and panel.guess(3.5) is None
    assert panel.rounds == []


def test_the_quiz_ends_when_the_step_is_too_small_to_tap():
    lesson, panel = quiz()
    rounds = 0
    while panel.report is not None:
        panel.guess(float(panel.report.next_point[0]))
        rounds += 1
    # steps 0.6 · 0.8^k: the 9th, 0.6 · 0.8^9 ≈ 0.081, is below 1 % of the 10-wide chart
    assert rounds == 9 and 0.6 * 0.8 ** 9 < MIN_STEP_SHARE * 10 < 0.6 * 0.8 ** 8
    assert "nearly at the bottom" in said(panel)
    assert "Score 9 / 9 rounds (100 %)" in said(panel)


@pytest.mark.parametrize("guess", [float("nan"), float("inf"), -1e9, "abc", None])
def test_a_guess_that_is_not_on_the_chart_is_refused_and_changes_nothing_else(guess):
    _lesson, panel = quiz()
    panel.guess(0.6)
    before = (list(panel.rounds), panel.k, data(panel.path_source), data(panel.guess_source),
              data(panel.step_source))
    assert panel.guess(guess) is None
    assert (list(panel.rounds), panel.k, data(panel.path_source), data(panel.guess_source),
            data(panel.step_source)) == before
    text = said(panel)
    assert text.strip().startswith("Tap on the chart: a guess is a w between −2 and 8.")
    assert "Score 1 / 1 round" in text and "your w₂" in text  # the rest stays as it was


# ------------------------------------------------------------------------ on, off, cost


def _quiz_names(doc):
    return {model.name for model in doc.models if (model.name or "").startswith("quiz1")}


def _shown(lesson):
    from bokeh.document import Document

    doc = Document()
    doc.add_root(lesson.__panel__().get_root(doc))
    return doc


def test_off_the_quiz_costs_no_models_no_taps_and_no_work(monkeypatch):
    calls = []
    real_trace = optimizers.trace
    monkeypatch.setattr(optimizers, "trace", lambda *a, **k: calls.append(1) or
                        real_trace(*a, **k))
    lesson = Derivative()
    doc = _shown(lesson)
    panel = lesson.quiz_panel
    assert not _quiz_names(doc) and not panel.panes_built and not panel.glyphs_built
    assert not {"tap", "doubletap"} & set(lesson.descent_figure.subscribed_events)
    lesson.param.update(descent_lr=0.5, descent_start=1.0, descent_steps=20)
    assert calls == [] and panel.guess(0.5) is None
    before = len(doc.models)
    lesson.quiz = True
    assert calls and {"quiz1-score", "quiz1-guess", "quiz1-path", "quiz1-now",
                      "quiz1-step"} <= _quiz_names(doc)
    assert len(doc.models) - before <= 30  # what the quiz costs, once, when first pressed
    assert {"tap", "doubletap"} <= set(lesson.descent_figure.subscribed_events)
    lesson.quiz = False
    calls.clear()
    lesson.param.update(descent_lr=0.2, descent_start=0.0)
    assert calls == [] and panel.guess(0.5) is None
    assert not {"tap", "doubletap"} & set(lesson.descent_figure.subscribed_events)


def test_on_hides_the_iterates_that_give_the_answer_away_and_off_brings_them_back():
    lesson = Derivative()
    fig = lesson.descent_figure
    lesson.quiz = True
    panel = lesson.quiz_panel
    assert not lesson.descent_readout.visible
    assert not any(r.visible for r in lesson.descent_path_renderers)
    assert all(r.visible for r in panel.renderers) and panel.score.visible
    assert fig.y_range.start < -3.6 and fig.y_range.reset_start == fig.y_range.start
    lesson.quiz = False
    assert lesson.descent_readout.visible and all(r.visible for r in
                                                  lesson.descent_path_renderers)
    assert not any(r.visible for r in panel.renderers) and not panel.score.visible
    assert fig.y_range.start == -1.5
    assert panel.toggle.label == QUIZ_LABEL


def test_a_deferred_lesson_builds_the_quiz_with_the_part_below():
    lesson = Derivative(defer=True, quiz=True)  # quiz1=1 in the link, on a server
    doc = _shown(lesson)
    assert not _quiz_names(doc) and lesson.descent_figure is None
    for placeholder in lesson.__panel__().select(lambda o: type(o).__name__ == "Reveal"):
        placeholder.seen = True
    assert {"quiz1-score", "quiz1-guess", "quiz1-path"} <= _quiz_names(doc)
    panel = lesson.quiz_panel
    part = [item for new in lesson.new_part for item in new.select()]
    assert panel.score in part and lesson.descent_figure is not None
    assert not any(r.visible for r in lesson.descent_path_renderers)
    assert panel.guess(0.6).points == pytest.approx(1.0)


def test_a_quiz_switched_on_before_the_part_below_is_built_starts_with_it():
    lesson = Derivative(defer=True)
    doc = _shown(lesson)
    lesson.apply_settings({"quiz": True})  # a link's settings, the student has not scrolled
    assert "quiz_panel" not in vars(lesson) and not _quiz_names(doc)
    for placeholder in lesson.__panel__().select(lambda o: type(o).__name__ == "Reveal"):
        placeholder.seen = True
    assert {"quiz1-score", "quiz1-guess", "quiz1-path"} <= _quiz_names(doc)
    assert lesson.quiz_panel.score.visible and not lesson.descent_readout.visible
    assert lesson.quiz_panel.guess(0.6).points == pytest.approx(1.0)


def test_presentation_mode_reaches_the_quiz_built_later():
    from app.lecture import Lecture
    from app.presenting import PRESENT_TEXT_CSS

    lesson = Lecture("present=1").lesson("derivative")
    lesson.quiz = True
    pane = lesson.quiz_panel.score
    assert PRESENT_TEXT_CSS in pane.stylesheets and "downhill-presenting" in pane.css_classes
    ring = lesson.quiz_panel.renderers[2].glyph
    assert ring.size > 20  # scaled with the figure


# ------------------------------------------------------------------------ the link


def test_quiz1_link_round_trip():
    from app import url_state
    from app.lecture import Lecture

    state = url_state.decode("tab=derivative&quiz1=1")
    assert state.lessons["derivative"] == {"quiz": True} and not state.problems
    lesson = Lecture("tab=derivative&quiz1=1").lesson("derivative")
    assert lesson.quiz and lesson.settings() == {"quiz": True}
    assert "Tap the chart" in lesson.quiz_panel.score.object
    state.lessons["derivative"] = lesson.settings()
    assert "quiz1=1" in url_state.encode(state)
    lesson.apply_settings({})
    assert not lesson.quiz and lesson.settings() == {}
    assert "quiz1" not in url_state.encode(url_state.decode("quiz1=0"))
    bad = url_state.decode("quiz1=<script>")
    assert bad.lessons["derivative"] == {} and bad.problems == ["quiz1: not on/off"]


def test_eta_1_oscillates_until_the_last_round():
    from app.derivative_quiz import MAX_ROUNDS

    _lesson, panel = quiz(descent_lr=1.0)  # w ← 6 − w: 0, 6, 0, 6, … forever
    for k in range(MAX_ROUNDS):
        assert panel.guess(6.0 if k % 2 == 0 else 0.0).points == 1.0
    assert f"That was step {MAX_ROUNDS}, the last one" in said(panel)
    assert panel.guess(6.0) is None and len(panel.rounds) == MAX_ROUNDS
