"""descend(): run an optimizer on a landscape and record the path, with divergence and batches."""

import math
import mmap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ._checks import count
from .core import Optimizer, get

# A run diverges when it lands farther than this many display widths from the display centre.
DIVERGENCE_WIDTHS = 1e6
CHUNK_RUNS = 8192


@dataclass(frozen=True, eq=False)
class Run:
    """One descent (or a batch of independent descents sharing the leading axes of ``start``).

    points       (steps + 1, ..., d)  the start and every iterate; NaN from ``diverged_at`` on
    losses       (steps + 1, ...)     the FULL-data loss at each point (also for mini-batch runs)
    diverged_at  int for a single run, an int array of the batch shape otherwise; −1 = never
    batches      (steps, k) int array: the data indices of the mini-batch that step i (from
                 points[i] to points[i + 1]) used — all n, in order, for full-batch descent;
                 None on landscapes without data
    grads        (steps + 1, ..., d)  the FULL-data gradient at each point, computed when first
                 read; NaN where the run has diverged (and wherever it is not finite)
    """

    points: np.ndarray
    losses: np.ndarray
    diverged_at: int | np.ndarray
    batches: np.ndarray | None
    _grad: Callable = field(repr=False, compare=False)

    @cached_property
    def grads(self):
        with np.errstate(all="ignore"):
            grads = np.asarray(self._grad(self.points), dtype=np.float64)
            grads[~np.isfinite(grads)] = np.nan
        grads[np.isnan(self.points).any(axis=-1)] = np.nan
        return grads


def _axis_bounds(landscape):
    """The display range of each axis, shape (d, 2): d = 2 on a landscape, 1 on a curve."""
    bounds = np.asarray(landscape.bounds, dtype=np.float64)
    if bounds.shape == (2,):  # a 1-D curve: (wmin, wmax)
        return bounds.reshape(1, 2)
    return bounds


def _preallocated(shape):
    """np.empty(shape) of float64; large arrays get their memory mapped in up front (Linux
    MAP_POPULATE), which is several times cheaper than faulting it in page by page while the
    descent writes its 100 MB paths (0.03 s against 0.14 s for 128 MB on this VM)."""
    size = math.prod(shape) * 8
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if size < 1 << 22 or not populate:
        return np.empty(shape)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(memory, dtype=np.float64).reshape(shape)


def minibatches(n, batch_size, steps, seed=0):
    """The data indices of each step's mini-batch, an int array of shape (steps, batch_size).

    Epoch-wise shuffling without replacement, like torch's DataLoader(shuffle=True,
    drop_last=True): each epoch is a fresh permutation of range(n) (np.random.default_rng(seed))
    cut into n // batch_size batches of batch_size indices; the leftover n % batch_size indices
    of each epoch are not used.
    """
    n = count("n", n, 1)
    batch_size = count("batch_size", batch_size, 1)
    steps = count("steps", steps, 0)
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of data points ({n}), "
                         f"got {batch_size}")
    per_epoch = n // batch_size
    rng = np.random.default_rng(seed)
    epochs = [rng.permutation(n)[: per_epoch * batch_size]
              for _ in range(math.ceil(steps / per_epoch))]
    flat = np.concatenate(epochs) if epochs else np.zeros(0, dtype=np.int64)
    return flat.reshape(-1, batch_size)[:steps].astype(np.int64)


def descend(landscape, opt, start, steps=100, batch_size=None, seed=0):
    """Run ``opt`` on ``landscape`` from ``start`` for ``steps`` updates; returns a :class:`Run`.

    ``start`` has shape (..., d): d = 2 on a landscape, d = 1 on a 1-D curve (where a plain
    number is also accepted and means shape (1,)); leading axes are independent runs, stepped
    together. ``opt`` is an :class:`Optimizer` (or an optimizer name, with its defaults).

    Divergence: a run diverges at the first point whose loss or coordinates are not finite, or
    that lies more than 1e6 display widths from the display centre along some axis
    (|pᵢ − cᵢ| > 1e6·(maxᵢ − minᵢ), from ``landscape.bounds``). ``diverged_at`` is that point's
    index; from it on the run's points, losses and grads are NaN and the run stops moving.
    The output never holds ±inf and no numpy warning escapes.

    Mini-batches, on landscapes with ``data`` (whose loss and grad take ``batch=``):
    ``batch_size`` None or n = full batch (exactly gradient descent on the full loss), 1 = SGD,
    k = mini-batches of k, drawn by :func:`minibatches` from ``seed``; every run in a batch of
    runs sees the same mini-batches. The optimizer steps on the mini-batch gradient, but
    ``losses`` and ``grads`` record the full-data loss and gradient at every point.
    """
    job = _prepared(landscape, opt, start, steps, batch_size, seed)
    steps, start, runs, flat_start = job.steps, job.start, job.runs, job.flat_start
    formula = _declared_formula(landscape, job)
    if not runs and formula is not None:  # one run: what a tap on lesson 2 asks for
        points, losses, diverged_at = _descend_one(job, formula)
        return Run(points.reshape(steps + 1, *start.shape), losses.reshape(steps + 1),
                   diverged_at, job.batches, job.grad)
    points = _preallocated((steps + 1, *flat_start.shape))
    losses = _preallocated((steps + 1, flat_start.shape[0]))
    diverged_at = np.full(flat_start.shape[0], -1, dtype=np.int64)
    # Runs are independent, so they are stepped in chunks of 8192 (arrays of 128 kB, which stay
    # in the CPU cache): 40,000 Rosenbrock runs × 200 Adam steps took 0.33 s of CPU this way
    # against 0.46 s stepping all at once (2-core Xeon, 2026-11).
    for first in range(0, flat_start.shape[0], CHUNK_RUNS):
        chunk = slice(first, first + CHUNK_RUNS)
        _descend_chunk(job, flat_start[chunk], diverged_at[chunk],
                       points=points[:, chunk], losses=losses[:, chunk])

    diverged_at = int(diverged_at[0]) if not runs else diverged_at.reshape(runs)
    return Run(points.reshape(steps + 1, *start.shape), losses.reshape(steps + 1, *runs),
               diverged_at, job.batches, job.grad)


