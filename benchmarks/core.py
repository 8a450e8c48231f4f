"""Benchmark section "core": the pure-numpy math core against torch.optim.

- Adam on Rosenbrock, a 200×200 grid of starts (40,000 independent runs) × 200 steps:
  * ours, descend(): the driver the UI uses (records every point, loss and gradient, checks
    divergence) — the number the target is about;
  * ours, bare loop: only landscape.grad + opt.step, the same work torch does;
  * torch.optim.Adam with torch.autograd on the same batch, float64, timed in the oracle venv
    (Python 3.11) by a subprocess — skipped when that venv is absent — once with one thread
    (like numpy here) and once with torch's default thread count; the ratio is against the
    faster of the two. (On a busy 2-core machine torch's two OpenMP threads spin against each
    other and run ~10× slower than one thread.)
- A basin map (issue 15): landscapes.basins.basin_map on Himmelblau, a 200×200 grid of starts
  × 200 Adam steps (lr 0.1) — one optimizers.endpoints() call (descend()'s loop without the
  path) plus the labels — beside endpoints() alone and torch.optim.Adam + autograd on the same
  batch (the same two thread settings); the ratio is against the faster torch.
- A 400×400 grid of loss + gradient on several landscapes (what one heatmap frame costs).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from benchmarks.timing import median_time

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Math core (numpy) vs torch"

GRID, STEPS, LR = 200, 200, 0.01
TARGET_S = 0.5
BASIN_LANDSCAPE, BASIN_LR = "himmelblau", 0.1
BASIN_TARGET_S = 0.3   # issue 15: 200×200 starts × 200 Adam steps on Himmelblau
HEATMAP = 400
HEATMAP_LANDSCAPES = ("bowl", "rosenbrock", "himmelblau", "rastrigin", "ackley",
                      "goldstein-price", "line-fit", "logistic")
# "milliseconds, not seconds" (issue 2): under 0.1 s, the delay a user still reads as instant
HEATMAP_TARGET_S = 0.1


def grid_starts(landscape, grid):
    """grid × grid starts spread over the landscape's display bounds, shape (grid, grid, 2)."""
    (x0, x1), (y0, y1) = landscape.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    return np.stack([gx, gy], axis=-1)


def ours_descend(grid=GRID, steps=STEPS):
    import landscapes
    import optimizers

    rosenbrock = landscapes.get("rosenbrock")
    return optimizers.descend(rosenbrock, optimizers.get("adam", lr=LR),
                              grid_starts(rosenbrock, grid), steps=steps)


def ours_bare(grid=GRID, steps=STEPS):
    import landscapes
    import optimizers

    rosenbrock = landscapes.get("rosenbrock")
    opt = optimizers.get("adam", lr=LR)
    params = grid_starts(rosenbrock, grid)
    state = opt.init(params)
    for _ in range(steps):
        params, state = opt.step(params, rosenbrock.grad(params), state)
    return params


def oracle_python():
    venv = ROOT / ".venv-oracle" / "bin" / "python"
    return venv if venv.exists() else None


def ours_basin_map(grid=GRID, steps=STEPS):
    import landscapes
    import landscapes.basins

    return landscapes.basins.basin_map(landscapes.get(BASIN_LANDSCAPE), "adam", BASIN_LR,
                                       n=grid, steps=steps)


def ours_endpoints(grid=GRID, steps=STEPS):
    import landscapes
    import optimizers

    himmelblau = landscapes.get(BASIN_LANDSCAPE)
    return optimizers.endpoints(himmelblau, optimizers.get("adam", lr=BASIN_LR),
                                grid_starts(himmelblau, grid), steps=steps)


def torch_adam(repeats, threads=None, grid=GRID, steps=STEPS, landscape="rosenbrock", lr=LR):
    """The torch run's timing dict (from benchmarks/torch_core.py), or None without torch."""
    python = oracle_python()
    if python is None:
        return None
    thread_arg = [] if threads is None else [str(threads)]
    done = subprocess.run(
        [str(python), str(ROOT / "benchmarks" / "torch_core.py"), str(grid), str(steps),
         str(repeats), *thread_arg, f"--landscape={landscape}", f"--lr={lr!r}"],
        capture_output=True, text=True, check=False, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"torch benchmark failed:\n{done.stderr}")
    return json.loads(done.stdout)


def _agreement(ours, theirs):
    """How closely the mean end point of our bare loop and torch's run agree."""
    rel = np.max(np.abs(ours - np.asarray(theirs))) / np.max(np.abs(theirs))
    return f"= ours to {rel:.1e} relative"


