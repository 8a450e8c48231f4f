"""Inside the optimizer (optimizers/inspection.py): replaying a run reproduces descend() bit for
bit, the reported state is the optimizer's own, the derived quantities follow their formulas,
and a diverged run reports NaN, never inf."""

import numpy as np
import pytest

import landscapes
import optimizers
from optimizers import schedules

# every optimizer, plus the variants whose state has extra fields
VARIANTS = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.1}),
    ("momentum", {}),
    ("momentum", {"dampening": 0.3, "weight_decay": 0.05}),
    ("nesterov", {}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("lion", {}),
    ("lion", {"weight_decay": 0.5}),
]
IDS = [name + "".join(f"-{k}" for k in hyper) for name, hyper in VARIANTS]
LR = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5, "rmsprop": 0.05,
      "adam": 0.1, "adamw": 0.1, "lion": 0.05}


SGD_FAMILY = ("sgd", "momentum", "nesterov")


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# ---- replay == descend() ---------------------------------------------------------------------

CASES = [
    ("bowl", None, {}),
    ("rosenbrock", None, {"clip_norm": 1.0}),
    ("himmelblau", None, {"schedule": "cosine"}),
    ("line-fit", 4, {"schedule": "warmup", "clip_norm": 0.5}),
]


def _optimizer(name, hyper, case_options, scale=1.0):
    lr = LR[name] * scale
    schedule = case_options.get("schedule")
    if schedule == "cosine":
        lr = schedules.cosine(lr, T_max=12)
    elif schedule == "warmup":
        lr = schedules.linear_warmup(lr, total_iters=4)
    return optimizers.get(name, lr=lr, clip_norm=case_options.get("clip_norm"), **hyper)


@pytest.mark.parametrize(("name", "hyper"), VARIANTS, ids=IDS)
@pytest.mark.parametrize(("landscape", "batch_size", "options"), CASES,
                         ids=[c[0] for c in CASES])
def test_replay_reproduces_descend_points_bit_for_bit(name, hyper, landscape, batch_size,
                                                      options):
    L = landscapes.get(landscape)
    scale = 0.1 if landscape == "rosenbrock" and name in SGD_FAMILY else 1
    opt = _optimizer(name, hyper, options, scale)
    steps = 20
    run = optimizers.descend(L, opt, L.start, steps, batch_size=batch_size, seed=3)
    trail = optimizers.trace(L, opt, L.start, steps, batch_size=batch_size, seed=3)
    assert same_bits(trail.points, run.points)
    assert trail.diverged_at == run.diverged_at
    for k in (0, 1, 7, steps - 1):
        report = trail.report(k)
        assert same_bits(report.point, run.points[k])
        assert same_bits(report.next_point, run.points[k + 1])
        assert report.step == k
    alone = optimizers.inspect_step(L, opt, L.start, 7, batch_size=batch_size, seed=3)
    assert same_bits(alone.point, run.points[7]) and same_bits(alone.next_point, run.points[8])


@pytest.mark.parametrize("name", optimizers.names())
def test_replay_on_a_1d_curve_reproduces_descend(name):
    curve = landscapes.curve("shifted")
    opt = optimizers.get(name, lr=0.3)
    run = optimizers.descend(curve, opt, 0.0, 12)
    trail = optimizers.trace(curve, opt, 0.0, 12)
    assert same_bits(trail.points, run.points)
    report = trail.report(4)
    assert report.point.shape == (1,) and same_bits(report.next_point, run.points[5])


def test_a_diverging_run_replays_with_the_same_nan_points_and_step():
    L = landscapes.get("bowl")
    opt = optimizers.get("sgd", lr=0.4)  # the lesson's "flies off" example: diverges at 45
    run = optimizers.descend(L, opt, L.start, 60)
    trail = optimizers.trace(L, opt, L.start, 60)
    np.testing.assert_array_equal(trail.points, run.points)
    assert trail.diverged_at == run.diverged_at == 45


# ---- the reported state is the optimizer's own -----------------------------------------------