@dataclass(frozen=True, eq=False)
class Endpoints:
    """Where a batch of descents ends, without their paths (:func:`endpoints`).

    final        (..., d)  the point after the last update; NaN where the run diverged
    previous     (..., d)  the point one update before ``final`` (= ``final`` when steps = 0);
                           NaN where the run diverged at or before that point
    losses       (...)     the FULL-data loss at ``final`` (NaN where diverged)
    diverged_at  int for a single run, an int array of the batch shape otherwise; −1 = never
    steps        the number of updates
    """

    final: np.ndarray
    previous: np.ndarray
    losses: np.ndarray
    diverged_at: int | np.ndarray
    steps: int


def endpoints(landscape, opt, start, steps=100, batch_size=None, seed=0):
    """descend() without the path: the same descent, returning only its :class:`Endpoints`.

    Arguments, divergence rule and mini-batches are exactly :func:`descend`'s (the same chunk
    loop runs; ``final`` equals ``descend(...).points[-1]`` and ``previous`` ``points[-2]``,
    bit for bit), but memory is O(runs · d), not O(steps · runs · d): what a basin map of
    40,000 starts × 200 steps needs (descend() would allocate 128 MB of path for it).
    """
    job = _prepared(landscape, opt, start, steps, batch_size, seed)
    runs, flat_start = job.runs, job.flat_start
    final = np.empty_like(flat_start)
    previous = np.empty_like(flat_start)
    losses = np.empty(flat_start.shape[0])
    diverged_at = np.full(flat_start.shape[0], -1, dtype=np.int64)
    for first in range(0, flat_start.shape[0], CHUNK_RUNS):
        chunk = slice(first, first + CHUNK_RUNS)
        _descend_chunk(job, flat_start[chunk], diverged_at[chunk],
                       tail=(final[chunk], previous[chunk], losses[chunk]))
    if not runs:
        return Endpoints(final[0], previous[0], losses[0][()], int(diverged_at[0]), job.steps)
    return Endpoints(final.reshape(job.start.shape), previous.reshape(job.start.shape),
                     losses.reshape(runs), diverged_at.reshape(runs), job.steps)


class _Job(NamedTuple):
    """descend()'s checked arguments, shared by every chunk."""

    loss: Callable
    grad: Callable
    opt: Optimizer
    steps: int
    start: np.ndarray        # (..., d) float64
    runs: tuple              # the batch shape (...)
    flat_start: np.ndarray   # (runs, d)
    batches: np.ndarray | None
    full_batch: bool
    box: tuple               # (display centre, divergence half-width) per axis


def _prepared(landscape, opt, start, steps, batch_size, seed):
    if isinstance(opt, str):
        opt = get(opt)
    if not isinstance(opt, Optimizer):
        raise ValueError(f"opt must be an Optimizer from optimizers.get(), got {opt!r}")
    steps = count("steps", steps, 0)
    bounds = _axis_bounds(landscape)
    d = bounds.shape[0]
    start = np.asarray(start, dtype=np.float64)
    if d == 1 and start.ndim == 0:
        start = start.reshape(1)
    if start.ndim == 0 or start.shape[-1] != d:
        raise ValueError(f"start must have shape (..., {d}) on {landscape!r}, "
                         f"got shape {start.shape}")

    if d == 1:  # curves take w of shape (...): drop and restore the length-1 axis
        def loss(p, **batch):
            return landscape.loss(p[..., 0], **batch)

        def grad(p, **batch):
            return landscape.grad(p[..., 0], **batch)[..., np.newaxis]
    else:
        loss, grad = landscape.loss, landscape.grad

    data = getattr(landscape, "data", None)
    batches = None
    if data is not None:
        n = len(data[0])
        if batch_size is None or batch_size == n:
            batches = np.broadcast_to(np.arange(n), (steps, n))
        else:
            batches = minibatches(n, batch_size, steps, seed)
    elif batch_size is not None:
        raise ValueError(f"{landscape!r} has no data to draw mini-batches from; "
                         f"use batch_size=None")
    full_batch = batches is None or batches.shape[1] == len(data[0])

    box = (bounds.mean(axis=1), DIVERGENCE_WIDTHS * (bounds[:, 1] - bounds[:, 0]))
    return _Job(loss, grad, opt, steps, start, start.shape[:-1], start.reshape(-1, d), batches,
                full_batch, box)


