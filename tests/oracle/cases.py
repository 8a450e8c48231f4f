"""The comparison matrix shared by the live oracle (torch) and the golden-file tests (no torch).

A case is a plain JSON-able dict: landscape id, optimizer name, hyperparameters by torch.optim's
names, an optional schedule spec in torch.optim.lr_scheduler's terms, an optional clip norm, a
start point and a number of steps. ``scripts/torch_reference.py`` runs a case with torch; this
module runs it with our numpy code and compares. No torch import here.
"""

from __future__ import annotations

import zlib

import numpy as np

STEPS = 1000
RTOL = 1e-12  # "equal to torch" (DESIGN.md): 1e-12 relative, per step
MIN_STABLE = 100  # a non-chaotic case must stay comparable for at least this many steps

# The landscapes every optimizer variant runs on, each from a fixed start (not L.start, so the
# golden files do not move when a default changes).
STARTS = {
    "bowl": (4.0, 3.0),
    "rosenbrock": (-1.2, 1.0),
    "himmelblau": (0.0, 0.0),
    "booth": (-4.0, 6.0),
}

# A learning rate per optimizer family and landscape that makes steady progress for 1000 steps
# without diverging (a diverged torch run would leave nothing to compare).
_LR = {
    "sgd": {"bowl": 0.1, "rosenbrock": 1e-3, "himmelblau": 0.01, "booth": 0.05},
    "adagrad": {"bowl": 0.5, "rosenbrock": 0.1, "himmelblau": 0.3, "booth": 0.5},
    "rmsprop": {"bowl": 0.02, "rosenbrock": 0.005, "himmelblau": 0.02, "booth": 0.02},
    "adam": {"bowl": 0.05, "rosenbrock": 0.02, "himmelblau": 0.05, "booth": 0.05},
    "lion": {"bowl": 0.01, "rosenbrock": 0.002, "himmelblau": 0.01, "booth": 0.01},
}
_FAMILY = {"sgd": "sgd", "momentum": "sgd", "nesterov": "sgd", "adagrad": "adagrad",
           "rmsprop": "rmsprop", "adam": "adam", "adamw": "adam", "lion": "lion"}

# Hyperparameter variants (besides lr) per optimizer: plain, weight decay, and the optimizer's
# own switches (momentum / dampening / Nesterov, lr_decay, centered, amsgrad ...).
VARIANTS = {
    "sgd": {"plain": {}, "wd": {"weight_decay": 0.05},
            "momentum0.5-dampening0.3": {"momentum": 0.5, "dampening": 0.3}},
    "momentum": {"plain": {}, "wd": {"weight_decay": 0.05}, "dampening0.5": {"dampening": 0.5},
                 "momentum0.5": {"momentum": 0.5}},
    "nesterov": {"plain": {}, "wd": {"weight_decay": 0.05}, "momentum0.5": {"momentum": 0.5}},
    "adagrad": {"plain": {}, "wd": {"weight_decay": 0.05},
                "lr_decay-initial_acc": {"lr_decay": 0.01, "initial_accumulator_value": 0.1}},
    "rmsprop": {"plain": {}, "wd": {"weight_decay": 0.05}, "momentum0.9": {"momentum": 0.9},
                "centered-momentum0.5-alpha0.9": {"centered": True, "momentum": 0.5,
                                                  "alpha": 0.9}},
    "adam": {"plain": {}, "wd": {"weight_decay": 0.05}, "amsgrad": {"amsgrad": True},
             "betas0.5-0.9": {"betas": (0.5, 0.9)}},
    "adamw": {"plain": {}, "no-wd": {"weight_decay": 0.0}, "wd0.1": {"weight_decay": 0.1},
              "amsgrad": {"amsgrad": True}},
    "lion": {"plain": {}, "wd": {"weight_decay": 0.1}, "betas0.95-0.98": {"betas": (0.95, 0.98)}},
}

# Schedules in torch.optim.lr_scheduler's parameters; eta_min is a fraction of lr here and
# becomes absolute in the case. Each runs with the optimizer's plain hyperparameters.
SCHEDULES = {
    "step_decay": {"kind": "step_decay", "step_size": 200, "gamma": 0.5},
    "cosine": {"kind": "cosine", "T_max": STEPS, "eta_min": 0.05},
    "linear_warmup": {"kind": "linear_warmup", "start_factor": 0.1, "total_iters": 100},
    "warmup_cosine": {"kind": "warmup_cosine", "start_factor": 0.1, "warmup_iters": 100,
                      "T_max": STEPS - 100, "eta_min": 0.05},
}
CLIP_NORM = 1.0


