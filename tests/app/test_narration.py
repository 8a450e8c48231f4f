"""The narrated step (app/narration.py): one deterministic sentence per step, each phrase
reachable and true of the numbers it comes from."""

import dataclasses

import numpy as np
import pytest

import landscapes
import optimizers
from app.narration import narrate, number

BOWL = landscapes.get("bowl")
VALLEY = landscapes.get("valley")
SHIFTED = landscapes.curve("shifted")


def say(landscape, name, k, start=None, **hyper):
    report = optimizers.inspect_step(landscape, optimizers.get(name, **hyper),
                                     landscape.start if start is None else start, k)
    return narrate(report, landscape), report


def test_the_bowls_first_step_in_full():
    sentence, _ = say(BOWL, "sgd", 0, lr=0.1)
    assert sentence == ("The slope points up-right (|∇L| = 19.7); SGD steps η = 0.1 times the "
                        "gradient, straight downhill.")


def test_the_same_report_gives_the_same_sentence():
    assert say(VALLEY, "momentum", 8, lr=0.01)[0] == say(VALLEY, "momentum", 8, lr=0.01)[0]


@pytest.mark.parametrize(("start", "word"), [
    ((4.0, 0.0), "right"), ((-4.0, 0.0), "left"), ((0.0, 3.0), "up"), ((0.0, -3.0), "down"),
    ((4.0, 3.0), "up-right"), ((-4.0, -3.0), "down-left"), ((-4.0, 3.0), "up-left"),
    ((4.0, -3.0), "down-right"), ((4.0, 0.2), "right"),  # ∇L = (8, 1.2): not yet diagonal
])
def test_slope_direction_is_the_gradients_compass_direction(start, word):
    sentence, report = say(BOWL, "sgd", 0, start=start, lr=0.1)
    assert sentence.startswith(f"The slope points {word} (|∇L| = {number(report.grad_norm)})")


def test_one_d_slope_says_which_way_is_downhill():
    sentence, _ = say(SHIFTED, "sgd", 0, lr=0.1)  # (w − 3)² at w = 0: slope −6
    assert sentence.startswith("The slope is negative (dL/dw = −6), so downhill is to the right")
    sentence, _ = say(SHIFTED, "sgd", 0, start=5.0, lr=0.1)
    assert sentence.startswith("The slope is positive (dL/dw = 4), so downhill is to the left")


def test_overshoot_is_a_sign_flip_of_the_gradient_between_the_two_points():
    sentence, report = say(BOWL, "sgd", 0, lr=0.3)  # y: factor 1 − 6η = −0.8
    assert report.full_grad[1] > 0 > report.next_grad[1]
    assert report.full_grad[0] * report.next_grad[0] > 0
    assert sentence.endswith("; the step overshoots along y.")


def test_zig_zag_is_a_step_reversing_the_last_one():
    sentence, report = say(BOWL, "sgd", 1, lr=0.3)
    assert report.previous_delta[1] * report.delta[1] < 0
    assert "the step overshoots along y and zig-zags back" in sentence
    # momentum reverses along y in the valley without overshooting on this step
    sentence, report = say(VALLEY, "momentum", 8, lr=0.01)
    assert sentence.endswith("; it zig-zags along y.")
    assert report.full_grad[1] * report.next_grad[1] > 0


def test_slows_down_and_speeds_up():
    sentence, report = say(BOWL, "sgd", 1, lr=0.15)
    assert report.step_ratio < 0.5
    assert f"it slows down (this step is {number(report.step_ratio)}× the last)" in sentence
    sentence, report = say(VALLEY, "momentum", 3, lr=0.01)
    assert report.step_ratio > 1.5
    assert "it speeds up, carried by momentum (this step is 6.02× the last)" in sentence
    sentence, _ = say(SHIFTED, "sgd", 1, lr=2.0)  # w ← −3w + 12 flips and grows
    assert ("the step overshoots the bottom (the slope flips sign), it zig-zags back and forth, "
            "it speeds up (this step is 3× the last)") in sentence
    assert "momentum" not in sentence


def test_a_steady_step_adds_no_behaviour():
    sentence, _ = say(BOWL, "sgd", 3, lr=0.05)
    assert sentence.endswith("straight downhill.")


@pytest.mark.parametrize(("name", "k", "hyper", "phrase"), [
    ("sgd", 2, {"lr": 0.1, "weight_decay": 0.1},
     "SGD steps η = 0.1 times the gradient, plus weight decay, straight downhill"),
    ("momentum", 0, {"lr": 0.01}, "Momentum has no velocity yet, so its first step is η·g"),
    ("momentum", 1, {"lr": 0.01},
     "Momentum's velocity from earlier steps outweighs this slope and carries it on"),
    ("momentum", 8, {"lr": 0.01}, "Momentum adds the velocity from earlier steps to η·g"),
    ("nesterov", 5, {"lr": 0.01}, "(Nesterov looks ahead by μb)"),
    ("adagrad", 3, {"lr": 0.5}, "AdaGrad divides by √(Σg²), which only grows, so x moves"),
    ("rmsprop", 3, {"lr": 0.05}, "RMSprop divides by √v, a running RMS of g, so x moves"),
    ("adam", 0, {"lr": 0.1}, "Adam divides by √v̂, so both coordinates move ~η"),
    ("adamw", 5, {"lr": 0.1}, "AdamW divides by √v̂, so both coordinates move ~η"),
    ("lion", 3, {"lr": 0.1}, "Lion moves each coordinate by exactly η = 0.1, the sign of c"),
])
def test_each_optimizer_says_what_it_does(name, k, hyper, phrase):
    landscape = VALLEY if name in ("momentum", "nesterov") else BOWL
    sentence, _ = say(landscape, name, k, **hyper)
    assert phrase in sentence


