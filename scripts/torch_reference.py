"""The torch side of the oracle: every landscape's formula written again in torch, and a
descent loop driven by torch.optim (Lion: lion_pytorch) and torch.optim.lr_scheduler.

Nothing here imports landscapes/ or optimizers/: the formulas are the standard ones (BoTorch /
Wikipedia test-function tables) typed in independently, and torch.autograd differentiates them,
so a wrong numpy gradient and a wrong numpy formula both show up as a mismatch.

Runs on the oracle venv (Python 3.11, torch 2.13 CPU, lion-pytorch 0.2.5). Everything is float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from lion_pytorch import Lion

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

PI = math.pi


def _xy(p):
    return p[..., 0], p[..., 1]


def bowl(p):
    """x² + 3y²"""
    x, y = _xy(p)
    return x**2 + 3 * y**2


def round_bowl(p):
    """x² + y²"""
    x, y = _xy(p)
    return x**2 + y**2


def valley(p):
    """½(x² + 100y²), condition number 100 (the project's own narrow valley)"""
    x, y = _xy(p)
    return 0.5 * (x**2 + 100 * y**2)


def rosenbrock(p):
    """(1 − x)² + 100 (y − x²)²"""
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def beale(p):
    """(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²"""
    x, y = _xy(p)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def himmelblau(p):
    """(x² + y − 11)² + (x + y² − 7)²"""
    x, y = _xy(p)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def booth(p):
    """(x + 2y − 7)² + (2x + y − 5)²"""
    x, y = _xy(p)
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def six_hump_camel(p):
    """(4 − 2.1x² + x⁴/3) x² + xy + (−4 + 4y²) y²"""
    x, y = _xy(p)
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def rastrigin(p):
    """20 + Σ (xᵢ² − 10 cos 2πxᵢ)"""
    x, y = _xy(p)
    return 20 + (x**2 - 10 * torch.cos(2 * PI * x)) + (y**2 - 10 * torch.cos(2 * PI * y))


def ackley(p):
    """−20 exp(−0.2 √(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20"""
    x, y = _xy(p)
    return (
        -20 * torch.exp(-0.2 * torch.sqrt(0.5 * (x**2 + y**2)))
        - torch.exp(0.5 * (torch.cos(2 * PI * x) + torch.cos(2 * PI * y)))
        + math.e
        + 20
    )


def styblinski_tang(p):
    """½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ)"""
    x, y = _xy(p)
    return 0.5 * ((x**4 - 16 * x**2 + 5 * x) + (y**4 - 16 * y**2 + 5 * y))


def goldstein_price(p):
    """[1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]
    × [30 + (2x − 3y)²(18 − 32x + 12x² + 48y − 36xy + 27y²)]"""
    x, y = _xy(p)
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def saddle(p):
    """x² − y²"""
    x, y = _xy(p)
    return x**2 - y**2


def monkey_saddle(p):
    """x³ − 3xy²"""
    x, y = _xy(p)
    return x**3 - 3 * x * y**2


def plateau_saddle(p):
    """x² + y⁶/6 − y⁴/4 (the project's flat saddle: minima −1/12 at (0, ±1))"""
    x, y = _xy(p)
    return x**2 + y**6 / 6 - y**4 / 4


def line_fit(p, data, batch=None):
    """1/(2|B|) Σ_{i∈B} (m·xᵢ + b − yᵢ)² with (m, b) = p"""
    xs, ys = (torch.tensor(np.array(a, dtype=np.float64)) for a in data)
    if batch is not None:
        xs, ys = xs[batch], ys[batch]
    m, b = p[..., 0:1], p[..., 1:2]
    residual = m * xs + b - ys
    return (residual**2).sum(-1) / (2 * xs.shape[0])


def logistic(p, data, batch=None):
    """mean over B of the cross-entropy −[yᵢ log σ(zᵢ) + (1 − yᵢ) log(1 − σ(zᵢ))], zᵢ = w·xᵢ"""
    xs, ys = (torch.tensor(np.array(a, dtype=np.float64)) for a in data)
    if batch is not None:
        xs, ys = xs[batch], ys[batch]
    z = p @ xs.T
    # −log σ(z) = log(1 + e^−z) and −log(1 − σ(z)) = log(1 + e^z), each by logaddexp (exact
    # for large |z|: torch's softplus returns z itself above z = 20, off by e^−20 ≈ 2e-9).
    zero = torch.zeros_like(z)
    return (ys * torch.logaddexp(zero, -z) + (1 - ys) * torch.logaddexp(zero, z)).mean(-1)


# Landscape id -> torch formula of p (..., 2). Data landscapes take (p, data, batch).
FORMULAS = {
    "bowl": bowl,
    "round-bowl": round_bowl,
    "valley": valley,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "booth": booth,
    "six-hump-camel": six_hump_camel,
    "rastrigin": rastrigin,
    "ackley": ackley,
    "styblinski-tang": styblinski_tang,
    "goldstein-price": goldstein_price,
    "saddle": saddle,
    "monkey-saddle": monkey_saddle,
    "plateau-saddle": plateau_saddle,
}
# 1-D curves: w of any shape.
CURVE_FORMULAS = {"square": lambda w: w**2, "shifted": lambda w: (w - 3) ** 2}
DATA_FORMULAS = {"line-fit": line_fit, "logistic": logistic}


def formula(landscape_id, data=None):
    """The torch loss p -> value for a landscape id (data landscapes bind their data)."""
    if landscape_id in DATA_FORMULAS:
        f = DATA_FORMULAS[landscape_id]
        return lambda p, batch=None: f(p, data, batch)
    return FORMULAS[landscape_id]


def autograd(landscape_id, points, data=None, batch=None):
    """Loss, gradient and Hessian of the torch formula at points (k, 2), by torch.autograd."""
    f = formula(landscape_id, data)
    call = (lambda q: f(q, batch)) if landscape_id in DATA_FORMULAS else f
    pts = torch.tensor(np.asarray(points, dtype=np.float64), requires_grad=True)
    loss = call(pts)
    (grad,) = torch.autograd.grad(loss.sum(), pts)
    hessians = np.stack(
        [
            torch.autograd.functional.hessian(call, pts[i].detach().clone()).numpy()
            for i in range(pts.shape[0])
        ]
    )
    return loss.detach().numpy(), grad.numpy(), hessians


def curve_autograd(curve_id, w):
    """Loss, first and second derivative of a 1-D curve's torch formula at w (k,)."""
    f = CURVE_FORMULAS[curve_id]
    w = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    loss = f(w)
    (first,) = torch.autograd.grad(loss.sum(), w, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), w)
    return loss.detach().numpy(), first.detach().numpy(), second.numpy()


