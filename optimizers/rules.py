"""The update rules: one short function per optimizer, its rule in the docstring.

Every rule is ``rule(params, grad, state, lr, **hyper) -> (params, state)``. ``lr`` is already a
number here (schedules are resolved once, in ``Optimizer.step``), ``grad`` is already clipped.
Arrays have shape (..., d): leading axes are independent runs, everything is elementwise.

The arithmetic follows torch.optim's single-tensor code paths operation by operation (the same
additions in the same order), so a float64 run equals torch's to rounding. Rules never write into
``params``, ``grad`` or the arrays held by ``state``; the in-place operations (``x *= a``) act
only on arrays the rule has just created, which saves allocations when stepping 40,000 runs.
"""

from typing import NamedTuple

import numpy as np


def lerp(start, end, weight):
    """start + weight·(end − start), split at weight 0.5 exactly as torch.lerp does."""
    difference = end - start
    if abs(weight) < 0.5:
        difference *= weight
        difference += start
        return difference
    difference *= 1.0 - weight
    return np.subtract(end, difference, out=difference)


class SGDState(NamedTuple):
    t: int                               # updates taken so far
    momentum_buffer: np.ndarray | None   # velocity b (None without momentum)


class AdagradState(NamedTuple):
    t: int
    sum: np.ndarray                      # Σ g² over all steps so far


class RMSpropState(NamedTuple):
    t: int
    square_avg: np.ndarray               # running mean of g²
    grad_avg: np.ndarray | None          # running mean of g (centered only)
    momentum_buffer: np.ndarray | None   # velocity b (momentum > 0 only)


class AdamState(NamedTuple):
    t: int
    exp_avg: np.ndarray                  # m: running mean of gradients
    exp_avg_sq: np.ndarray               # v: running mean of squared gradients
    max_exp_avg_sq: np.ndarray | None    # max of v so far (amsgrad only)


class LionState(NamedTuple):
    t: int
    exp_avg: np.ndarray                  # m: running mean of gradients (β₂)


def _scaled_square_added(total, value, grad):
    """total + value·g·g in torch's addcmul order, written into ``total`` (a fresh array)."""
    term = value * grad
    term *= grad
    total += term
    return total


def _moved(params, step, direction, denom=None):
    """params + step·direction (or step·(direction/denom), torch's addcdiv) as a new array."""
    moved = direction / denom if denom is not None else direction * 1.0
    moved *= step
    moved += params
    return moved


# ---- initial states -------------------------------------------------------------------------

def sgd_init(params, momentum, **_):
    # torch creates the buffer from the first gradient; until then there is none
    return SGDState(t=0, momentum_buffer=None)


def adagrad_init(params, initial_accumulator_value, **_):
    return AdagradState(t=0, sum=np.full_like(params, initial_accumulator_value))


def rmsprop_init(params, momentum, centered, **_):
    zeros = np.zeros_like(params)
    return RMSpropState(
        t=0,
        square_avg=zeros,
        grad_avg=zeros if centered else None,
        momentum_buffer=zeros if momentum > 0 else None,
    )


def adam_init(params, amsgrad, **_):
    zeros = np.zeros_like(params)
    return AdamState(t=0, exp_avg=zeros, exp_avg_sq=zeros,
                     max_exp_avg_sq=zeros if amsgrad else None)


def lion_init(params, **_):
    return LionState(t=0, exp_avg=np.zeros_like(params))


# ---- update rules ---------------------------------------------------------------------------

