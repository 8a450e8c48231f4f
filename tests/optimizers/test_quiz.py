"""Predict, then reveal (optimizers/quiz.py): the miss in step lengths, points, direction and the
running score."""

import math

import numpy as np
import pytest

import landscapes
import optimizers


def test_a_perfect_guess_scores_one_point():
    score = optimizers.score_guess((4.0, 3.0), (3.2, 1.2), (3.2, 1.2))
    assert score.error == 0 and score.points == 1.0
    assert score.same_direction and score.reach == pytest.approx(1.0)


def test_the_miss_is_measured_in_step_lengths():
    # the bowl's first step from (4, 3) with η = 0.1: Δ = (−0.8, −1.8), |Δ| = √3.88
    step_length = math.sqrt(0.8**2 + 1.8**2)
    score = optimizers.score_guess((4.0, 3.0), (3.2, 1.2), (3.2, 1.2 + step_length / 4))
    assert score.step_length == pytest.approx(step_length)
    assert score.distance == pytest.approx(step_length / 4)
    assert score.error == pytest.approx(0.25)
    assert score.points == pytest.approx(0.75)


def test_a_guess_a_step_or_more_away_scores_zero_and_the_wrong_way_is_flagged():
    score = optimizers.score_guess((4.0, 3.0), (3.2, 1.2), (4.8, 4.8))  # the step reversed
    assert score.error == pytest.approx(2.0)
    assert score.points == 0.0
    assert not score.same_direction and score.reach == pytest.approx(-1.0)


def test_one_d_which_way_and_how_far():
    # (w − 3)², η = 0.1 from 0: w₁ = 0.6
    right_way_too_far = optimizers.score_guess(0.0, 0.6, 0.9)
    assert right_way_too_far.same_direction
    assert right_way_too_far.reach == pytest.approx(1.5)
    assert right_way_too_far.points == pytest.approx(0.5)
    wrong_way = optimizers.score_guess(0.0, 0.6, -0.3)
    assert not wrong_way.same_direction and wrong_way.reach == pytest.approx(-0.5)
    assert wrong_way.points == 0.0


def test_scoring_a_real_step_from_a_step_report():
    L = landscapes.get("bowl")
    report = optimizers.inspect_step(L, optimizers.get("momentum", lr=0.05), L.start, 3)
    guess = report.next_point + 0.1 * report.delta
    score = optimizers.score_guess(report.point, report.next_point, guess)
    assert score.error == pytest.approx(0.1) and score.points == pytest.approx(0.9)


@pytest.mark.parametrize(("before", "truth", "guess", "message"), [
    ((0.0, 0.0), (0.0, 0.0), (1.0, 1.0), "zero length"),
    ((0.0, 0.0), (np.nan, np.nan), (1.0, 1.0), "not finite"),
    ((0.0, 0.0), (1.0, 1.0), (np.inf, 1.0), "not finite"),
    ((0.0, 0.0), (1.0, 1.0), (1.0, 1.0, 1.0), "shape"),
    ((0.0, 0.0), (1.0, 1.0), "here", "numbers"),
])
def test_bad_rounds_raise_clear_errors(before, truth, guess, message):
    with pytest.raises(ValueError, match=message):
        optimizers.score_guess(before, truth, guess)


def test_running_score_is_the_mean_of_the_rounds():
    assert optimizers.running_score([]) == (0, 0.0, None)
    rounds, total, mean = optimizers.running_score([1.0, 0.5, 0.0, 0.75])
    assert rounds == 4 and total == pytest.approx(2.25) and mean == pytest.approx(0.5625)
    with pytest.raises(ValueError, match="between 0 and 1"):
        optimizers.running_score([0.5, 1.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        optimizers.running_score([np.nan])
