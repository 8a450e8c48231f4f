"""The torch half of the core benchmark, run in the oracle venv (Python 3.11, torch CPU) by
benchmarks/core.py as a subprocess; prints one JSON object on stdout.

The same batch as ours: 200×200 starts on a grid over the landscape's display bounds, 200 steps
of torch.optim.Adam with the gradient from torch.autograd, float64. Usage:
    python benchmarks/torch_core.py GRID STEPS REPEATS [THREADS] [--landscape=ID] [--lr=LR]
THREADS (default: torch's own choice) sets torch.set_num_threads; ID is rosenbrock (default,
lr 0.01) or himmelblau (the basin-map batch, lr 0.1), each loss written in torch here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_time  # noqa: E402


def rosenbrock(p):
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def himmelblau(p):
    x, y = p[..., 0], p[..., 1]
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


# id: (loss, display bounds as in landscapes/, default lr)
LANDSCAPES = {
    "rosenbrock": (rosenbrock, ((-2.0, 2.0), (-1.0, 3.0)), 0.01),
    "himmelblau": (himmelblau, ((-5.0, 5.0), (-5.0, 5.0)), 0.1),
}


def starts(grid, bounds=((-2.0, 2.0), (-1.0, 3.0))):
    (x0, x1), (y0, y1) = bounds
    xs = torch.linspace(x0, x1, grid, dtype=torch.float64)
    ys = torch.linspace(y0, y1, grid, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return torch.stack([gx, gy], dim=-1)


def adam_run(grid, steps, lr=0.01, landscape="rosenbrock"):
    loss, bounds, _ = LANDSCAPES[landscape]
    param = starts(grid, bounds).requires_grad_(True)
    opt = torch.optim.Adam([param], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss(param).sum().backward()
        opt.step()
    return param.detach()


def main():
    options = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    grid, steps, repeats = (int(a) for a in positional[:3])
    if len(positional) > 3:
        torch.set_num_threads(int(positional[3]))
    landscape = options.get("landscape", "rosenbrock")
    lr = float(options.get("lr", LANDSCAPES[landscape][2]))
    last = {}
    median, times = median_time(
        lambda: last.update(final=adam_run(grid, steps, lr, landscape)), repeats)
    print(json.dumps({
        "median_s": median, "times_s": times, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "python": sys.version.split()[0],
        "landscape": landscape, "lr": lr,
        "final_mean": [float(v) for v in last["final"].reshape(-1, 2).mean(0)],
    }))


if __name__ == "__main__":
    main()
