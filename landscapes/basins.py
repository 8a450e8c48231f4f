"""Basin maps, the critical learning rate and learning-rate sweeps (pure numpy + optimizers).

Imported on its own (``import landscapes.basins``): ``import landscapes`` does not load it, so
landscapes and optimizers never import each other at import time.

    from landscapes import basins
    m = basins.basin_map(landscape, "adam", 0.1, n=200, steps=200, hyper=None)
    m.starts (n, n, 2)  m.ends (n, n, 2; NaN = diverged)  m.labels (n, n) int  m.centres (k, 2)
    m.counts {label: starts}  m.diverged_at (n, n)  m.radius  m.grad_scale
    basins.label_ends(landscape, ends, previous, grad_scale, centres=None) -> (labels, centres)
    basins.critical_lr(landscape, point=None)   2/λmax of the Hessian (None where λmax ≤ 0)
    basins.max_curvature(landscape, point)      λmax itself (hessian_at: the 2 × 2 Hessian)
    basins.lr_sweep(landscape, "sgd", start=None, steps=50, factors=SWEEP_FACTORS) -> Sweep
        sweep.critical_lr, sweep.runs: (factor, lr, run from descend(), outcome) each, outcome
        in "converges slowly" / "converges" / "oscillates" / "diverges" (rule: outcome())
    basins.PRESETS                              {id: Preset}: maps worth showing

The labelling rule (what the UI says on screen), with r = 2 % of the larger display side:

* **diverged** (−1): the run diverged by descend()'s rule (a non-finite loss or coordinate, or
  farther than 10⁶ display widths from the centre);
* **a known minimum** (0 … len(minima) − 1): it ended within r of one of
  ``landscape.minima`` (the nearest one);
* **a basin found by the map** (len(minima) + j): it ended stationary, i.e. where the gradient
  is small, ‖∇L(end)‖ ≤ 1 % of the median ‖∇L‖ over the grid of starts (a scale-free test),
  its last step was shorter than r, and it is within r of a minimum of the local quadratic
  (no negative curvature there, and the Newton step ‖H⁻¹∇L‖ < r, directions of zero curvature
  left out: without this a run crawling along a flat valley floor would count as stopped; H
  is landscape.hessian, or central differences of the gradient where that is None; a ring or
  plateau of minima is one basin). Stationary ends are grouped:
  rounded to cells of side r, and cells that touch joined (a chain of stopped runs is one
  group; a plateau of stopped starts is one group when the grid is finer than r, n ≥ 51);
  each group is represented by its lowest end point (its ``centre``), groups
  are numbered by the loss at their centre, lowest first, and every stationary end is labelled
  by the nearest centre. These are the local minima (Rastrigin's dimples) or, on a typed
  function whose minima nobody knows, every basin there is;
* **not converged** (−2): everything else: still moving (along a valley floor, too), or
  stuck on a kink (where the gradient never gets small, e.g. |x| at 0) or at a saddle.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

import optimizers

__all__ = ["DIVERGED", "GRID_MAX", "NOT_CONVERGED", "OUTCOMES", "PRESETS", "STEPS_MAX",
           "SWEEP_FACTORS", "BasinMap", "Preset", "Sweep", "SweepRun", "basin_map",
           "critical_lr", "grad_scale", "grid", "hessian_at", "label_ends", "lr_sweep",
           "max_curvature", "outcome", "radius"]

DIVERGED = -1
NOT_CONVERGED = -2
GRID_MAX = 400        # n × n starts, n ≤ 400 (160,000 runs)
STEPS_MAX = 2000
RADIUS_FRACTION = 0.02   # r = 2 % of the larger display side
STATIONARY = 1e-2        # ‖∇L(end)‖ ≤ 1 % of the median ‖∇L(start)‖
# the central-difference step of max_curvature() where there is no analytic Hessian, as a
# fraction of the display width: truncation ~ h², round-off ~ 1e-16 / h. On a typed Himmelblau
# (width 10) λmax was off by 5e-9 at 1e-5, 3e-11 at 1e-6, 3e-10 at 1e-7, 4e-8 at 1e-9
DIFFERENCE_STEP = 1e-6
SWEEP_FACTORS = (0.05, 0.5, 0.9, 1.1, 2.0)
OUTCOMES = ("converges slowly", "converges", "oscillates", "diverges")


# ---- the basin map ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BasinMap:
    """Where each start of an n × n grid ends (see the module docstring for the labels).

    starts       (n, n, 2)  starts[i, j] = (xs[j], ys[i]): row i is y, as an image
    ends         (n, n, 2)  the point after ``steps`` updates; NaN where the run diverged
    labels       (n, n) int index into ``centres``; −1 diverged, −2 not converged
    centres      (k, 2)     what label j ≥ 0 means: ``landscape.minima`` first (so labels
                            below len(minima) index landscape.minima), then the basins found
                            among the stationary ends, lowest loss first
    known        len(landscape.minima): labels ≥ known are basins found by the map
    counts       {label: number of starts} for −2, −1 and every centre (zeros included)
    diverged_at  (n, n) int, descend()'s: the step a run diverged at, or −1
    radius       r: 2 % of the larger display side
    grad_scale   the median ‖∇L‖ over the starts (the stationary test's scale)
    optimizer, lr, steps, hyper   what ran
    """

    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    centres: np.ndarray
    known: int
    counts: dict
    diverged_at: np.ndarray
    radius: float
    grad_scale: float
    optimizer: str
    lr: object
    steps: int
    hyper: dict


def grid(landscape, n):
    """n × n points spread over the landscape's display bounds (ends included), (n, n, 2)."""
    (x0, x1), (y0, y1) = landscape.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([gx, gy], axis=-1)


def radius(landscape):
    """r = 2 % of the larger display side: 'at a point' in the labelling rule."""
    (x0, x1), (y0, y1) = landscape.bounds
    return RADIUS_FRACTION * max(x1 - x0, y1 - y0)


def grad_scale(landscape, starts):
    """The median ‖∇L‖ over ``starts`` (finite values only; 0 when none is finite)."""
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(np.asarray(landscape.grad(starts), dtype=np.float64), axis=-1)
    norms = norms[np.isfinite(norms)]
    return float(np.median(norms)) if norms.size else 0.0


def basin_map(landscape, optimizer, lr, n=200, steps=200, hyper=None):
    """Run ``optimizer`` from every start of an n × n grid over the display; a :class:`BasinMap`.

    ``optimizer`` is a name as in ``optimizers.names()``, ``hyper`` its other keyword arguments
    for ``optimizers.get`` (e.g. ``{"momentum": 0.5}``, ``{"clip_norm": 1.0}``), ``lr`` a finite
    number > 0 or a schedule. 2 ≤ n ≤ 400, 1 ≤ steps ≤ 2000. All n² runs are one vectorized
    :func:`optimizers.endpoints` call (descend()'s loop without recording the paths), so each
    label equals what descend() from that start alone gives. Bad input raises ValueError.
    Works on any landscape with loss, grad and bounds (typed functions from
    ``circuits.to_landscape`` too: their minima are unknown, so every basin is found).
    """
    if np.shape(landscape.bounds) != (2, 2):
        raise ValueError(f"a basin map needs a 2-D landscape, not {landscape!r}")
    opt, hyper = _optimizer(optimizer, lr, hyper)
    n = _count("n", n, 2, GRID_MAX)
    steps = _count("steps", steps, 1, STEPS_MAX)
    starts = grid(landscape, n)
    ends = optimizers.endpoints(landscape, opt, starts, steps=steps)
    scale = grad_scale(landscape, starts)
    labels, centres = label_ends(landscape, ends.final, ends.previous, scale)
    counted = np.bincount(labels.ravel() + 2, minlength=len(centres) + 2)
    counts = {label - 2: int(c) for label, c in enumerate(counted)}
    for array in (starts, ends.final, labels, centres, ends.diverged_at):
        array.setflags(write=False)   # a map may be cached and shared between sessions
    return BasinMap(starts=starts, ends=ends.final, labels=labels, centres=centres,
                    known=len(landscape.minima), counts=counts, diverged_at=ends.diverged_at,
                    radius=radius(landscape), grad_scale=scale, optimizer=optimizer, lr=lr,
                    steps=steps, hyper=hyper)


def label_ends(landscape, ends, previous, grad_scale, centres=None):
    """Label end points by the rule in the module docstring; returns (labels, centres).

    ``ends`` (..., 2) NaN where diverged, ``previous`` (..., 2) the points one step before,
    ``grad_scale`` the stationary test's scale (:func:`grad_scale` of the starts). Without
    ``centres`` the stationary ends are grouped into new basins (centres = landscape.minima,
    then those basins). With ``centres`` (a map's) no grouping happens: stationary ends not at
    a known minimum take the label of the nearest of centres[len(minima):] — so ends of
    one-by-one descend() runs can be labelled against a map's centres.
    """
    ends = np.asarray(ends, dtype=np.float64)
    previous = np.asarray(previous, dtype=np.float64)
    minima = np.asarray(landscape.minima, dtype=np.float64).reshape(-1, 2)
    known = len(minima)
    r = radius(landscape)
    flat = ends.reshape(-1, 2)
    labels = np.full(flat.shape[0], NOT_CONVERGED, dtype=np.int64)
    alive = np.isfinite(flat).all(axis=-1)
    labels[~alive] = DIVERGED

    if known:
        distance, nearest = _nearest(flat, minima)
        at_minimum = alive & (distance <= r)
        labels[at_minimum] = nearest[at_minimum]
    else:
        at_minimum = np.zeros_like(alive)

    with np.errstate(all="ignore"):
        gradient = np.asarray(landscape.grad(flat), dtype=np.float64)
        last_step = np.linalg.norm(flat - previous.reshape(-1, 2), axis=-1)
    stationary = (alive & ~at_minimum & (np.linalg.norm(gradient, axis=-1)
                                         <= STATIONARY * grad_scale) & (last_step < r))
    candidates = np.flatnonzero(stationary)
    if candidates.size:   # only a minimum's neighbourhood: the Newton step is shorter than r
        newton = _newton_distance(landscape, flat[candidates], gradient[candidates])
        stationary[candidates[~(newton < r)]] = False
    found = flat[stationary]
    if centres is None:
        basins = _group(landscape, found, r)
        centres = np.concatenate([minima, basins]) if known else basins
    else:
        centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
        basins = centres[known:]
    if found.shape[0]:
        if not basins.shape[0]:
            raise ValueError("stationary ends but no basin centres to label them with")
        labels[stationary] = known + _nearest(found, basins)[1]
    return labels.reshape(ends.shape[:-1]), centres


def _nearest(points, centres):
    """Distance to and index of the nearest centre for each point (NaN points: inf, 0)."""
    nearest = np.zeros(points.shape[0], dtype=np.int64)
    best = np.full(points.shape[0], np.inf)
    for index, centre in enumerate(centres):   # few centres, many points: no (m, k) matrix
        with np.errstate(invalid="ignore"):
            distance = np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1])
            closer = distance < best
        nearest[closer] = index
        best[closer] = distance[closer]
    return best, nearest