def _stepped_by_hand(L, opt, start, k):
    """States before and after update k + 1, from opt.step itself on shape (2,)."""
    params = np.asarray(start, dtype=np.float64)
    state = opt.init(params)
    for _ in range(k):
        params, state = opt.step(params, L.grad(params), state)
    grad = L.grad(params)
    after_params, after = opt.step(params, grad, state)
    return params, grad, state, after_params, after


def _assert_state_equal(reported, own):
    assert type(reported) is type(own)
    for field in own._fields:
        mine, theirs = getattr(reported, field), getattr(own, field)
        if theirs is None or isinstance(theirs, int):
            assert mine == theirs, field
        else:
            assert same_bits(np.asarray(mine)[0], theirs), field


@pytest.mark.parametrize(("name", "hyper"), VARIANTS, ids=IDS)
@pytest.mark.parametrize("k", [0, 1, 5, 13])
def test_reported_state_equals_the_optimizers_own_state(name, hyper, k):
    L = landscapes.get("himmelblau")
    opt = optimizers.get(name, lr=LR[name] * (0.2 if name in SGD_FAMILY else 1), **hyper)
    report = optimizers.inspect_step(L, opt, L.start, k)
    assert report.diverged_at == -1
    params, grad, before, after_params, after = _stepped_by_hand(L, opt, L.start, k)
    _assert_state_equal(report.state, before)
    _assert_state_equal(report.updated, after)
    assert same_bits(report.point, params) and same_bits(report.next_point, after_params)
    assert same_bits(report.grad, grad)
    assert same_bits(report.quantity("g").value, grad)
    fields = {  # row key -> the state field it shows, straight from the state object
        "velocity": "momentum_buffer", "sum": "sum", "square_avg": "square_avg",
        "grad_avg": "grad_avg", "m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq",
    }
    shown = 0
    for key, field in fields.items():
        if report.has(key):
            assert same_bits(report.quantity(key).value, getattr(after, field)), key
            shown += 1
    assert shown >= (0 if name == "sgd" else 1)


@pytest.mark.parametrize("k", [0, 3, 20])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_bias_corrected_moments_follow_their_formulas(name, k):
    L = landscapes.get("rosenbrock")
    opt = optimizers.get(name, lr=0.05, betas=(0.8, 0.95))
    report = optimizers.inspect_step(L, opt, L.start, k)
    m, v = report.updated.exp_avg[0], report.updated.exp_avg_sq[0]
    np.testing.assert_array_equal(report.quantity("m_hat").value, m / (1 - 0.8 ** (k + 1)))
    np.testing.assert_array_equal(report.quantity("v_hat").value, v / (1 - 0.95 ** (k + 1)))
    rate = report.quantity("rate").value
    np.testing.assert_allclose(rate, 0.05 / (np.sqrt(report.quantity("v_hat").value) + 1e-8))
    assert r"\hat v" in report.quantity("v_hat").formula


def test_lion_reports_the_interpolated_update_and_its_sign():
    L = landscapes.get("bowl")
    opt = optimizers.get("lion", lr=0.1)
    report = optimizers.inspect_step(L, opt, L.start, 3)
    beta1 = 0.9
    c = report.state.exp_avg[0] * beta1 + (1 - beta1) * report.grad
    np.testing.assert_array_equal(report.quantity("c").value, c)
    np.testing.assert_array_equal(report.quantity("sign").value, np.sign(c))
    np.testing.assert_allclose(report.delta, -0.1 * np.sign(c), rtol=1e-12)


# ---- Δ and the effective learning rate -------------------------------------------------------

@pytest.mark.parametrize(("name", "hyper"), VARIANTS, ids=IDS)
def test_delta_and_effective_rate(name, hyper):
    L = landscapes.get("booth")
    opt = optimizers.get(name, lr=LR[name] / 2, **hyper)
    trail = optimizers.trace(L, opt, L.start, 12)
    for k in (0, 4, 11):
        report = trail.report(k)
        np.testing.assert_array_equal(report.delta, trail.points[k + 1] - trail.points[k])
        np.testing.assert_array_equal(report.quantity("delta").value, report.delta)
        g = report.grad
        assert (g != 0).all()
        # measured: −Δ/g, so rate · g = −Δ (to one rounding)
        np.testing.assert_allclose(report.effective_lr * g, -report.delta, rtol=1e-14)
        # the rule's closed form agrees with the measured rate (w + Δ − w rounds: loose rtol)
        np.testing.assert_allclose(report.rule_lr, report.effective_lr, rtol=1e-9, atol=1e-13)
        np.testing.assert_array_equal(report.quantity("effective_lr").value, report.effective_lr)