def test_adam_late_in_the_run_moves_less_than_eta_and_says_by_how_much():
    trail = optimizers.trace(BOWL, optimizers.get("adam", lr=0.1), BOWL.start, 60)
    report = trail.report(59)
    moved = np.abs(report.delta / 0.1)
    sentence = narrate(report, BOWL)
    assert f"so x moves {number(moved[0])}η and y {number(moved[1])}η" in sentence
    assert (moved < 0.5).all()


def test_lion_says_which_coordinate_stays_when_c_is_zero():
    sentence, report = say(BOWL, "lion", 0, start=(2.0, 0.0), lr=0.1)
    assert report.quantity("sign").value[1] == 0
    assert "(y stays: c = 0)" in sentence


def test_one_d_optimizers_speak_of_w():
    assert "so w moves ~η" in say(SHIFTED, "adam", 0, lr=0.1)[0]
    assert "Lion moves w by exactly η = 0.1" in say(SHIFTED, "lion", 0, lr=0.1)[0]


def test_axis_names_come_from_the_landscape():
    line_fit = landscapes.get("line-fit")  # variables (m, b)
    report = optimizers.trace(line_fit, optimizers.get("adagrad", lr=0.3), line_fit.start,
                              4).report(3)
    assert tuple(line_fit.variables) != ("x", "y")
    sentence = narrate(report, line_fit)
    assert f"{line_fit.variables[0]} moves" in sentence and " x moves" not in sentence


def test_divergence_is_told_at_the_step_that_diverges_and_after():
    sentence, _ = say(BOWL, "sgd", 44, lr=0.4)
    assert sentence.endswith("; this step throws the run off: it diverged at step 45.")
    sentence, _ = say(BOWL, "sgd", 50, lr=0.4)
    assert sentence.startswith("The run diverged at step 45:")
    assert "nan" not in sentence.lower() and "inf " not in sentence


def test_flat_ground_is_a_bottom_a_saddle_or_just_flat():
    assert say(BOWL, "sgd", 0, start=(0.0, 0.0), lr=0.1)[0] == (
        "At the bottom (|∇L| < 10⁻⁶); the gradient is ~0, so it barely moves.")
    assert say(landscapes.get("saddle"), "sgd", 0, start=(0.0, 0.0), lr=0.1)[0].startswith(
        "On a saddle point (|∇L| < 10⁻⁶): flat here, yet downhill lies to the sides")

    class Flat:
        bounds = ((-1.0, 1.0), (-1.0, 1.0))
        hessian = None

        def loss(self, p):
            return 0 * p[..., 0]

        def grad(self, p):
            return 0 * p

    sentence = narrate(optimizers.inspect_step(Flat(), "sgd", (0.5, 0.5), 0), Flat())
    assert sentence.startswith("On flat ground (|∇L| < 10⁻⁶)")


def test_a_run_crossing_the_bottom_fast_is_still_carried():
    report = optimizers.inspect_step(BOWL, optimizers.get("momentum", lr=0.1), (0.0, 0.0), 0)
    moving = dataclasses.replace(report, delta=np.array([0.5, 0.0]))  # as if coasting through
    assert narrate(moving, BOWL) == ("At the bottom (|∇L| < 10⁻⁶); the velocity from earlier "
                                     "steps still carries it on.")


def test_a_mini_batch_step_is_set_beside_the_slope_not_called_straight_downhill():
    line = landscapes.get("line-fit")
    opt = optimizers.get("sgd", lr=0.2)
    trail = optimizers.trace(line, opt, np.array([-0.5, 3.5]), steps=10, batch_size=8, seed=0)
    sentence = narrate(trail.report(3), line, mini_batch=True)
    # ∇L on all the data points up-left; this batch's g points up: the step is off downhill
    assert sentence == ("The slope points up-left (|∇L| = 1.11); this mini-batch's gradient g "
                        "points up, so its step is not straight downhill; SGD steps η = 0.2 "
                        "times g, against g's direction; it zig-zags along m.")
    same_way = narrate(trail.report(0), line, mini_batch=True)
    assert "this mini-batch's gradient g points left too" in same_way
    assert "straight downhill" not in same_way
    assert "mini-batch" not in narrate(trail.report(3), line)  # the default: full batch


def test_one_d_sgd_says_which_way_and_how_far_w_moves():
    # lesson 1's quiz reveals its step with this sentence
    sentence, _ = say(SHIFTED, "sgd", 0, start=0.0, lr=0.1)
    assert sentence == ("The slope is negative (dL/dw = −6), so downhill is to the right; SGD "
                        "takes η = 0.1 times the slope, so w moves 0.6 to the right.")
    sentence, _ = say(SHIFTED, "sgd", 0, start=5.0, lr=0.1)
    assert "SGD takes η = 0.1 times the slope, so w moves 0.4 to the left" in sentence
    sentence, _ = say(SHIFTED, "sgd", 1, start=0.0, lr=2.0)  # 12 → −24: 36 to the left
    assert "so w moves 36 to the left; the step overshoots the bottom" in sentence