def _descend_chunk(job, start, diverged_at, points=None, losses=None, tail=None):
    """descend() on runs of shape (r, d), writing diverged_at and either the whole path
    (``points`` (steps + 1, r, d), ``losses`` (steps + 1, r)) or only its end
    (``tail`` = (final (r, d), previous (r, d), final losses (r,)))."""
    loss, grad, opt, batches, full_batch, box = (job.loss, job.grad, job.opt, job.batches,
                                                 job.full_batch, job.box)
    centre = np.tile(box[0], (start.shape[0], 1))  # contiguous: fast elementwise comparisons
    limit = np.tile(box[1], (start.shape[0], 1))
    alive = np.ones(start.shape[0], dtype=bool)
    last = job.steps
    with np.errstate(all="ignore"):
        params = previous = start.copy()
        state = opt.init(params)
        for k in range(last + 1):
            point_loss = loss(params)
            finite = np.isfinite(point_loss)
            within = np.abs(params - centre) <= limit  # False for NaN coordinates
            if not (finite.all() and within.all()):
                inside = finite & within.all(axis=-1)
                lost = alive & ~inside
                if lost.any():
                    diverged_at[lost] = k
                    alive &= inside
                    params = np.where(alive[:, np.newaxis], params, np.nan)
                point_loss = np.where(alive, point_loss, np.nan)
            if points is not None:
                points[k] = params
                losses[k] = point_loss
            if k == last:
                break
            step_grad = grad(params) if full_batch else grad(params, batch=batches[k])
            previous = params
            params, state = opt._update(params, step_grad, state)
    if tail is not None:
        if last == 0:
            previous = params
        final, before, final_loss = tail
        final[...] = params
        # a run that diverged at the final point was alive one step before: previous holds
        # that point, as descend()'s points[-2] does
        before[...] = previous
        final_loss[...] = point_loss


def _declared_formula(landscape, job):
    """The landscape's declared formula ``(_loss, _grad)`` when its public ``loss`` and ``grad``
    are landscapes.Landscape's own (which only check the points, silence overflow and stack
    ``_grad``'s (dx, dy) into one array), else None: a curve, a data landscape (mini-batches),
    anything else that writes its own ``loss``/``grad``. Recognised by name, so that this
    package keeps importing only numpy and the standard library."""
    kind = type(landscape)
    if job.batches is not None or job.flat_start.shape[-1] != 2:
        return None
    for method in ("loss", "grad"):
        wrapper = getattr(kind, method, None)
        if (getattr(wrapper, "__module__", None) != "landscapes._base"
                or getattr(wrapper, "__qualname__", None) != f"Landscape.{method}"):
            return None
    return landscape._loss, landscape._grad


def _descend_one(job, formula):
    """_descend_chunk for a single run (start of shape (2,)), a few times cheaper, bit for bit
    the same numbers (tests/optimizers/test_descend_one.py checks every optimizer × landscape).

    A 100-step run of one 2-vector spends most of its time in per-call overhead, not in
    arithmetic: the landscape's checks and array assembly around its formula, and numpy's
    divergence tests on arrays of two numbers (lesson 2 descends the whole budget on every
    tap; 2.1 ms of a tap's server CPU). Here the landscape's declared formula gets the very
    arrays of shape (1,) that the general path hands it (so every numpy operation, and hence
    every rounding, is the same), the optimizer steps the same (1, 2) arrays, and only the
    divergence test, comparisons of single numbers, runs on Python floats; a diverged run's
    remaining points and losses are NaN at once instead of being stepped as NaN.
    Returns (points (steps + 1, 1, 2), losses (steps + 1, 1), diverged_at int).
    """
    formula_loss, formula_grad = formula
    opt, last = job.opt, job.steps
    (cx, cy), (lx, ly) = (tuple(float(v) for v in part) for part in job.box)
    points = np.empty((last + 1, 1, 2))
    losses = np.empty((last + 1, 1))
    diverged_at = -1
    with np.errstate(all="ignore"):
        params = job.flat_start.copy()
        state = opt.init(params)
        for k in range(last + 1):
            x, y = params[:, 0], params[:, 1]
            point_loss = np.asarray(formula_loss(x, y), dtype=np.float64)
            value, px, py = float(point_loss.reshape(-1)[0]), float(x[0]), float(y[0])
            if not (math.isfinite(value) and abs(px - cx) <= lx and abs(py - cy) <= ly):
                diverged_at = k
                points[k:] = np.nan
                losses[k:] = np.nan
                break
            points[k] = params
            losses[k] = value
            if k == last:
                break
            gx, gy = formula_grad(x, y)
            step_grad = np.empty((1, 2))
            step_grad[:, 0] = gx
            step_grad[:, 1] = gy
            params, state = opt._update(params, step_grad, state)
    return points, losses, diverged_at
