"""The optimizer registry, hyperparameter checks, learning-rate resolution and clipping."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from . import rules
from ._checks import number


class _Spec(NamedTuple):
    defaults: dict
    init: Callable
    update: Callable


_SGD_DEFAULTS = {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                 "nesterov": False}
_ADAM_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                  "amsgrad": False}

# torch.optim's parameter names and defaults (Lion: lion-pytorch's)
_REGISTRY = {
    "sgd": _Spec(_SGD_DEFAULTS, rules.sgd_init, rules.sgd),
    "momentum": _Spec({**_SGD_DEFAULTS, "momentum": 0.9}, rules.sgd_init, rules.sgd),
    "nesterov": _Spec({**_SGD_DEFAULTS, "momentum": 0.9, "nesterov": True},
                      rules.sgd_init, rules.sgd),
    "adagrad": _Spec({"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0,
                      "initial_accumulator_value": 0.0, "eps": 1e-10},
                     rules.adagrad_init, rules.adagrad),
    "rmsprop": _Spec({"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0,
                      "momentum": 0.0, "centered": False},
                     rules.rmsprop_init, rules.rmsprop),
    "adam": _Spec(_ADAM_DEFAULTS, rules.adam_init, rules.adam),
    "adamw": _Spec({**_ADAM_DEFAULTS, "weight_decay": 1e-2}, rules.adam_init, rules.adamw),
    "lion": _Spec({"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0},
                  rules.lion_init, rules.lion),
}

# hyperparameters that must be finite and >= 0 (torch rejects negatives for all of these)
_NON_NEGATIVE = ("momentum", "weight_decay", "lr_decay", "initial_accumulator_value", "eps",
                 "alpha")
_FLAGS = ("nesterov", "amsgrad", "centered")


def names():
    """The optimizers' ids, in teaching order."""
    return list(_REGISTRY)


def _check_lr(lr):
    if callable(lr):
        return lr
    return number("lr", lr, low=0.0)


def _check_betas(betas):
    try:
        pair = tuple(betas)
    except TypeError:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    if len(pair) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    checked = tuple(number(f"betas[{i}]", b) for i, b in enumerate(pair))
    for i, b in enumerate(checked):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"betas[{i}] must be in [0, 1), got {b!r}")
    return checked


def _check_hyper(name, hyper):
    checked = {}
    for key, value in hyper.items():
        if key == "lr":
            checked[key] = _check_lr(value)
        elif key == "betas":
            checked[key] = _check_betas(value)
        elif key in _FLAGS:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{key} must be True or False, got {value!r}")
            checked[key] = bool(value)
        elif key in _NON_NEGATIVE:
            checked[key] = number(key, value, low=0.0)
        else:  # dampening: any finite number, as in torch
            checked[key] = number(key, value)
    if checked.get("nesterov") and (checked["momentum"] <= 0 or checked["dampening"] != 0):
        raise ValueError(f"{name}: Nesterov momentum needs momentum > 0 and dampening = 0")
    return checked


def clip_by_norm(grad, max_norm):
    """Scale each run's gradient so its norm (over the last axis) is at most max_norm.

    As torch.nn.utils.clip_grad_norm_: g ← g · min(1, max_norm / (‖g‖ + 1e-6)).
    """
    with np.errstate(all="ignore"):  # inf or NaN gradients give NaN, silently
        return _clipped(np.asarray(grad, dtype=np.float64), max_norm)


def _clipped(grad, max_norm):
    total_norm = np.sqrt(np.sum(grad * grad, axis=-1, keepdims=True))
    clip_coef = max_norm / (total_norm + 1e-6)
    return grad * np.minimum(clip_coef, 1.0)


@dataclass(frozen=True, eq=False)
class Optimizer:
    """An optimizer: ``init(params) -> state`` and ``step(params, grad, state) -> (params, state)``.

    Both are pure: they never modify their inputs. params and grad have shape (..., d); leading
    axes are independent runs, so one call steps one run or forty thousand.
    ``lr`` is a number or a schedule ``step -> lr`` (step 0 is the first update).
    ``clip_norm`` (None = off) clips each run's gradient by its norm before the update.
    """

    name: str
    hyper: dict = field(repr=True)
    clip_norm: float | None = None
    _spec: Any = field(default=None, repr=False)

    @property
    def lr(self):
        return self.hyper["lr"]

    def lr_at(self, step):
        """The learning rate of update number ``step`` (0 = the first update)."""
        lr = self.hyper["lr"]
        return float(lr(step)) if callable(lr) else lr

    def init(self, params):
        params = np.asarray(params, dtype=np.float64)
        return self._spec.init(params, **self.hyper)

    def step(self, params, grad, state):
        params = np.asarray(params, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != params.shape:
            raise ValueError(f"grad has shape {grad.shape} but params have shape {params.shape}")
        with np.errstate(all="ignore"):  # a diverging run overflows: that is a result, not a bug
            return self._update(params, grad, state)

    def _update(self, params, grad, state):
        """step() for float64 arrays of one shape, with numpy's warnings already off."""
        if self.clip_norm is not None:
            grad = _clipped(grad, self.clip_norm)
        return self._spec.update(params, grad, state, lr=self.lr_at(state.t), **self._fixed)

    @cached_property
    def _fixed(self):
        """The hyperparameters other than the learning rate."""
        return {key: value for key, value in self.hyper.items() if key != "lr"}


def get(name, clip_norm=None, **hyper):
    """The optimizer ``name`` with torch.optim's hyperparameter names and defaults.

    sgd(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False);
    momentum / nesterov: sgd with momentum=0.9 (nesterov=True);
    adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10);
    rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False);
    adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False);
    adamw: adam with weight_decay=1e-2, decoupled; lion(lr=1e-4, betas=(0.9, 0.99),
    weight_decay=0) as lion-pytorch 0.2.5. ``lr`` may be a schedule (optimizers.schedules).
    Unknown names or hyperparameters and invalid values raise ValueError.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(_REGISTRY)}")
    spec = _REGISTRY[name]
    unknown = sorted(set(hyper) - set(spec.defaults))
    if unknown:
        raise ValueError(f"{name} has no hyperparameter {', '.join(map(repr, unknown))}; "
                         f"its hyperparameters are {', '.join(spec.defaults)}, clip_norm")
    checked = _check_hyper(name, {**spec.defaults, **hyper})
    if clip_norm is not None:
        clip_norm = number("clip_norm", clip_norm)
        if clip_norm <= 0:
            raise ValueError(f"clip_norm must be > 0 (or None to turn clipping off), "
                             f"got {clip_norm!r}")
    return Optimizer(name=name, hyper=checked, clip_norm=clip_norm, _spec=spec)
