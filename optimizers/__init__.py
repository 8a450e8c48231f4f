"""Optimizer step functions, schedules, clipping and the descend() driver (pure numpy).

    import optimizers
    opt = optimizers.get("adam", lr=0.01)          # torch.optim's names and defaults
    state = opt.init(params)                       # params (..., d): leading axes = runs
    params, state = opt.step(params, grad, state)  # pure
    run = optimizers.descend(landscape, opt, start, steps=100)
"""

from . import schedules
from .core import Optimizer, clip_by_norm, get, names
from .descent import DIVERGENCE_WIDTHS, Run, descend, minibatches
from .rules import AdagradState, AdamState, LionState, RMSpropState, SGDState

__all__ = [
    "DIVERGENCE_WIDTHS",
    "AdagradState",
    "AdamState",
    "LionState",
    "Optimizer",
    "RMSpropState",
    "Run",
    "SGDState",
    "clip_by_norm",
    "descend",
    "get",
    "minibatches",
    "names",
    "schedules",
]