def test_sgd_effective_rate_is_eta_exactly_by_its_rule_and_to_rounding_measured():
    L = landscapes.get("bowl")
    report = optimizers.inspect_step(L, optimizers.get("sgd", lr=0.1), L.start, 2)
    np.testing.assert_array_equal(report.rule_lr, [0.1, 0.1])
    np.testing.assert_allclose(report.effective_lr, [0.1, 0.1], rtol=1e-13)
    assert report.quantity("rule_lr").formula == r"\eta"


def test_effective_rate_is_nan_where_the_gradient_is_zero():
    L = landscapes.get("bowl")
    report = optimizers.inspect_step(L, optimizers.get("adam", lr=0.1), (2.0, 0.0), 0)
    assert report.grad[1] == 0
    assert np.isnan(report.effective_lr[1]) and np.isnan(report.rule_lr[1])
    assert np.isfinite(report.effective_lr[0])


def test_momentum_coast_is_the_velocity_carried_in_and_completes_the_step():
    L = landscapes.get("valley")
    opt = optimizers.get("momentum", lr=0.01, momentum=0.9)
    trail = optimizers.trace(L, opt, L.start, 10)
    assert np.isnan(trail.report(0).coast).all()  # torch has no buffer before the first step
    report = trail.report(5)
    b_k = report.state.momentum_buffer[0]
    np.testing.assert_array_equal(report.coast, -0.01 * 0.9 * b_k)
    np.testing.assert_allclose(report.delta, report.coast - 0.01 * report.grad, rtol=1e-12)
    nesterov = optimizers.trace(L, optimizers.get("nesterov", lr=0.01), L.start, 10).report(5)
    np.testing.assert_array_equal(nesterov.coast,
                                  -0.01 * 0.81 * nesterov.state.momentum_buffer[0])
    assert np.isnan(optimizers.inspect_step(L, optimizers.get("adam"), L.start, 3).coast).all()


def test_clipping_reports_the_clipped_gradient_and_its_scale():
    L = landscapes.get("rosenbrock")
    opt = optimizers.get("sgd", lr=0.01, clip_norm=0.5)
    report = optimizers.inspect_step(L, opt, L.start, 0)
    raw = L.grad(np.asarray(L.start))
    np.testing.assert_array_equal(report.raw_grad, raw)
    assert report.clip_scale < 1
    np.testing.assert_allclose(np.linalg.norm(report.grad), 0.5, rtol=1e-5)
    np.testing.assert_allclose(report.grad, raw * report.clip_scale, rtol=1e-12)
    assert r"\min" in report.quantity("g").formula


def test_schedule_reports_that_steps_learning_rate():
    L = landscapes.get("bowl")
    opt = optimizers.get("sgd", lr=schedules.step_decay(0.1, step_size=3, gamma=0.5))
    report = optimizers.inspect_step(L, opt, L.start, 4)
    assert report.lr == 0.05
    assert "schedule" in report.quantity("lr").formula


def test_mini_batch_gradient_is_the_batchs():
    L = landscapes.get("line-fit")
    trail = optimizers.trace(L, optimizers.get("sgd", lr=0.1), L.start, 5, batch_size=2, seed=1)
    report = trail.report(3)
    batch_grad = L.grad(report.point, batch=trail.batches[3])
    np.testing.assert_array_equal(report.grad, batch_grad)
    np.testing.assert_array_equal(report.full_grad, L.grad(report.point))
    assert "B_k" in report.quantity("g").formula


# ---- divergence, flat ground, bad input ------------------------------------------------------

def _all_display_numbers(report):
    arrays = [report.point, report.next_point, report.delta, report.grad, report.raw_grad,
              report.effective_lr, report.rule_lr, report.coast, report.full_grad,
              report.next_grad, report.previous_delta, np.array([report.loss,
                                                                 report.next_loss])]
    return [*arrays, *(row.value for row in report.quantities)]