# ---- torch.optim -------------------------------------------------------------------------

def make_optimizer(name, params, hyper):
    """torch.optim (Lion: lion_pytorch.Lion) for one of our optimizer names; hyper uses
    torch's parameter names; "momentum"/"nesterov" are SGD with momentum 0.9 by default."""
    hyper = dict(hyper)
    if name == "sgd":
        return torch.optim.SGD(params, **hyper)
    if name == "momentum":
        hyper.setdefault("momentum", 0.9)
        return torch.optim.SGD(params, **hyper)
    if name == "nesterov":
        hyper.setdefault("momentum", 0.9)
        return torch.optim.SGD(params, nesterov=True, **hyper)
    if name == "adagrad":
        return torch.optim.Adagrad(params, **hyper)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, **hyper)
    if name == "adam":
        return torch.optim.Adam(params, **hyper)
    if name == "adamw":
        return torch.optim.AdamW(params, **hyper)
    if name == "lion":
        return Lion(params, **hyper)
    raise KeyError(name)


def make_scheduler(optimizer, schedule):
    """torch.optim.lr_scheduler for a schedule spec {"kind": ..., torch's parameters...}."""
    if schedule is None:
        return None
    s = dict(schedule)
    kind = s.pop("kind")
    sched = torch.optim.lr_scheduler
    if kind == "step_decay":
        return sched.StepLR(optimizer, step_size=s["step_size"], gamma=s["gamma"])
    if kind == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=s["T_max"], eta_min=s["eta_min"])
    if kind == "linear_warmup":
        return sched.LinearLR(
            optimizer, start_factor=s["start_factor"], end_factor=1.0,
            total_iters=s["total_iters"],
        )
    if kind == "warmup_cosine":
        warmup = sched.LinearLR(
            optimizer, start_factor=s["start_factor"], end_factor=1.0,
            total_iters=s["warmup_iters"],
        )
        cosine = sched.CosineAnnealingLR(optimizer, T_max=s["T_max"], eta_min=s["eta_min"])
        return sched.SequentialLR(optimizer, [warmup, cosine], milestones=[s["warmup_iters"]])
    raise KeyError(kind)


