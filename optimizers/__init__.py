"""Optimizer step functions, schedules, clipping and the descend() driver (pure numpy).

    import optimizers
    optimizers.names()                             # sgd momentum nesterov adagrad rmsprop adam
                                                   # adamw lion
    opt = optimizers.get("adam", lr=0.01)          # torch.optim's names and defaults;
                                                   # clip_norm=None; lr may be a schedule
    state = opt.init(params)                       # params (..., d): leading axes = runs
    params, state = opt.step(params, grad, state)  # pure; state is a printable NamedTuple
    run = optimizers.descend(landscape, opt, start, steps=100, batch_size=None, seed=0)
    run.points, run.losses, run.grads, run.diverged_at, run.batches
    ends = optimizers.endpoints(landscape, opt, start, steps=100)   # the same descent, no path:
    ends.final, ends.previous, ends.losses, ends.diverged_at        # (..., d), (..., d), (...)

    optimizers.schedules.constant / step_decay / cosine / linear_warmup / warmup_cosine
    optimizers.clip_by_norm(grad, max_norm)        # per run, as torch's clip_grad_norm_
    optimizers.minibatches(n, batch_size, steps, seed)   # the indices descend() uses

    trail = optimizers.trace(landscape, opt, start, steps=30)   # one run with every state:
    trail.points (= descend's, bitwise), trail.states, trail.report(k)   # inside step k → k+1
    optimizers.inspect_step(landscape, opt, start, k)     # that StepReport, replaying k+1 steps
    optimizers.score_guess(before, truth, guess)          # predict-then-reveal (quiz.py)
"""

from . import schedules
from .core import Optimizer, clip_by_norm, get, names
from .descent import DIVERGENCE_WIDTHS, Endpoints, Run, descend, endpoints, minibatches
from .inspection import GRADIENT_FLAT, Quantity, StepReport, Trace, inspect_step, trace
from .quiz import GuessScore, running_score, score_guess
from .rules import AdagradState, AdamState, LionState, RMSpropState, SGDState

__all__ = [
    "DIVERGENCE_WIDTHS",
    "GRADIENT_FLAT",
    "AdagradState",
    "AdamState",
    "Endpoints",
    "GuessScore",
    "LionState",
    "Optimizer",
    "Quantity",
    "RMSpropState",
    "Run",
    "SGDState",
    "StepReport",
    "Trace",
    "clip_by_norm",
    "descend",
    "endpoints",
    "get",
    "inspect_step",
    "minibatches",
    "names",
    "running_score",
    "schedules",
    "score_guess",
    "trace",
]