@pytest.mark.parametrize("name", optimizers.names())
def test_a_diverged_step_reports_nan_never_inf(name):
    L = landscapes.get("bowl")
    opt = optimizers.get(name, lr=1e9)  # the first step lands 1e8 display widths away
    trail = optimizers.trace(L, opt, L.start, 5)
    assert trail.diverged_at == 1
    for k in (0, 1, 4):
        report = trail.report(k)
        for values in _all_display_numbers(report):
            assert not np.isinf(values).any()
        assert report.diverged and report.diverged_at == 1
    assert np.isfinite(trail.report(0).point).all()
    assert np.isnan(trail.report(0).next_point).all() and np.isnan(trail.report(0).delta).all()
    assert np.isnan(trail.report(1).point).all()
    after = trail.report(4)  # nothing left to measure: every rate is NaN too
    assert np.isnan(after.effective_lr).all() and np.isnan(after.rule_lr).all()


class Cliff:
    """L = 1e200·(x + y): finite everywhere on the display, but g² overflows to inf."""

    bounds = ((-1.0, 1.0), (-1.0, 1.0))

    def loss(self, p):
        return 1e200 * (p[..., 0] + p[..., 1])

    def grad(self, p):
        return np.full_like(p, 1e200)


def test_the_state_may_overflow_but_the_shown_numbers_do_not():
    report = optimizers.inspect_step(Cliff(), optimizers.get("adagrad", lr=0.1), (0.5, 0.5), 0)
    assert np.isinf(report.updated.sum).all()  # the raw state, as the optimizer has it
    assert np.isnan(report.quantity("sum").value).all()  # shown: NaN, not inf
    for values in _all_display_numbers(report):
        assert not np.isinf(values).any()


def test_flat_ground_is_classified_by_curvature():
    bowl = landscapes.get("bowl")
    assert optimizers.inspect_step(bowl, "sgd", (0.0, 0.0), 0).stationary == "minimum"
    assert optimizers.inspect_step(bowl, "sgd", (4.0, 3.0), 0).stationary == ""
    saddle = landscapes.get("saddle")
    assert optimizers.inspect_step(saddle, "sgd", (0.0, 0.0), 0).stationary == "saddle"
    curve = landscapes.curve("shifted")
    assert optimizers.inspect_step(curve, "sgd", 3.0, 0).stationary == "minimum"


def test_bad_arguments_raise_clear_errors():
    L = landscapes.get("bowl")
    with pytest.raises(ValueError, match="one run"):
        optimizers.trace(L, "sgd", [[1.0, 2.0], [3.0, 4.0]], 3)
    trail = optimizers.trace(L, "sgd", L.start, 3)
    with pytest.raises(ValueError, match="between 0 and 2"):
        trail.report(3)
    with pytest.raises(ValueError, match="integer"):
        trail.report(1.5)
    with pytest.raises(ValueError, match=">= 0"):
        optimizers.inspect_step(L, "sgd", L.start, -1)
    with pytest.raises(KeyError, match="reports no 'm'"):
        trail.report(0).quantity("m")


def test_every_row_has_a_formula_and_a_label():
    L = landscapes.get("bowl")
    for name, hyper in VARIANTS:
        report = optimizers.inspect_step(L, optimizers.get(name, lr=0.1, **hyper), L.start, 2)
        keys = [row.key for row in report.quantities]
        assert len(keys) == len(set(keys))
        assert keys[:2] == ["lr", "g"] and keys[-3:] == ["delta", "effective_lr", "rule_lr"]
        for row in report.quantities:
            assert row.formula and row.label
            assert row.value.shape in ((), (2,))


@pytest.mark.parametrize("module", ["inspection", "quiz"])
def test_imports_only_numpy_and_the_standard_library(module):
    import ast
    import importlib
    import sys
    from pathlib import Path

    source = Path(importlib.import_module(f"optimizers.{module}").__file__).read_text()
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported - sys.stdlib_module_names <= {"numpy"}
