"""Each update rule against the algorithm as torch.optim's documentation writes it.

The references below are written straight from the pseudo-code in the torch.optim docs (Lion: the
Lion paper / lion-pytorch), in the plainest form, so they share no code with the package. The
live comparison with torch itself is the oracle's job (tests/oracle).
"""

import numpy as np
import pytest

import optimizers
from optimizers import schedules

# a tilted, ill-conditioned quadratic: smooth and not chaotic, so rounding stays at 1e-16
A = np.array([[3.0, 1.0], [1.0, 0.5]])
B = np.array([1.0, -2.0])


def grad_of(p):
    return p @ A - B


STARTS = np.array([[2.0, -1.0], [-3.0, 4.0], [0.5, 0.25]])


def reference_sgd(p, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    b = None
    for _ in range(steps):
        g = grad_of(p) + weight_decay * p
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def reference_adagrad(p, steps, lr, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10):
    s = np.full_like(p, initial_accumulator_value)
    for t in range(1, steps + 1):
        g = grad_of(p) + weight_decay * p
        rate = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2
        p = p - rate * g / (np.sqrt(s) + eps)
    return p


def reference_rmsprop(p, steps, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False):
    v = np.zeros_like(p)
    mean = np.zeros_like(p)
    b = np.zeros_like(p)
    for _ in range(steps):
        g = grad_of(p) + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        v_hat = v
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            v_hat = v - mean**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_hat) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_hat) + eps)
    return p