def _group(landscape, points, r):
    """The basins among stationary end points (m, 2): their lowest points (k, 2), lowest first.

    Points are rounded to cells of side r (np.unique); occupied cells that touch (share a side
    or a corner) are joined, by union-find over the pairs of neighbouring cells: O(cells),
    never O(m²). (Joining only cells whose mean points lie within r, as first written, split
    a plateau of stopped runs on a grid of spacing ≈ r into hundreds of basins.)
    """
    if not points.shape[0]:
        return np.zeros((0, 2))
    cells = np.floor(points / r).astype(np.int64)
    unique, inverse = np.unique(cells, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    # each cell as one sortable int64 key, to find its neighbours by binary search
    low = unique.min(axis=0) - 1
    span = unique.max(axis=0) - low + 2
    keys = (unique[:, 0] - low[0]) * span[1] + (unique[:, 1] - low[1])
    parent = np.arange(len(unique))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for dx, dy in ((1, -1), (1, 0), (1, 1), (0, 1)):   # half the 8 neighbours: each pair once
        wanted = keys + dx * span[1] + dy
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        close = keys[at] == wanted
        for i, j in zip(np.flatnonzero(close), at[close], strict=True):
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    group = np.array([root(i) for i in range(len(unique))])[inverse]
    with np.errstate(all="ignore"):
        loss = np.asarray(landscape.loss(points), dtype=np.float64)
    # per group: the member with the lowest loss (ties: the lower x, then y), deterministically
    order = np.lexsort((points[:, 1], points[:, 0], loss, group))
    first = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    lowest = first[np.lexsort((points[first, 1], points[first, 0], loss[first]))]
    return points[lowest].copy()


def _optimizer(name, lr, hyper):
    if not isinstance(name, str) or name not in optimizers.names():
        raise ValueError(f"unknown optimizer {name!r}; choose one of "
                         f"{', '.join(optimizers.names())}")
    if not callable(lr):
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
            raise ValueError(f"lr must be a number or a schedule, got {lr!r}")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    hyper = dict(hyper or {})
    if "lr" in hyper:
        raise ValueError("pass the learning rate as lr, not in hyper")
    return optimizers.get(name, lr=lr, **hyper), hyper


def _count(name, value, low, high):
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


# ---- curvature and the critical learning rate ------------------------------------------------

def _point(point):
    point = np.asarray(point, dtype=np.float64)
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"point must be two finite numbers (x, y), got {point!r}")
    return point


