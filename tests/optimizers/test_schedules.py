"""Learning-rate schedules against torch.optim.lr_scheduler's documented closed forms.

torch steps its schedulers recursively (each value from the previous one); the package repeats
that recursion, and the values must equal the documented formulas to 1e-12 relative. (The
bit-for-bit comparison with a live torch scheduler is in the oracle tests.)
"""

import math

import numpy as np
import pytest

from optimizers import schedules

T = np.arange(400)


def close(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15 * scale)


def test_constant_is_the_same_at_every_step():
    close(schedules.constant(0.03)(T), np.full(T.shape, 0.03), 0.03)


@pytest.mark.parametrize(("lr", "step_size", "gamma"), [(0.1, 30, 0.1), (0.5, 7, 0.5),
                                                        (2.0, 1, 0.9)])
def test_step_decay_is_lr_times_gamma_to_the_floor_of_t_over_step_size(lr, step_size, gamma):
    close(schedules.step_decay(lr, step_size, gamma)(T), lr * gamma ** (T // step_size), lr)


def test_step_decay_known_values():
    schedule = schedules.step_decay(0.1, step_size=30)  # torch's gamma default 0.1
    assert schedule(0) == 0.1 and schedule(29) == 0.1
    assert math.isclose(schedule(30), 0.01, rel_tol=1e-15)
    assert math.isclose(schedule(59), 0.01, rel_tol=1e-15)
    assert math.isclose(schedule(60), 0.001, rel_tol=1e-15)


@pytest.mark.parametrize(("lr", "T_max", "eta_min"), [(0.1, 100, 0.0), (0.1, 37, 0.013),
                                                      (1.0, 1, 0.0), (0.05, 3, 0.01)])
def test_cosine_is_the_half_cosine_from_lr_to_eta_min_and_back(lr, T_max, eta_min):
    # torch's documented closed form; past T_max the cosine rises again (no restart)
    expected = eta_min + (lr - eta_min) * (1 + np.cos(np.pi * T / T_max)) / 2
    close(schedules.cosine(lr, T_max, eta_min)(T), expected, lr)


def test_cosine_known_values():
    schedule = schedules.cosine(0.1, T_max=100)
    assert schedule(0) == 0.1
    assert math.isclose(schedule(25), 0.05 * (1 + math.sqrt(0.5)), rel_tol=1e-12)
    assert math.isclose(schedule(50), 0.05, rel_tol=1e-12)
    assert abs(schedule(100)) < 1e-17
    assert math.isclose(schedule(150), 0.05, rel_tol=1e-12)
    assert math.isclose(schedule(200), 0.1, rel_tol=1e-12)


@pytest.mark.parametrize(("start_factor", "end_factor", "total_iters"),
                         [(1 / 3, 1.0, 5), (0.1, 0.9, 33), (0.5, 0.0, 10), (1.0, 1.0, 4)])
def test_linear_warmup_goes_linearly_from_start_to_end_factor(start_factor, end_factor,
                                                              total_iters):
    lr = 0.07
    expected = lr * (start_factor + (end_factor - start_factor)
                     * np.minimum(T, total_iters) / total_iters)
    schedule = schedules.linear_warmup(lr, start_factor, end_factor, total_iters)
    close(schedule(T), expected, lr)


def test_linear_warmup_has_torch_defaults_one_third_to_one_in_five_steps():
    schedule = schedules.linear_warmup(0.3)
    close(schedule(np.arange(7)), [0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3], 0.3)


@pytest.mark.parametrize(("warmup_iters", "T_max", "start_factor", "eta_min"),
                         [(10, 90, 1 / 3, 0.0), (7, 40, 0.01, 0.01), (1, 5, 0.5, 0.0)])
def test_warmup_cosine_is_linear_warmup_then_cosine_from_the_milestone(warmup_iters, T_max,
                                                                       start_factor, eta_min):
    lr = 0.1
    warm = lr * (start_factor + (1 - start_factor) * T / warmup_iters)
    anneal = eta_min + (lr - eta_min) * (1 + np.cos(np.pi * (T - warmup_iters) / T_max)) / 2
    expected = np.where(T < warmup_iters, warm, anneal)
    schedule = schedules.warmup_cosine(lr, warmup_iters, T_max, start_factor, eta_min)
    close(schedule(T), expected, lr)


def test_warmup_cosine_reaches_lr_exactly_at_the_milestone():
    schedule = schedules.warmup_cosine(0.1, warmup_iters=10, T_max=90)
    assert math.isclose(schedule(0), 0.1 / 3, rel_tol=1e-15)
    assert schedule(10) == 0.1
    assert schedule(9) < schedule(10) and schedule(11) < schedule(10)


@pytest.mark.parametrize("schedule", [
    schedules.constant(0.1), schedules.step_decay(0.1, 3), schedules.cosine(0.1, 20),
    schedules.linear_warmup(0.1), schedules.warmup_cosine(0.1, 5, 20),
], ids=repr)
def test_array_of_steps_equals_one_call_per_step_in_any_order(schedule):
    backwards = [schedule(int(t)) for t in T[::-1]][::-1]
    assert all(isinstance(v, float) for v in backwards)
    np.testing.assert_array_equal(schedule(T), backwards)
    np.testing.assert_array_equal(schedule(T.reshape(20, 20)), np.reshape(backwards, (20, 20)))


def test_schedule_prints_as_the_call_that_built_it():
    assert repr(schedules.cosine(0.1, 50)) == "cosine(lr=0.1, T_max=50, eta_min=0.0)"
    assert repr(schedules.step_decay(0.1, 3)) == "step_decay(lr=0.1, step_size=3, gamma=0.1)"


@pytest.mark.parametrize("step", [-1, 1.5, np.array([0, -2]), "3", 10**12])
def test_schedule_rejects_negative_or_fractional_steps(step):
    with pytest.raises(ValueError, match="step"):
        schedules.cosine(0.1, 10)(step)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: schedules.constant(-0.1), "lr"),
    (lambda: schedules.constant(math.nan), "lr"),
    (lambda: schedules.step_decay(0.1, 0), "step_size"),
    (lambda: schedules.step_decay(0.1, 2.5), "step_size"),
    (lambda: schedules.step_decay(0.1, 3, gamma=-1), "gamma"),
    (lambda: schedules.cosine(0.1, 0), "T_max"),
    (lambda: schedules.cosine(0.1, 10, eta_min=math.inf), "eta_min"),
    (lambda: schedules.linear_warmup(0.1, start_factor=0.0), "start_factor"),
    (lambda: schedules.linear_warmup(0.1, start_factor=1.5), "start_factor"),
    (lambda: schedules.linear_warmup(0.1, end_factor=-0.5), "end_factor"),
    (lambda: schedules.linear_warmup(0.1, total_iters=0), "total_iters"),
    (lambda: schedules.warmup_cosine(0.1, 0, 10), "warmup_iters"),
    (lambda: schedules.warmup_cosine(0.1, 5, 0), "T_max"),
])
def test_invalid_schedule_parameters_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