def reference_adam(p, steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, decoupled=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = grad_of(p)
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def reference_lion(p, steps, lr, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = np.zeros_like(p)
    for _ in range(steps):
        g = grad_of(p)
        p = p * (1 - lr * weight_decay)
        p = p - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    return p


CASES = [
    ("sgd", {"lr": 0.05}, reference_sgd),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}, reference_sgd),
    ("sgd", {"lr": 0.02, "momentum": 0.8, "dampening": 0.3}, reference_sgd),
    ("momentum", {"lr": 0.02}, lambda p, s, **h: reference_sgd(p, s, momentum=0.9, **h)),
    ("nesterov", {"lr": 0.02, "weight_decay": 0.05},
     lambda p, s, **h: reference_sgd(p, s, momentum=0.9, nesterov=True, **h)),
    ("adagrad", {"lr": 0.3}, reference_adagrad),
    ("adagrad", {"lr": 0.3, "lr_decay": 0.05, "weight_decay": 0.01,
                 "initial_accumulator_value": 0.5, "eps": 1e-6}, reference_adagrad),
    ("rmsprop", {"lr": 0.01}, reference_rmsprop),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01},
     reference_rmsprop),
    ("rmsprop", {"lr": 0.001, "centered": True, "eps": 1e-3}, reference_rmsprop),
    ("adam", {"lr": 0.05}, reference_adam),
    ("adam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True},
     reference_adam),
    ("adamw", {"lr": 0.05}, lambda p, s, **h: reference_adam(p, s, weight_decay=0.01,
                                                            decoupled=True, **h)),
    ("adamw", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True},
     lambda p, s, **h: reference_adam(p, s, decoupled=True, **h)),
    ("lion", {"lr": 0.01}, reference_lion),
    ("lion", {"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.5}, reference_lion),
]


def run(opt, p, steps):
    state = opt.init(p)
    for _ in range(steps):
        p, state = opt.step(p, grad_of(p), state)
    return p


@pytest.mark.parametrize(("name", "hyper", "reference"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_follows_the_documented_algorithm_for_40_steps(name, hyper, reference):
    ours = run(optimizers.get(name, **hyper), STARTS, 40)
    np.testing.assert_allclose(ours, reference(STARTS, 40, **hyper), rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_coordinate_by_lr_times_sign():
    # m̂ = g and v̂ = g² after one step: the step is lr·g/(|g| + ε)
    opt = optimizers.get("adam", lr=0.1)
    p = np.array([4.0, 3.0])
    g = np.array([8.0, -18.0])
    p1, state = opt.step(p, g, opt.init(p))
    np.testing.assert_allclose(p1, [4.0 - 0.1 * 8 / (8 + 1e-8), 3.0 + 0.1 * 18 / (18 + 1e-8)],
                               rtol=1e-15)
    np.testing.assert_allclose(state.exp_avg, 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(state.exp_avg_sq, 0.001 * g**2, rtol=1e-12)


def test_sgd_momentum_buffer_starts_as_the_first_gradient_without_dampening():
    # torch: b₁ = g₁ (no (1 − τ) factor), then b ← μb + (1 − τ)g
    opt = optimizers.get("sgd", lr=0.1, momentum=0.9, dampening=0.5)
    p = np.array([1.0, 1.0])
    p1, state = opt.step(p, np.array([2.0, 4.0]), opt.init(p))
    np.testing.assert_allclose(state.momentum_buffer, [2.0, 4.0])
    np.testing.assert_allclose(p1, [0.8, 0.6])
    p2, state = opt.step(p1, np.array([1.0, 1.0]), state)
    np.testing.assert_allclose(state.momentum_buffer, [0.9 * 2 + 0.5, 0.9 * 4 + 0.5])
    np.testing.assert_allclose(p2, [0.8 - 0.1 * 2.3, 0.6 - 0.1 * 4.1])


def test_plain_sgd_keeps_no_buffer():
    opt = optimizers.get("sgd", lr=0.1)
    _, state = opt.step(np.ones(2), np.ones(2), opt.init(np.ones(2)))
    assert state.momentum_buffer is None and state.t == 1


def test_adagrad_lr_decay_divides_the_rate_by_1_plus_t_minus_1_times_decay():
    # constant gradient 1: s_t = t, so step t moves by lr/(1 + (t−1)·decay) / √t
    opt = optimizers.get("adagrad", lr=1.0, lr_decay=0.5, eps=0.0)
    p, state = np.zeros(1), opt.init(np.zeros(1))
    moves = []
    for _ in range(4):
        new, state = opt.step(p, np.ones(1), state)
        moves.append(p[0] - new[0])
        p = new
    np.testing.assert_allclose(moves, [1 / (1 + t * 0.5) / np.sqrt(t + 1) for t in range(4)],
                               rtol=1e-15)


def test_rmsprop_first_step_is_ten_times_lr_against_the_gradient():
    # v = 0.01·g², √v = 0.1·|g|: the step is lr·g/(0.1|g| + ε)
    opt = optimizers.get("rmsprop", lr=0.01)
    p1, _ = opt.step(np.zeros(2), np.array([3.0, -0.5]), opt.init(np.zeros(2)))
    np.testing.assert_allclose(p1, [-0.01 * 3 / (0.3 + 1e-8), 0.01 * 0.5 / (0.05 + 1e-8)],
                               rtol=1e-14)


def test_adamw_decays_the_weights_before_the_adam_step():
    # zero gradient: m = v = 0, so only the decoupled decay w ← w(1 − ηλ) acts
    opt = optimizers.get("adamw", lr=0.1, weight_decay=0.5)
    p1, _ = opt.step(np.array([2.0, -4.0]), np.zeros(2), opt.init(np.zeros(2)))
    np.testing.assert_allclose(p1, [2.0 * 0.95, -4.0 * 0.95], rtol=1e-15)


def test_adam_weight_decay_is_added_to_the_gradient_instead():
    # zero gradient: g = λw, so the first step is lr·sign(w), not a decay of w
    opt = optimizers.get("adam", lr=0.1, weight_decay=0.5)
    p1, _ = opt.step(np.array([2.0, -4.0]), np.zeros(2), opt.init(np.zeros(2)))
    np.testing.assert_allclose(p1, [1.9, -3.9], rtol=1e-7)


def test_lion_steps_by_exactly_lr_per_coordinate_and_ignores_gradient_size():
    opt = optimizers.get("lion", lr=0.01)
    p = np.array([1.0, 1.0, 1.0])
    p1, state = opt.step(p, np.array([1e-9, -5e3, 0.0]), opt.init(p))
    np.testing.assert_allclose(p1, [0.99, 1.01, 1.0], rtol=1e-15)
    np.testing.assert_allclose(state.exp_avg, [1e-11, -50.0, 0.0], rtol=1e-12)


def test_lion_takes_the_sign_of_nan_as_zero_like_torch():
    opt = optimizers.get("lion", lr=0.01)
    p1, _ = opt.step(np.array([1.0, 1.0]), np.array([np.nan, 1.0]), opt.init(np.zeros(2)))
    np.testing.assert_array_equal(p1, [1.0, 0.99])


@pytest.mark.parametrize("name", optimizers.names())
def test_update_number_t_uses_the_schedule_value_at_t(name):
    # a zero gradient except the decay: only the lr matters, and the schedule changes it
    schedule = schedules.step_decay(0.1, step_size=1, gamma=0.5)  # 0.1, 0.05, 0.025, ...
    scheduled = optimizers.get(name, lr=schedule)
    p, state = np.array([1.0, -2.0]), scheduled.init(np.zeros(2))
    g = np.array([0.5, 0.25])
    for t in range(4):
        fixed = optimizers.get(name, lr=schedule(t))
        expected, _ = fixed.step(p, g, state)
        p, state = scheduled.step(p, g, state)
        np.testing.assert_array_equal(p, expected)
        assert scheduled.lr_at(t) == 0.1 * 0.5**t


def test_any_callable_is_a_schedule():
    opt = optimizers.get("sgd", lr=lambda t: 0.1 / (t + 1))
    p, state = np.zeros(1), opt.init(np.zeros(1))
    for _ in range(3):
        p, state = opt.step(p, np.ones(1), state)
    np.testing.assert_allclose(p, [-(0.1 + 0.05 + 0.1 / 3)], rtol=1e-15)


def test_optimizer_prints_its_hyperparameters_and_schedule():
    text = repr(optimizers.get("adam", lr=schedules.cosine(0.1, 50), clip_norm=1.0))
    assert "name='adam'" in text and "cosine(lr=0.1, T_max=50, eta_min=0.0)" in text
    assert "clip_norm=1.0" in text and "betas': (0.9, 0.999)" in text
