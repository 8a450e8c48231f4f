"""Inside the optimizer: what it remembers before a step, and what that step does (pure numpy).

    trail = optimizers.trace(landscape, opt, start, steps=30)   # one run, every state kept
    trail.points, trail.losses, trail.states, trail.diverged_at # points equal descend()'s, bitwise
    report = trail.report(k)                                    # the update from w_k to w_{k+1}
    report = optimizers.inspect_step(landscape, opt, start, k)  # the same, replaying k + 1 steps

A :class:`StepReport` holds the state before the step (``state``, t = k) and after it
(``updated``, t = k + 1) exactly as the optimizer's own state objects, and ``quantities``: the
rows a student reads, each a :class:`Quantity` with its value per coordinate and the LaTeX of
the rule that computes it (the formulas sit in this module next to the code computing them).

Decisions:

* **Replay is descend().** :func:`trace` runs descend()'s loop for one run (the same calls on
  the same (1, d) arrays, the same divergence test), so its points are descend()'s bit for bit;
  the tests compare them for every optimizer, with schedules, clipping and mini-batches.
* **g is the gradient the rule saw**: after clipping (``raw_grad`` is the one before), and for
  mini-batch runs the mini-batch gradient. Coupled weight decay is a row of its own, g̃ = g + λw.
* **Effective learning rate** ``effective_lr`` = −Δᵢ/gᵢ, measured from the two points: where
  the step goes downhill along coordinate i it is |Δᵢ|/|gᵢ|; it is negative where the step
  goes uphill along i (momentum carrying on against the slope, or weight decay), and NaN where
  gᵢ = 0. ``rule_lr`` is the same quantity in the optimizer's own terms (η for SGD, exactly;
  η/(√v̂+ε)·m̂/g for Adam; ...), computed from the state, without the cancellation of w_{k+1} − w_k:
  the two agree to rounding, and rule_lr·g = −Δ.
* **Velocity** (momentum, Nesterov, RMSprop with momentum): ``coast`` is the part of the step the
  velocity carried in from earlier steps would make with no gradient at all, −ημb_k (Nesterov
  −ημ²b_k); NaN before the first step of SGD (torch has no buffer yet) and for optimizers
  without a velocity. Δ = coast − η·(this step's gradient part).
* **Divergence.** ``diverged_at`` is the run's (−1 = not within the traced steps). A report of a
  step at or after it (w_k already NaN), or of the step that diverges (w_{k+1} NaN), still
  exists: every number meant for display (the quantities, ``delta``, ``point``, ...) is finite or
  NaN, never ±inf; ``state`` and ``updated`` are the raw state objects (they may hold inf).
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from . import rules
from .core import Optimizer, _clipped
from .descent import _axis_bounds, _prepared

GRADIENT_FLAT = 1e-6  # |∇L| below this: the run stands on flat ground (a minimum, saddle, ...)


class Quantity(NamedTuple):
    """One row of a report: a vector (one value per coordinate) or a scalar (shape ())."""

    key: str            # stable id: "g", "m", "v", "m_hat", "delta", ...
    label: str          # plain words
    value: np.ndarray   # float64, finite or NaN (never ±inf)
    formula: str        # LaTeX of the rule that computes it


def _shown(value):
    """A copy as float64 with every non-finite number turned into NaN (safe to display)."""
    shown = np.array(value, dtype=np.float64)
    return np.where(np.isfinite(shown), shown, np.nan)


def _ratio(numerator, denominator):
    """numerator / denominator elementwise; NaN where the denominator is 0 or anything is not
    finite."""
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = np.divide(numerator, denominator)
    return np.where((denominator == 0) | ~np.isfinite(out), np.nan, out)


def _norm(vector):
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.sum(np.square(vector))))


@dataclass(frozen=True, eq=False)
class StepReport:
    """The update number k + 1: from ``point`` = w_k to ``next_point`` = w_{k+1}.

    Every array has shape (d,) (d = 2 on a landscape, 1 on a curve), finite or NaN.
    """

    optimizer: str                 # the optimizer's id ("adam", ...)
    step: int                      # k
    point: np.ndarray              # w_k
    next_point: np.ndarray         # w_{k+1}
    loss: float                    # L(w_k), the full-data loss
    next_loss: float               # L(w_{k+1})
    lr: float                      # η_k: the schedule's value for this update
    raw_grad: np.ndarray           # the gradient the optimizer was given (before clipping)
    grad: np.ndarray               # g: the gradient its rule used (after clipping)
    clip_scale: float              # g = clip_scale · raw_grad (1 without clipping)
    full_grad: np.ndarray          # ∇L(w_k) on all the data (= raw_grad without mini-batches)
    next_grad: np.ndarray          # ∇L(w_{k+1}) on all the data
    previous_delta: np.ndarray     # Δ_{k−1} = w_k − w_{k−1} (NaN at k = 0)
    delta: np.ndarray              # Δ = w_{k+1} − w_k
    effective_lr: np.ndarray       # −Δᵢ/gᵢ (NaN where gᵢ = 0)
    rule_lr: np.ndarray            # the same from the optimizer's own formula
    coast: np.ndarray              # the velocity's carry-over (NaN without a velocity)
    quantities: tuple              # Quantity rows, in reading order
    state: NamedTuple = field(repr=False)    # the optimizer's state before the step (t = k)
    updated: NamedTuple = field(repr=False)  # its state after the step (t = k + 1)
    diverged_at: int = -1          # the run's divergence step, −1 = none traced
    stationary: str = ""           # at |∇L| < GRADIENT_FLAT: "minimum", "saddle" or "flat"
    display_width: float = float("nan")  # the landscape's widest display span (its bounds)

    @property
    def diverged(self):
        """Whether w_k or w_{k+1} is lost: the run diverged at this step or before."""
        return 0 <= self.diverged_at <= self.step + 1

    @property
    def dimensions(self):
        return self.point.shape[0]

    def quantity(self, key):
        """The row with this key (KeyError when the optimizer has none)."""
        for row in self.quantities:
            if row.key == key:
                return row
        raise KeyError(f"{self.optimizer} reports no {key!r}; it has "
                       f"{', '.join(row.key for row in self.quantities)}")

    def has(self, key):
        return any(row.key == key for row in self.quantities)

    # scalars the narration compares (math stays here)

    @cached_property
    def grad_norm(self):
        """|∇L(w_k)| on all the data (NaN when not finite)."""
        return _norm(self.full_grad)

    @cached_property
    def step_length(self):
        """|Δ| (NaN when diverged)."""
        return _norm(self.delta)

    @cached_property
    def previous_step_length(self):
        return _norm(self.previous_delta)

    @cached_property
    def coast_length(self):
        """|coast|: how far the velocity alone would carry the run (NaN without one)."""
        return _norm(self.coast)

    @cached_property
    def gradient_step_length(self):
        """η·|g|: the length of a plain gradient step with this η."""
        return self.lr * _norm(self.grad)

    @cached_property
    def step_ratio(self):
        """|Δ_k| / |Δ_{k−1}| (NaN at k = 0 or when the last step had no length)."""
        return float(_ratio(np.array(self.step_length), np.array(self.previous_step_length)))

    @cached_property
    def delta_over_lr(self):
        """Δ/η per coordinate: how many η each coordinate moved (NaN at η = 0)."""
        return _ratio(self.delta, np.full_like(self.delta, self.lr))


@dataclass(frozen=True, eq=False)
class Trace:
    """One run (start of shape (d,)) with every optimizer state along it.

    points  (steps + 1, d)  equal to descend(...).points, bit for bit (NaN from diverged_at on)
    losses  (steps + 1,)    the full-data loss at each point
    grads   (steps, d)      the gradient the optimizer was given at step k (mini-batch: that
                            batch's), before clipping; raw (it may be non-finite)
    states  list of steps + 1 states: states[k] is the state after k updates
    """

    landscape: object
    opt: Optimizer
    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    states: list
    diverged_at: int
    batches: np.ndarray | None
    _full_grad: object = field(repr=False)

    @property
    def steps(self):
        return self.points.shape[0] - 1

    def report(self, k):
        """The :class:`StepReport` of update k + 1 (from points[k] to points[k + 1])."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"step must be an integer, got {k!r}")
        if not 0 <= k < self.steps:
            raise ValueError(f"step must be between 0 and {self.steps - 1} (this trace has "
                             f"{self.steps} updates), got {k}")
        return _report(self, int(k))


def trace(landscape, opt, start, steps=100, batch_size=None, seed=0):
    """descend() for one run (``start`` of shape (d,)), keeping the optimizer's state at every
    step; arguments as :func:`optimizers.descend`."""
    job = _prepared(landscape, opt, start, steps, batch_size, seed)
    if job.runs:
        raise ValueError(f"trace follows one run: start must have shape ({job.start.shape[-1]},)"
                         f", got shape {job.start.shape}")
    loss, grad, opt, batches, full_batch, box = (job.loss, job.grad, job.opt, job.batches,
                                                 job.full_batch, job.box)
    centre, limit = box[0][np.newaxis], box[1][np.newaxis]
    d = job.start.shape[-1]
    points = np.empty((job.steps + 1, d))
    losses = np.empty(job.steps + 1)
    grads = np.empty((job.steps, d))
    states = []
    diverged_at = -1
    # descend()'s loop (_descend_chunk) for one run of shape (1, d): the same calls in the same
    # order, so the same numbers
    with np.errstate(all="ignore"):
        params = job.flat_start.copy()
        state = opt.init(params)
        for k in range(job.steps + 1):
            point_loss = loss(params)
            inside = bool(np.isfinite(point_loss).all() and
                          (np.abs(params - centre) <= limit).all())
            if not inside:
                if diverged_at < 0:
                    diverged_at = k
                    params = np.full_like(params, np.nan)
                point_loss = np.full_like(point_loss, np.nan)
            points[k] = params[0]
            losses[k] = point_loss[0]
            states.append(state)
            if k == job.steps:
                break
            step_grad = grad(params) if full_batch else grad(params, batch=batches[k])
            grads[k] = step_grad[0]
            params, state = opt._update(params, step_grad, state)
    return Trace(landscape, opt, points, losses, grads, states, diverged_at, batches, grad)


def inspect_step(landscape, opt, start, k, batch_size=None, seed=0):
    """The :class:`StepReport` of update k + 1 of the run from ``start`` (replays k + 1 steps)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"step must be an integer >= 0, got {k!r}")
    return trace(landscape, opt, start, int(k) + 1, batch_size, seed).report(int(k))


# ---- the report -----------------------------------------------------------------------------

def _report(trail, k):
    opt = trail.opt
    hyper = opt.hyper
    state, updated = trail.states[k], trail.states[k + 1]
    w, w_next = trail.points[k], trail.points[k + 1]
    lr = opt.lr_at(state.t)
    raw = trail.grads[k]
    with np.errstate(all="ignore"):
        # the clipping Optimizer._update applies, on the same (1, d) array
        g = _clipped(raw[np.newaxis], opt.clip_norm)[0] if opt.clip_norm is not None else raw
        full = trail._full_grad(trail.points[k:k + 2])
        delta = w_next - w
        previous_delta = w - trail.points[k - 1] if k > 0 else np.full_like(w, np.nan)
        clip_scale = float(_ratio(np.array(_norm(g)), np.array(_norm(raw))))
        if opt.clip_norm is None or not np.isfinite(clip_scale):
            clip_scale = 1.0 if opt.clip_norm is None else float("nan")
        rows, rule_lr, coast = _rule_rows(opt.name, opt._spec.update, hyper, lr, w, g,
                                          state, updated)

    gradient_row = Quantity("g", "gradient g", _shown(g), _gradient_formula(trail, opt))
    effective = _ratio(-delta, g)
    common_tail = (
        Quantity("delta", "step Δ", _shown(delta), r"\Delta = w_{k+1} - w_k"),
        Quantity("effective_lr", "effective rate (measured)", _shown(effective),
                 r"\eta_{\mathrm{eff},i} = -\Delta_i / g_i"),
        Quantity("rule_lr", "effective rate (its rule)", _shown(rule_lr[0]), rule_lr[1]),
    )
    lr_row = Quantity("lr", "learning rate η", _shown(lr), _lr_formula(opt))
    report = StepReport(
        optimizer=opt.name, step=k, point=_shown(w), next_point=_shown(w_next),
        loss=float(_shown(trail.losses[k])), next_loss=float(_shown(trail.losses[k + 1])),
        lr=float(lr), raw_grad=_shown(raw), grad=_shown(g), clip_scale=clip_scale,
        full_grad=_shown(full[0]), next_grad=_shown(full[1]),
        previous_delta=_shown(previous_delta), delta=_shown(delta),
        effective_lr=_shown(effective), rule_lr=_shown(rule_lr[0]), coast=_shown(coast),
        quantities=(lr_row, gradient_row, *rows, *common_tail),
        state=state, updated=updated, diverged_at=trail.diverged_at,
        stationary=_stationary(trail.landscape, w, full[0]),
        display_width=float(np.max(np.diff(_axis_bounds(trail.landscape), axis=1))),
    )
    return report


def _gradient_formula(trail, opt):
    gradient = r"\nabla L_{B_k}(w_k)" if trail.batches is not None and \
        trail.batches.shape[1] < len(trail.landscape.data[0]) else r"\nabla L(w_k)"
    if opt.clip_norm is None:
        return f"g_k = {gradient}"
    return (rf"g_k = {gradient}\,\min\!\left(1, \frac{{c}}{{\lVert{gradient}\rVert + 10^{{-6}}}}"
            r"\right)")


def _lr_formula(opt):
    if callable(opt.hyper["lr"]):
        return r"\eta_k = \mathrm{schedule}(k)"
    return r"\eta"


def _stationary(landscape, point, full_grad):
    """"minimum", "saddle" or "flat" where |∇L| < GRADIENT_FLAT, from the Hessian's curvature
    (both eigenvalues > 0: minimum; of opposite signs: saddle; otherwise, or without a Hessian:
    flat); "" on a slope."""
    if not (_norm(full_grad) < GRADIENT_FLAT):
        return ""
    hessian = getattr(landscape, "hessian", None)
    if hessian is None:
        return "flat"
    with np.errstate(all="ignore"):
        if point.shape[0] == 1:
            curvature = float(np.asarray(hessian(point[0])))
            return "minimum" if curvature > 0 else "flat"
        h = np.asarray(hessian(point), dtype=np.float64)
        det = h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0]
        trace_ = h[0, 0] + h[1, 1]
    if det < 0:
        return "saddle"
    if det > 0 and trace_ > 0:
        return "minimum"
    return "flat"


def _rule_rows(name, update, hyper, lr, w, g, state, updated):
    """The optimizer's own rows, its effective rate (value, LaTeX) and the velocity's coast.

    ``state`` and ``updated`` hold arrays of shape (1, d); values are taken from them as they
    are (the tests compare with the optimizer's own state)."""
    nan = np.full_like(w, np.nan)
    wd = hyper.get("weight_decay", 0.0)
    decayed = g + wd * w if wd != 0 and update is not rules.adamw and update is not rules.lion \
        else g
    decay_rows = ()
    if decayed is not g:
        decay_rows = (Quantity("g_decayed", "with weight decay", _shown(decayed),
                               r"\tilde g_k = g_k + \lambda w_k"),)
    gt = r"\tilde g_k" if decay_rows else "g_k"

    if update is rules.sgd:
        mu = hyper["momentum"]
        if mu == 0:
            if decay_rows:
                return decay_rows, (_ratio(lr * decayed, g), rf"\eta\,{gt}/g_k"), nan
            usable = np.isfinite(g) & (g != 0)
            return (), (np.where(usable, lr, np.nan), r"\eta"), nan  # η itself, unrounded
        b = updated.momentum_buffer[0]
        first = rf"b_1 = {gt}" if state.t == 0 else None
        velocity = Quantity(
            "velocity", "velocity b", _shown(b),
            first or rf"b_{{k+1}} = \mu b_k + (1-\tau)\,{gt}")
        coast = nan if state.momentum_buffer is None else \
            -lr * (mu * mu if hyper["nesterov"] else mu) * state.momentum_buffer[0]
        coast_formula = r"-\eta\mu^2 b_k" if hyper["nesterov"] else r"-\eta\mu b_k"
        coast_row = Quantity("coast", "carried by the velocity", _shown(coast), coast_formula)
        if hyper["nesterov"]:
            direction = decayed + mu * b
            look = Quantity("direction", "look-ahead direction", _shown(direction),
                            rf"{gt} + \mu b_{{k+1}}")
            return ((*decay_rows, velocity, look, coast_row),
                    (_ratio(lr * direction, g), rf"\eta\,({gt} + \mu b_{{k+1}})/g_k"), coast)
        return ((*decay_rows, velocity, coast_row),
                (_ratio(lr * b, g), r"\eta\, b_{k+1}/g_k"), coast)

    if update is rules.adagrad:
        t = updated.t
        clr = lr / (1 + (t - 1) * hyper["lr_decay"])
        s = updated.sum[0]
        rate = clr / (np.sqrt(s) + hyper["eps"])
        rows = (*decay_rows,
                Quantity("sum", "accumulated g²", _shown(s), rf"s_{{k+1}} = s_k + {gt}^2"),
                Quantity("rate", "per-coordinate rate", _shown(rate),
                         r"\frac{\eta / (1 + k\,\delta)}{\sqrt{s_{k+1}} + \varepsilon}"))
        return rows, (_ratio(rate * decayed, g), rf"\frac{{\eta_t}}{{\sqrt{{s}}+\varepsilon}}"
                      rf"\cdot {gt}/g_k" if decay_rows else
                      r"\frac{\eta_t}{\sqrt{s_{k+1}}+\varepsilon}"), nan

    if update is rules.rmsprop:
        mu = hyper["momentum"]
        v = updated.square_avg[0]
        rows = [*decay_rows, Quantity("square_avg", "running mean of g²", _shown(v),
                                      rf"v_{{k+1}} = \alpha v_k + (1-\alpha)\,{gt}^2")]
        if hyper["centered"]:
            mean = updated.grad_avg[0]
            rows.append(Quantity("grad_avg", "running mean of g", _shown(mean),
                                 rf"\bar g_{{k+1}} = \alpha \bar g_k + (1-\alpha)\,{gt}"))
            root = np.sqrt(v - mean * mean)
            root_tex = r"\sqrt{v_{k+1} - \bar g_{k+1}^2}"
        else:
            root = np.sqrt(v)
            root_tex = r"\sqrt{v_{k+1}}"
        rate = lr / (root + hyper["eps"])
        rows.append(Quantity("rate", "per-coordinate rate", _shown(rate),
                             rf"\frac{{\eta}}{{{root_tex} + \varepsilon}}"))
        if mu > 0:
            b = updated.momentum_buffer[0]
            rows.append(Quantity("velocity", "velocity b", _shown(b),
                                 rf"b_{{k+1}} = \mu b_k + \frac{{{gt}}}{{{root_tex}+\varepsilon}}"))
            coast = -lr * mu * state.momentum_buffer[0]
            rows.append(Quantity("coast", "carried by the velocity", _shown(coast),
                                 r"-\eta\mu b_k"))
            return tuple(rows), (_ratio(lr * b, g), r"\eta\, b_{k+1}/g_k"), coast
        return tuple(rows), (_ratio(rate * decayed, g), rf"\frac{{\eta}}{{{root_tex}+"
                             rf"\varepsilon}}" + (rf"\cdot {gt}/g_k" if decay_rows else "")), nan

    if update in (rules.adam, rules.adamw):
        beta1, beta2 = hyper["betas"]
        t = updated.t
        m, v = updated.exp_avg[0], updated.exp_avg_sq[0]
        bias1, bias2 = 1 - beta1 ** float(t), 1 - beta2 ** float(t)
        m_hat, v_hat = m / bias1, v / bias2
        rows = [*decay_rows,
                Quantity("m", "running mean of g", _shown(m),
                         rf"m_{{k+1}} = \beta_1 m_k + (1-\beta_1)\,{gt}"),
                Quantity("v", "running mean of g²", _shown(v),
                         rf"v_{{k+1}} = \beta_2 v_k + (1-\beta_2)\,{gt}^2"),
                Quantity("m_hat", "bias-corrected m", _shown(m_hat),
                         r"\hat m = \frac{m_{k+1}}{1-\beta_1^{\,k+1}}"),
                Quantity("v_hat", "bias-corrected v", _shown(v_hat),
                         r"\hat v = \frac{v_{k+1}}{1-\beta_2^{\,k+1}}")]
        if hyper["amsgrad"]:
            v_max = updated.max_exp_avg_sq[0]
            v_hat = v_max / bias2
            rows.append(Quantity("v_max", "largest v so far (AMSGrad)", _shown(v_max),
                                 r"v^{\max}_{k+1} = \max(v^{\max}_k, v_{k+1})"))
            rows.append(Quantity("v_hat_max", "bias-corrected v_max", _shown(v_hat),
                                 r"\hat v = \frac{v^{\max}_{k+1}}{1-\beta_2^{\,k+1}}"))
        rate = lr / (np.sqrt(v_hat) + hyper["eps"])
        rows.append(Quantity("rate", "per-coordinate rate", _shown(rate),
                             r"\frac{\eta}{\sqrt{\hat v} + \varepsilon}"))
        effective = rate * m_hat
        formula = r"\frac{\eta}{\sqrt{\hat v}+\varepsilon}\cdot\frac{\hat m}{g_k}"
        if update is rules.adamw and wd != 0:
            shrink = -lr * wd * w
            rows.append(Quantity("decay", "decoupled weight decay", _shown(shrink),
                                 r"-\eta\lambda w_k"))
            effective = effective + lr * wd * w
            formula = (r"\left(\frac{\eta\,\hat m}{\sqrt{\hat v}+\varepsilon} + \eta\lambda w_k"
                       r"\right)/g_k")
        return tuple(rows), (_ratio(effective, g), formula), nan

    if update is rules.lion:
        beta1, beta2 = hyper["betas"]
        c = state.exp_avg[0] * beta1 + (1.0 - beta1) * g
        sign = np.sign(c)
        sign[np.isnan(sign)] = 0.0
        rows = [Quantity("c", "interpolated update c", _shown(c),
                         r"c = \beta_1 m_k + (1-\beta_1)\,g_k"),
                Quantity("sign", "its sign", _shown(sign), r"\operatorname{sign}(c)"),
                Quantity("m", "running mean of g", _shown(updated.exp_avg[0]),
                         r"m_{k+1} = \beta_2 m_k + (1-\beta_2)\,g_k")]
        effective = lr * sign
        formula = r"\eta\,\operatorname{sign}(c)/g_k"
        if wd != 0:
            rows.append(Quantity("decay", "decoupled weight decay", _shown(-lr * wd * w),
                                 r"-\eta\lambda w_k"))
            effective = effective + lr * wd * w
            formula = r"\left(\eta\,\operatorname{sign}(c) + \eta\lambda w_k\right)/g_k"
        return tuple(rows), (_ratio(effective, g), formula), nan

    raise ValueError(f"no inspection rows for optimizer {name!r}")