def heatmap(landscape_id, size=HEATMAP):
    import landscapes

    landscape = landscapes.get(landscape_id)
    points = grid_starts(landscape, size)
    return lambda: (landscape.loss(points), landscape.grad(points))


def run(repeats=5):
    """Rows: dicts with name, seconds (median), target_s, ok, note."""
    rows = []
    descend_s, _ = median_time(ours_descend, repeats)
    last = {}
    bare_s, _ = median_time(lambda: last.update(final=ours_bare()), repeats)
    our_mean = last["final"].reshape(-1, 2).mean(axis=0)
    batch = f"{GRID}×{GRID} starts × {STEPS} Adam steps, Rosenbrock"
    rows.append({"name": f"ours descend(): {batch}", "seconds": descend_s,
                 "target_s": TARGET_S, "ok": descend_s < TARGET_S,
                 "note": "records points, losses, grads; divergence checks"})
    rows.append({"name": f"ours bare loop (grad + step): {batch}", "seconds": bare_s,
                 "target_s": TARGET_S, "ok": bare_s < TARGET_S, "note": ""})
    runs = [torch_adam(repeats, threads=1), torch_adam(repeats)]
    torch_s = torch_rows(rows, runs, batch, our_mean)
    if torch_s is not None:
        for label, ours in (("descend()", descend_s), ("bare loop", bare_s)):
            rows.append({"name": f"ratio ours {label} / torch (faster)", "ratio": ours / torch_s,
                         "seconds": None, "target_s": None, "ok": ours <= torch_s,
                         "note": "target: ≤ 1 (not slower than torch)"})
    rows.extend(basin_rows(repeats))
    for landscape_id in HEATMAP_LANDSCAPES:
        seconds, _ = median_time(heatmap(landscape_id), repeats)
        rows.append({"name": f"{HEATMAP}×{HEATMAP} grid loss + grad: {landscape_id}",
                     "seconds": seconds, "target_s": HEATMAP_TARGET_S,
                     "ok": seconds < HEATMAP_TARGET_S, "note": ""})
    return rows



def torch_rows(rows, runs, batch, ours_mean):
    """Append torch's rows for `batch` (1 thread and default threads, with how far its mean
    end point is from ours) or one "skipped" row; return torch's faster time (None: skipped)."""
    if runs[0] is None:
        rows.append({"name": f"torch.optim.Adam: {batch}", "seconds": None, "target_s": None,
                     "ok": None, "note": "skipped: no .venv-oracle (python3.11 + torch)"})
        return None
    for theirs, label in zip(runs, ("1 thread", "default threads"), strict=True):
        rows.append({"name": f"torch.optim.Adam + autograd, {label}: {batch}",
                     "seconds": theirs["median_s"], "target_s": None, "ok": None,
                     "note": f"torch {theirs['torch']}, {theirs['threads']} thread(s); "
                             f"mean end point {_agreement(ours_mean, theirs['final_mean'])}"})
    return min(theirs["median_s"] for theirs in runs)


def basin_rows(repeats):
    """The basin map (issue 15) beside endpoints() alone and torch on the same batch."""
    import os

    rows = []
    last = {}
    map_s, _ = median_time(lambda: last.update(m=ours_basin_map()), repeats)
    ends_s, _ = median_time(ours_endpoints, repeats)
    batch = f"{GRID}×{GRID} starts × {STEPS} Adam steps (lr {BASIN_LR}), Himmelblau"
    counts = {k: v for k, v in last["m"].counts.items() if v}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rows.append({"name": f"ours basin_map(): {batch}", "seconds": map_s,
                 "target_s": BASIN_TARGET_S, "ok": map_s <= BASIN_TARGET_S,
                 "note": f"endpoints() + labels {counts}; load average {load}"})
    rows.append({"name": f"ours endpoints() alone: {batch}", "seconds": ends_s,
                 "target_s": None, "ok": None, "note": "the descent without the labelling"})
    runs = [torch_adam(repeats, threads=1, landscape=BASIN_LANDSCAPE, lr=BASIN_LR),
            torch_adam(repeats, landscape=BASIN_LANDSCAPE, lr=BASIN_LR)]
    ours_mean = None if runs[0] is None else np.nanmean(last["m"].ends.reshape(-1, 2), axis=0)
    torch_s = torch_rows(rows, runs, batch, ours_mean)
    if torch_s is None:
        return rows
    rows.append({"name": "ratio ours basin_map() / torch (faster)", "ratio": map_s / torch_s,
                 "seconds": None, "target_s": None, "ok": map_s <= torch_s,
                 "note": "target: ≤ 1; torch does only the descent, we also label"})
    return rows