def sgd(params, grad, state, lr, momentum, dampening, weight_decay, nesterov):
    """SGD, with optional (Nesterov) momentum (torch.optim.SGD).

    g ← g + λw;  b ← g at the first step, then b ← μb + (1−τ)g;
    g ← g + μb (Nesterov) or g ← b;  w ← w − ηg
    """
    if weight_decay != 0:
        grad = grad + weight_decay * params
    buf = state.momentum_buffer
    if momentum != 0:
        buf = grad.copy() if state.t == 0 else buf * momentum + (1 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    return params + (-lr) * grad, SGDState(state.t + 1, buf)


def adagrad(params, grad, state, lr, lr_decay, weight_decay, initial_accumulator_value, eps):
    """AdaGrad: a per-coordinate rate from all past squared gradients (torch.optim.Adagrad).

    g ← g + λw;  η_t = η / (1 + (t−1)·decay);  s ← s + g²;  w ← w − η_t·g/(√s + ε)
    """
    t = state.t + 1
    if weight_decay != 0:
        grad = grad + weight_decay * params
    clr = lr / (1 + (t - 1) * lr_decay)
    total = state.sum + grad * grad
    std = np.sqrt(total)
    std += eps
    return _moved(params, -clr, grad, std), AdagradState(t, total)


def rmsprop(params, grad, state, lr, alpha, eps, weight_decay, momentum, centered):
    """RMSprop: divide by a running RMS of the gradient (torch.optim.RMSprop).

    g ← g + λw;  v ← αv + (1−α)g²;  centered: ḡ ← αḡ + (1−α)g, v̂ = v − ḡ², else v̂ = v;
    momentum: b ← μb + g/(√v̂ + ε), w ← w − ηb;  else w ← w − η·g/(√v̂ + ε)
    """
    if weight_decay != 0:
        grad = grad + weight_decay * params
    square_avg = _scaled_square_added(state.square_avg * alpha, 1 - alpha, grad)
    grad_avg = state.grad_avg
    if centered:
        grad_avg = lerp(grad_avg, grad, 1 - alpha)
        avg = np.sqrt(_scaled_square_added(square_avg.copy(), -1, grad_avg))
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    buf = state.momentum_buffer
    if momentum > 0:
        buf = buf * momentum
        buf += grad / avg
        params = _moved(params, -lr, buf)
    else:
        params = _moved(params, -lr, grad, avg)
    return params, RMSpropState(state.t + 1, square_avg, grad_avg, buf)


def adam(params, grad, state, lr, betas, eps, weight_decay, amsgrad, decoupled=False):
    """Adam: momentum plus RMSprop, with bias correction (torch.optim.Adam).

    g ← g + λw (AdamW instead: w ← w(1 − ηλ));  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
    amsgrad: v ← max(v_max, v) in the denominator;
    w ← w − (η/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)
    """
    beta1, beta2 = betas
    t = state.t + 1
    if weight_decay != 0:
        if decoupled:
            params = params * (1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * params
    exp_avg = lerp(state.exp_avg, grad, 1 - beta1)
    exp_avg_sq = _scaled_square_added(state.exp_avg_sq * beta2, 1 - beta2, grad)
    bias_correction1 = 1 - beta1 ** float(t)
    bias_correction2 = 1 - beta2 ** float(t)
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    max_exp_avg_sq = state.max_exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
    denom = np.sqrt(max_exp_avg_sq if amsgrad else exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    return _moved(params, -step_size, exp_avg, denom), AdamState(t, exp_avg, exp_avg_sq,
                                                                 max_exp_avg_sq)


def adamw(params, grad, state, lr, betas, eps, weight_decay, amsgrad):
    """AdamW: Adam with weight decay decoupled from the gradient (torch.optim.AdamW).

    w ← w(1 − ηλ), then the Adam step on the raw gradient g.
    """
    return adam(params, grad, state, lr, betas, eps, weight_decay, amsgrad, decoupled=True)


def lion(params, grad, state, lr, betas, weight_decay):
    """Lion: the sign of a momentum blend (lion-pytorch 0.2.5).

    w ← w(1 − ηλ);  w ← w − η·sign(β₁m + (1−β₁)g);  m ← β₂m + (1−β₂)g
    (torch.sgn, and so lion-pytorch, takes the sign of NaN to be 0.)
    """
    beta1, beta2 = betas
    params = params * (1.0 - lr * weight_decay)
    update = np.sign(state.exp_avg * beta1 + (1.0 - beta1) * grad)
    update[np.isnan(update)] = 0.0
    params = params + (-lr) * update
    exp_avg = state.exp_avg * beta2 + (1.0 - beta2) * grad
    return params, LionState(state.t + 1, exp_avg)