def hessian_at(landscape, point):
    """The 2 × 2 Hessian at ``point``: ``landscape.hessian`` where it exists, else central
    differences of the exact gradient with h = 1e-6 × each axis' display width (symmetrized)."""
    return _hessians(landscape, _point(point)[np.newaxis])[0]


def _hessians(landscape, points):
    """hessian_at for points (m, 2) at once: (m, 2, 2)."""
    with np.errstate(all="ignore"):
        if getattr(landscape, "hessian", None) is not None:
            return np.asarray(landscape.hessian(points), dtype=np.float64)
        (x0, x1), (y0, y1) = landscape.bounds
        h = DIFFERENCE_STEP * np.array([x1 - x0, y1 - y0])
        shifts = np.array([[h[0], 0.0], [0.0, h[1]]])
        around = points[:, np.newaxis, :] + np.concatenate([shifts, -shifts])   # (m, 4, 2)
        g = np.asarray(landscape.grad(around), dtype=np.float64)
        rows = (g[:, :2] - g[:, 2:]) / (2.0 * h[:, np.newaxis])   # row i: ∂∇L/∂pᵢ
    return 0.5 * (rows + np.swapaxes(rows, 1, 2))


def _newton_distance(landscape, points, gradients):
    """‖H⁻¹∇L‖ at each point (m,): how far the minimum of the local quadratic is. Directions
    of (numerically) zero curvature, |λ| ≤ 1e-6·max|λ|, are left out (a valley of minima such
    as a ring, or a plateau); NaN where some curvature is negative (a saddle or a ridge: no
    minimum nearby) or not finite."""
    hessians = _hessians(landscape, points)
    distance = np.full(points.shape[0], np.nan)
    finite = np.isfinite(hessians).all(axis=(1, 2)) & np.isfinite(gradients).all(axis=-1)
    if not finite.any():
        return distance
    values, vectors = np.linalg.eigh(hessians[finite])        # ascending eigenvalues
    along = np.einsum("mij,mi->mj", vectors, gradients[finite])   # ∇L in the eigenbasis
    flat = np.abs(values) <= 1e-6 * np.abs(values).max(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        newton = np.where(flat, 0.0, along / values)
    result = np.hypot(newton[:, 0], newton[:, 1])
    result[((values < 0) & ~flat).any(axis=-1)] = np.nan
    distance[finite] = result
    return distance


def max_curvature(landscape, point):
    """λmax, the larger eigenvalue of the Hessian at ``point`` (closed form for a symmetric
    2 × 2 matrix; where ``landscape.hessian`` is None, of the central-difference Hessian, see
    :func:`hessian_at`). ValueError where the loss or the curvature is not finite there."""
    (a, b), (_, c) = hessian_at(landscape, point)
    with np.errstate(all="ignore"):
        value = float(np.asarray(landscape.loss(_point(point)), dtype=np.float64))
    if not all(math.isfinite(v) for v in (a, b, c, value)):
        raise ValueError(f"the loss or curvature at {tuple(map(float, point))} is not finite")
    mean = 0.5 * (a + c)
    spread = math.hypot(0.5 * (a - c), b)
    if mean >= 0:
        return mean + spread
    # mean + spread would cancel; λmax·λmin = det and λmin = mean − spread does not
    smaller = mean - spread
    return (a * c - b * b) / smaller


def critical_lr(landscape, point=None):
    """2/λmax: the largest learning rate for which plain gradient descent (sgd, no momentum)
    near ``point`` does not blow up along the steepest curvature direction (the factor per step
    there is |1 − ηλmax|). ``point`` defaults to the first known minimum (ValueError when the
    landscape has none). λmax is the closed form of the 2 × 2 eigenvalue (1/3 exactly for
    x² + 3y²); where ``landscape.hessian`` is None (typed functions, non-smooth ones) the Hessian
    comes from central differences of the exact gradient, h = 1e-6 display widths (about
    1e-10 relative on smooth functions; at a kink, such as Ackley's minimum, it measures the
    kink and means little). None when λmax ≤ 0 (no curvature limit there: flat or concave),
    never ±inf. With momentum μ the limit of heavy-ball descent is 2(1 + μ)/λmax instead."""
    if point is None:
        minima = np.asarray(landscape.minima, dtype=np.float64).reshape(-1, 2)
        if not len(minima):
            raise ValueError(f"{landscape!r} has no known minimum: give a point")
        point = minima[0]
    curvature = max_curvature(landscape, point)
    return 2.0 / curvature if curvature > 0 else None


def _top_direction(landscape, point):
    """The unit eigenvector of the larger Hessian eigenvalue at ``point``."""
    values, vectors = np.linalg.eigh(hessian_at(landscape, point))
    return vectors[:, int(np.argmax(values))]


# ---- the learning-rate sweep -----------------------------------------------------------------

class SweepRun(NamedTuple):
    factor: float      # η / critical η
    lr: float
    run: optimizers.Run
    outcome: str       # one of OUTCOMES


@dataclass(frozen=True, eq=False)
class Sweep:
    """One start, several η around the critical one (:func:`lr_sweep`)."""

    critical_lr: float
    minimum: np.ndarray    # (2,) where the critical η was computed
    start: np.ndarray      # (2,)
    steps: int
    runs: tuple            # of SweepRun, in the order of the factors


def outcome(run, minimum, direction, r, minima=()):
    """The sweep's verdict on one run, from its numbers (the first rule that holds):

    * "diverges": descend() says it diverged, or it is flying off: over the second half of
      the run both its step length and its distance to the minimum grew (along the top
      direction the deviation is multiplied by |1 − ηλmax| > 1 each step, long before the run
      leaves descend()'s 10⁶-widths box);
    * "oscillates": its deviation from the minimum along the top curvature direction changes
      sign on at least half of the first min(steps, 20) steps (it zig-zags across the valley,
      whether it settles or not);
    * "converges": it ends within r (2 % of the display) of the minimum (or of another known
      minimum in ``minima``);
    * "converges slowly": it has not got there within the step budget.
    """
    points = run.points
    steps = len(points) - 1
    if np.any(run.diverged_at >= 0):
        return "diverges"
    half = steps // 2
    moves = np.linalg.norm(np.diff(points, axis=0), axis=-1)
    distance = np.linalg.norm(points - minimum, axis=-1)
    if half and moves[-1] > moves[half - 1] and distance[-1] > distance[half]:
        return "diverges"
    deviation = (points[: min(steps, 20) + 1] - minimum) @ direction
    flips = np.count_nonzero(deviation[1:] * deviation[:-1] < 0)
    if flips >= 0.5 * min(steps, 20):
        return "oscillates"
    targets = np.concatenate([np.reshape(minimum, (1, 2)), np.reshape(minima, (-1, 2))])
    if np.linalg.norm(targets - points[-1], axis=-1).min() <= r:
        return "converges"
    return "converges slowly"


def lr_sweep(landscape, optimizer="sgd", start=None, steps=50, factors=SWEEP_FACTORS,
             hyper=None, point=None):
    """The same start descended with η = factor × critical_lr(landscape, point) for each of
    4–6 ``factors`` (default 0.05, 0.5, 0.9, 1.1, 2: too low, good, oscillating, diverging,
    far over); each run with its :func:`outcome`. ``start`` defaults to ``landscape.start``,
    ``point`` to the first known minimum. The critical η is plain gradient descent's: with
    momentum or an adaptive optimizer the flips happen elsewhere (the sweep shows where)."""
    factors = tuple(factors)
    if not 4 <= len(factors) <= 6:
        raise ValueError(f"give 4 to 6 factors, got {len(factors)}")
    for factor in factors:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
                math.isfinite(factor) and factor > 0):
            raise ValueError(f"factors must be finite numbers > 0, got {factor!r}")
    steps = _count("steps", steps, 1, STEPS_MAX)
    if point is None:
        minima = np.asarray(landscape.minima, dtype=np.float64).reshape(-1, 2)
        if not len(minima):
            raise ValueError(f"{landscape!r} has no known minimum: give a point")
        point = minima[0]
    point = _point(point)
    critical = critical_lr(landscape, point)
    if critical is None:
        raise ValueError(f"no critical learning rate at {tuple(point)}: the curvature there "
                         f"is not positive")
    start = _point(landscape.start if start is None else start)
    direction = _top_direction(landscape, point)
    r = radius(landscape)
    runs = []
    for factor in factors:
        lr = float(factor) * critical
        opt, _ = _optimizer(optimizer, lr, hyper)
        run = optimizers.descend(landscape, opt, start, steps=steps)
        verdict = outcome(run, point, direction, r, landscape.minima)
        runs.append(SweepRun(float(factor), lr, run, verdict))
    return Sweep(critical_lr=critical, minimum=point, start=start, steps=steps, runs=tuple(runs))


# ---- presets ---------------------------------------------------------------------------------

class Preset(NamedTuple):
    title: str
    landscape: str      # an id of landscapes.get
    optimizer: str
    lr: float
    steps: int
    n: int              # grid side (the bowl's is odd, so the y = 0 row is on the grid)
    what: str           # what it shows (checked by tests/landscapes/test_basins.py)


PRESETS = {
    "himmelblau-basins": Preset(
        "Himmelblau's four basins", "himmelblau", "adam", 0.1, 200, 200,
        "Four equally deep minima: every start ends in one of them, and the map splits the "
        "plane into four basins."),
    "rastrigin-fragments": Preset(
        "Rastrigin's fragments", "rastrigin", "sgd", 0.002, 200, 200,
        "An egg-crate of local minima: gradient descent stops in the dimple it starts in, so "
        "the map is a mosaic of small basins, and only the middle one is the global minimum."),
    "bowl-above-critical": Preset(
        "The bowl just above η = 1/3", "bowl", "sgd", 0.35, 300, 201,
        "Just above the critical η = 2/6: y is multiplied by 1 − 6η = −1.1 each step, so every "
        "start off the x axis zig-zags out and diverges; only the row y = 0 reaches the minimum."),
}
