"""The optimizer contract, for every registered optimizer: names, defaults, purity, batching."""

import math

import numpy as np
import pytest

import optimizers

ALL = optimizers.names()

# torch.optim's documented defaults (Lion: lion-pytorch 0.2.5's), lr included
TORCH_DEFAULTS = {
    "sgd": {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False},
    "momentum": {"lr": 1e-3, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                 "nesterov": False},
    "nesterov": {"lr": 1e-3, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                 "nesterov": True},
    "adagrad": {"lr": 1e-2, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0,
                "eps": 1e-10},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0,
                "centered": False},
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
             "amsgrad": False},
    "adamw": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2,
              "amsgrad": False},
    "lion": {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0},
}

# every optional state field switched on, so purity and batching are checked for all of them
FULL_OPTIONS = {
    "sgd": {"lr": 0.01, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.1},
    "momentum": {"lr": 0.01},
    "nesterov": {"lr": 0.01, "weight_decay": 0.1},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                "initial_accumulator_value": 0.2},
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    "adamw": {"lr": 0.01, "amsgrad": True},
    "lion": {"lr": 0.01, "weight_decay": 0.1},
}


def rosenbrock_grad(p):
    x, y = p[..., 0], p[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], axis=-1)


def frozen(a):
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def test_names_in_teaching_order():
    assert optimizers.names() == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                  "adamw", "lion"]


@pytest.mark.parametrize("name", ALL)
def test_defaults_equal_torch_defaults(name):
    opt = optimizers.get(name)
    assert opt.hyper == TORCH_DEFAULTS[name]
    assert opt.clip_norm is None
    assert opt.lr == TORCH_DEFAULTS[name]["lr"]


@pytest.mark.parametrize("name", ALL)
def test_state_is_a_printable_namedtuple_with_a_step_count(name):
    opt = optimizers.get(name, **FULL_OPTIONS[name])
    params = np.array([[1.0, 2.0], [3.0, -4.0]])
    state = opt.init(params)
    assert isinstance(state, tuple) and hasattr(state, "_fields")
    assert state.t == 0
    for value in state[1:]:
        assert value is None or value.shape == params.shape
    _, state = opt.step(params, rosenbrock_grad(params), state)
    assert state.t == 1
    assert type(state).__name__ in repr(state) and "t=1" in repr(state)


@pytest.mark.parametrize("name", ALL)
def test_step_never_mutates_its_inputs(name):
    opt = optimizers.get(name, **FULL_OPTIONS[name], clip_norm=5.0)
    params = frozen([[1.0, 2.0], [-0.5, 0.3]])
    state = opt.init(params)
    for _ in range(3):  # read-only inputs: an in-place write would raise
        grad = frozen(rosenbrock_grad(params))
        before = [None if v is None else np.array(v) for v in state[1:]]
        for v in state[1:]:
            if v is not None:
                v.setflags(write=False)
        new_params, new_state = opt.step(params, grad, state)
        np.testing.assert_array_equal(grad, rosenbrock_grad(params))
        for old, kept in zip(before, state[1:], strict=True):
            if old is not None:
                np.testing.assert_array_equal(old, kept)
        assert new_params is not params
        params, state = frozen(new_params), new_state


@pytest.mark.parametrize("name", ALL)
def test_a_batch_of_runs_equals_a_loop_of_single_runs(name):
    opt = optimizers.get(name, **FULL_OPTIONS[name], clip_norm=50.0)
    rng = np.random.default_rng(1)
    starts = rng.uniform(-1.5, 1.5, size=(3, 4, 2))

    batch, state = starts, opt.init(starts)
    for _ in range(25):
        batch, state = opt.step(batch, rosenbrock_grad(batch), state)

    for index in np.ndindex(starts.shape[:-1]):
        single, single_state = starts[index], opt.init(starts[index])
        for _ in range(25):
            single, single_state = opt.step(single, rosenbrock_grad(single), single_state)
        np.testing.assert_array_equal(batch[index], single)


@pytest.mark.parametrize("name", ALL)
def test_every_optimizer_goes_downhill_on_a_bowl(name):
    opt = optimizers.get(name, lr=0.05)
    params = np.array([2.0, -1.5])
    state = opt.init(params)
    for _ in range(20):
        params, state = opt.step(params, 2 * params, state)
    assert np.sum(params**2) < 2.0**2 + 1.5**2


def test_unknown_optimizer_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'.*adam"):
        optimizers.get("adamax")


@pytest.mark.parametrize("name", ALL)
def test_unknown_hyperparameter_is_a_value_error(name):
    with pytest.raises(ValueError, match="no hyperparameter 'learning_rate'"):
        optimizers.get(name, learning_rate=0.1)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf, "fast", None])
def test_invalid_lr_is_a_value_error(name, lr):
    with pytest.raises(ValueError, match="lr"):
        optimizers.get(name, lr=lr)


@pytest.mark.parametrize("name", ["adam", "adamw", "lion"])
@pytest.mark.parametrize("betas", [(1.0, 0.9), (0.9, 1.0), (-0.1, 0.9), (0.9, math.nan),
                                   (0.9,), 0.9])
def test_betas_outside_0_1_are_a_value_error(name, betas):
    with pytest.raises(ValueError, match="betas"):
        optimizers.get(name, betas=betas)


@pytest.mark.parametrize(("name", "hyper", "message"), [
    ("sgd", {"momentum": -0.5}, "momentum must be >= 0"),
    ("sgd", {"weight_decay": -1e-3}, "weight_decay must be >= 0"),
    ("sgd", {"dampening": math.nan}, "dampening must be finite"),
    ("sgd", {"nesterov": True}, "Nesterov momentum needs momentum > 0"),
    ("nesterov", {"dampening": 0.1}, "Nesterov momentum needs .* dampening = 0"),
    ("sgd", {"nesterov": "yes"}, "nesterov must be True or False"),
    ("adagrad", {"lr_decay": -1.0}, "lr_decay must be >= 0"),
    ("adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value must be >= 0"),
    ("adagrad", {"eps": -1e-10}, "eps must be >= 0"),
    ("rmsprop", {"alpha": -0.5}, "alpha must be >= 0"),
    ("rmsprop", {"momentum": math.inf}, "momentum must be finite"),
    ("adam", {"eps": math.nan}, "eps must be finite"),
    ("adam", {"amsgrad": 1}, "amsgrad must be True or False"),
    ("adamw", {"weight_decay": -0.01}, "weight_decay must be >= 0"),
    ("lion", {"weight_decay": math.nan}, "weight_decay must be finite"),
])
def test_invalid_hyperparameters_are_value_errors(name, hyper, message):
    with pytest.raises(ValueError, match=message):
        optimizers.get(name, **hyper)


@pytest.mark.parametrize("clip_norm", [0.0, -1.0, math.nan, math.inf, "big"])
def test_invalid_clip_norm_is_a_value_error(clip_norm):
    with pytest.raises(ValueError, match="clip_norm"):
        optimizers.get("sgd", clip_norm=clip_norm)


def test_grad_of_another_shape_is_a_value_error():
    opt = optimizers.get("adam")
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.zeros((3, 2)), np.zeros(2), opt.init(np.zeros((3, 2))))