def _case(optimizer, variant, landscape, hyper, schedule=None, clip_norm=None):
    lr = _LR[_FAMILY[optimizer]][landscape]
    if schedule is not None and "eta_min" in schedule:
        schedule = dict(schedule, eta_min=schedule["eta_min"] * lr)
    return {
        "id": f"{optimizer}-{variant}-{landscape}",
        "optimizer": optimizer,
        "variant": variant,
        "landscape": landscape,
        "hyper": {"lr": lr, **hyper},
        "schedule": schedule,
        "clip_norm": clip_norm,
        "start": list(STARTS[landscape]),
        "steps": STEPS,
    }


# Mini-batch descent on the data landscapes: batch_size None = full batch, 1 = SGD, k = mini-
# batches of k drawn by optimizers.minibatches(n, k, steps, seed) (the torch run is fed the same
# indices: they are an input, like the start point).
DATA_STARTS = {"line-fit": (-0.5, 3.5), "logistic": (-1.5, 4.0)}
DATA_RUNS = {
    "sgd-full": ("sgd", {"line-fit": 0.2, "logistic": 1.0}, {}, None),
    "sgd-batch1": ("sgd", {"line-fit": 0.02, "logistic": 0.1}, {}, 1),
    "momentum-batch10": ("momentum", {"line-fit": 0.02, "logistic": 0.1}, {}, 10),
    "adam-batch10": ("adam", {"line-fit": 0.02, "logistic": 0.05}, {}, 10),
    "rmsprop-wd-batch16": ("rmsprop", {"line-fit": 0.005, "logistic": 0.01},
                           {"weight_decay": 0.01}, 16),
}
DATA_SEED = 7


def data_cases():
    cases = []
    for landscape, start in DATA_STARTS.items():
        for variant, (optimizer, lrs, hyper, batch_size) in DATA_RUNS.items():
            cases.append({
                "id": f"{variant}-{landscape}",
                "optimizer": optimizer,
                "variant": variant,
                "landscape": landscape,
                "hyper": {"lr": lrs[landscape], **hyper},
                "schedule": None,
                "clip_norm": None,
                "start": list(start),
                "steps": STEPS,
                "batch_size": batch_size,
                "seed": DATA_SEED,
            })
    return cases


def all_cases():
    """Every optimizer × (its variants, each schedule, clipping) × every landscape in STARTS,
    then the mini-batch runs on the data landscapes."""
    cases = data_cases()
    for optimizer, variants in VARIANTS.items():
        for landscape in STARTS:
            for variant, hyper in variants.items():
                cases.append(_case(optimizer, variant, landscape, hyper))
            for variant, schedule in SCHEDULES.items():
                cases.append(_case(optimizer, variant, landscape, {}, schedule=schedule))
            cases.append(_case(optimizer, "clip", landscape, {}, clip_norm=CLIP_NORM))
    return cases


# ---- our side --------------------------------------------------------------------------------

def our_schedule(spec, lr):
    """The schedule spec (torch.optim.lr_scheduler's parameters) built by optimizers.schedules."""
    from optimizers import schedules

    s = dict(spec)
    kind = s.pop("kind")
    if kind == "step_decay":
        return schedules.step_decay(lr, step_size=s["step_size"], gamma=s["gamma"])
    if kind == "cosine":
        return schedules.cosine(lr, T_max=s["T_max"], eta_min=s["eta_min"])
    if kind == "linear_warmup":
        return schedules.linear_warmup(lr, start_factor=s["start_factor"],
                                       total_iters=s["total_iters"])
    if kind == "warmup_cosine":
        return schedules.warmup_cosine(lr, start_factor=s["start_factor"],
                                       warmup_iters=s["warmup_iters"],
                                       T_max=s["T_max"], eta_min=s["eta_min"])
    raise KeyError(kind)