def schedule_lrs(schedule, lr, steps):
    """The learning rate of each of `steps` updates: param_groups' lr before each
    optimizer.step(), with scheduler.step() after it (the order torch documents)."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(opt, schedule)
    lrs = np.empty(steps)
    for k in range(steps):
        lrs[k] = opt.param_groups[0]["lr"]
        opt.step()  # no gradient: the parameter stays, but the scheduler sees a step taken
        scheduler.step()
    return lrs


# The shadow runs' one-ulp nudges, per coordinate: towards +inf or −inf. Four directions, since
# a single one can sit almost orthogonal to the direction in which a run is unstable and so
# overstate how long torch stays stable.
NUDGES = ((math.inf, math.inf), (-math.inf, -math.inf), (math.inf, -math.inf),
          (-math.inf, math.inf))


def descend(case, data=None, batches=None):
    """Run a case with torch: the plain run and, in lockstep, shadow runs whose params are
    moved by one ulp (each coordinate towards ±inf as in NUDGES) after every step.

    All runs are rows of one (1 + 4, 2) parameter (every optimizer here is elementwise, and the
    loss is a sum of separate terms, so each row gets exactly its own gradient); with clipping,
    which is per parameter tensor, they are separate tensors in one optimizer.
    `batches` (steps, b) gives the mini-batch of each step for data landscapes.

    Returns dict: points (steps+1, 2), shadows (steps+1, 4, 2), losses (steps+1,) of the plain
    run, lrs (steps,) = the learning rate each update used.
    """
    f = formula(case["landscape"], data)
    is_data = case["landscape"] in DATA_FORMULAS
    steps = case["steps"]
    clip = case.get("clip_norm")
    rows = 1 + len(NUDGES)
    start = torch.tensor([case["start"]] * rows, dtype=torch.float64)
    if clip is None:
        params = [start.requires_grad_(True)]
    else:
        params = [row.clone().requires_grad_(True) for row in start]
    opt = make_optimizer(case["optimizer"], params, case["hyper"])
    scheduler = make_scheduler(opt, case.get("schedule"))
    trace = torch.empty((steps + 1, rows, 2))
    losses = torch.empty(steps + 1)
    lrs = np.empty(steps)
    nudges = torch.tensor(NUDGES)

    def current():
        return params[0] if clip is None else torch.stack(params)

    with torch.no_grad():
        trace[0] = current()
    for k in range(steps):
        batch = None if batches is None else torch.as_tensor(batches[k])
        opt.zero_grad()
        points = current()
        loss = f(points, batch) if is_data else f(points)
        loss.sum().backward()
        if clip is not None:
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], clip)
        lrs[k] = opt.param_groups[0]["lr"]
        opt.step()
        if scheduler is not None:
            scheduler.step()
        with torch.no_grad():
            losses[k] = loss[0]
            if clip is None:
                params[0][1:] = torch.nextafter(params[0][1:], nudges)
            else:
                for p, towards in zip(params[1:], nudges, strict=True):
                    p.copy_(torch.nextafter(p, towards))
            trace[k + 1] = current()
    with torch.no_grad():
        losses[steps] = (f(current(), None) if is_data else f(current()))[0]
    trace = trace.numpy()
    return {"points": trace[:, 0].copy(), "shadows": trace[:, 1:].copy(),
            "losses": losses.numpy(), "lrs": lrs}