def our_optimizer(case):
    import optimizers

    hyper = dict(case["hyper"])
    if case.get("schedule") is not None:
        hyper["lr"] = our_schedule(case["schedule"], hyper["lr"])
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    return optimizers.get(case["optimizer"], clip_norm=case.get("clip_norm"), **hyper)


def our_descend(case):
    """Our run of a case: optimizers.descend on landscapes.get(...)."""
    import landscapes
    import optimizers

    return optimizers.descend(landscapes.get(case["landscape"]), our_optimizer(case),
                              np.array(case["start"], dtype=np.float64), steps=case["steps"],
                              batch_size=case.get("batch_size"), seed=case.get("seed", 0))


def torch_inputs(case):
    """What the torch run of a case needs besides the case: the landscape's data and each
    step's mini-batch indices (None for full batch), as ours draws them."""
    if case["landscape"] not in DATA_STARTS:
        return {}
    import landscapes
    import optimizers

    data = landscapes.get(case["landscape"]).data
    batches = None
    if case.get("batch_size") is not None:
        batches = optimizers.minibatches(len(data[0]), case["batch_size"], case["steps"],
                                         case["seed"])
    return {"data": data, "batches": batches}


# ---- comparison ------------------------------------------------------------------------------

def relative_difference(a, b):
    """Per point: max |a − b| over the coordinates / max(|a|, |b|) over the coordinates
    (0 when both are 0; inf when either is non-finite)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.max(np.abs(a - b), axis=-1)
        scale = np.maximum(np.max(np.abs(a), axis=-1), np.max(np.abs(b), axis=-1))
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    finite = np.all(np.isfinite(a), axis=-1) & np.all(np.isfinite(b), axis=-1)
    return np.where(finite, rel, np.inf)


def stable_length(points, shadows, rtol=RTOL):
    """How many leading points (step 0 included) torch's run shares to rtol with every one of
    its one-ulp shadows (points (steps+1, 2), shadows (steps+1, s, 2)): the stretch over which
    torch itself is stable (DESIGN.md, "Equal to torch")."""
    drift = relative_difference(np.asarray(points)[:, None, :], shadows).max(axis=1)
    bad = np.flatnonzero(drift > rtol)
    return int(bad[0]) if bad.size else len(points)


GOLDEN_EVERY = 10  # after the first GOLDEN_DENSE steps, the golden files keep every 10th point
GOLDEN_DENSE = 100


def golden_steps(stable):
    """The step indices the golden files keep of a stable stretch of `stable` points: every one
    of the first 100, then every 10th, and the stretch's last (a wrong step moves every later
    point, so the gaps hide nothing; the live oracle compares every step)."""
    steps = np.arange(stable)
    keep = (steps < GOLDEN_DENSE) | (steps % GOLDEN_EVERY == 0) | (steps == stable - 1)
    return steps[keep]


def first_mismatch(ours, reference, rtol=RTOL):
    """(step, relative difference) of the first point where ours and the reference differ by
    more than rtol, or None."""
    rel = relative_difference(ours, reference)
    bad = np.flatnonzero(rel > rtol)
    return None if not bad.size else (int(bad[0]), float(rel[bad[0]]))


# Cases on which torch stops agreeing with its one-ulp shadows within 100 steps, and why
# (measured by the live oracle and scripts/make_golden.py; tests/golden/optimizers.json "stable").
_NEAR_ORIGIN = ("the path passes within 0.004 of the origin at step 67, where a point's "
                "relative difference is ill-conditioned; ours stays within 2.3e-13 of torch "
                "over all 1001 points")
SHORT_STABLE = {
    "nesterov-plain-rosenbrock": _NEAR_ORIGIN,
    "nesterov-wd-rosenbrock": _NEAR_ORIGIN,
    "nesterov-step_decay-rosenbrock": _NEAR_ORIGIN,
    "nesterov-cosine-rosenbrock": _NEAR_ORIGIN,
    "adagrad-clip-booth": "clipped AdaGrad's sign-like steps amplify rounding 1e5-fold for a "
                          "while (the shadows part by 4.5e-10 at step 50, rejoin by step 150)",
    "rmsprop-centered-momentum0.5-alpha0.9-rosenbrock": "chaotic: the shadows part by 1e-12 at "
                                                         "step 92 and never rejoin",
    "adam-clip-rosenbrock": "chaotic: unit-length clipped steps; the shadows part by 1e-12 at "
                            "step 58 and end up 5e-3 apart",
    "adamw-clip-rosenbrock": "chaotic, as adam-clip-rosenbrock (the shadows part at step 43)",
}
MIN_STABLE_SHORT = 30


def min_stable(case_id):
    """The stable stretch a case must at least have (DESIGN.md, "Equal to torch")."""
    return MIN_STABLE_SHORT if case_id in SHORT_STABLE else MIN_STABLE


# ---- landscapes ------------------------------------------------------------------------------

GRAD_RTOL = 1e-10  # numpy's analytic gradient vs torch.autograd of the torch formula
LOSS_RTOL = 1e-12
POINTS_PER_LANDSCAPE = 64
BATCHES_PER_LANDSCAPE = 4


def sample_points(landscape_id, bounds, n=POINTS_PER_LANDSCAPE):
    """n points uniform in the display bounds, seeded by the id (the same on every run)."""
    seed = zlib.crc32(landscape_id.encode())
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = bounds
    return np.stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)], axis=-1)


def sample_curve_points(curve_id, bounds, n=POINTS_PER_LANDSCAPE):
    rng = np.random.default_rng(zlib.crc32(curve_id.encode()))
    return rng.uniform(bounds[0], bounds[1], n)


def sample_batches(landscape_id, n_data, count=BATCHES_PER_LANDSCAPE):
    """Mini-batches of sizes 1, 7, 16, ... (without repeats), seeded by the id."""
    rng = np.random.default_rng(zlib.crc32(landscape_id.encode()) + 1)
    sizes = [1, 7, 16, n_data // 2][:count]
    return [np.sort(rng.choice(n_data, size=k, replace=False)) for k in sizes]


def pointwise_error(ours, reference, point_axes):
    """Per point: max |ours − reference| / max |reference|, both over the point's own values
    (its last ``point_axes`` axes: 0 for a loss, 1 for a gradient, 2 for a Hessian)."""
    ours = np.asarray(ours, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    axes = tuple(range(-point_axes, 0))
    diff = np.abs(ours - reference)
    scale = np.abs(reference)
    if axes:
        diff, scale = diff.max(axis=axes), scale.max(axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(diff == 0, 0.0, diff / scale)
    finite = np.isfinite(ours).all(axis=axes) if axes else np.isfinite(ours)
    return np.where(finite, error, np.inf)


def assert_pointwise_close(ours, reference, point_axes, rtol, what):
    error = pointwise_error(ours, reference, point_axes)
    worst = int(np.argmax(error))
    assert error[worst] <= rtol, (
        f"{what}: relative error {error[worst]:.3g} > {rtol:g} at sample {worst} "
        f"(ours {np.asarray(ours)[worst]!r}, reference {np.asarray(reference)[worst]!r})")


# ---- schedules -------------------------------------------------------------------------------

# Learning-rate sequences checked value by value against torch.optim.lr_scheduler (every case
# above checks its own too, live); these also go into the golden files.
SCHEDULE_LR = 0.1
SCHEDULE_CHECKS = {
    **SCHEDULES,
    "step_decay-gamma0.1-every7": {"kind": "step_decay", "step_size": 7, "gamma": 0.1},
    "cosine-past-T_max": {"kind": "cosine", "T_max": 300, "eta_min": 0.01},
    "cosine-eta_min0": {"kind": "cosine", "T_max": 1000, "eta_min": 0.0},
    "linear_warmup-long": {"kind": "linear_warmup", "start_factor": 0.25, "total_iters": 700},
    "warmup_cosine-short": {"kind": "warmup_cosine", "start_factor": 0.5, "warmup_iters": 10,
                            "T_max": 200, "eta_min": 0.0},
}


def schedule_spec(name):
    """The spec of a SCHEDULE_CHECKS entry with eta_min made absolute (× SCHEDULE_LR)."""
    spec = dict(SCHEDULE_CHECKS[name])
    if "eta_min" in spec and name in SCHEDULES:
        spec["eta_min"] *= SCHEDULE_LR
    return spec


def our_schedule_values(name, steps=STEPS):
    return np.asarray(our_schedule(schedule_spec(name), SCHEDULE_LR)(np.arange(steps)))
