"""Write the golden files the torch-free test run compares against (run by `make golden`).

In the oracle venv (Python 3.11, torch 2.13 CPU, lion-pytorch 0.2.5) this computes, with live
torch:

tests/golden/optimizers.npz / .json
    every case of tests/oracle/cases.py (optimizer × variant × landscape, mini-batch runs):
    torch's trajectory, only over the stretch where torch agrees with its one-ulp shadow runs
    (DESIGN.md, "Equal to torch"): every point of the first 100 steps, then every 10th
    (cases.golden_steps), plus the learning-rate sequences of the schedule checks.
tests/golden/landscapes.npz / .json
    every landscape's (and curve's) loss, torch.autograd gradient and Hessian at seeded random
    points, data landscapes also on mini-batches, with the data they were computed on.

Commit the result. Usage: PYTHONPATH=. .venv-oracle/bin/python scripts/make_golden.py
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import landscapes  # noqa: E402
from scripts import torch_reference as tr  # noqa: E402
from tests.oracle import cases as C  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"


def provenance():
    return {
        "generated_by": "scripts/make_golden.py",
        "torch": version("torch"),
        "lion_pytorch": version("lion-pytorch"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def optimizer_golden():
    arrays, records = {}, []
    started = time.perf_counter()
    for case in C.all_cases():
        inputs = C.torch_inputs(case)
        run = tr.descend(case, **inputs)
        stable = C.stable_length(run["points"], run["shadows"])
        arrays[case["id"]] = run["points"][C.golden_steps(stable)]
        if inputs.get("batches") is not None:
            arrays[f"batches:{case['id']}"] = inputs["batches"].astype(np.int16)
        records.append({**case, "stable": stable})
        print(f"  {stable:5d}  {case['id']}", flush=True)
    schedules = {}
    for name in C.SCHEDULE_CHECKS:
        arrays[f"schedule:{name}"] = tr.schedule_lrs(C.schedule_spec(name), C.SCHEDULE_LR,
                                                     C.STEPS)
        schedules[name] = C.schedule_spec(name)
    meta = {**provenance(), "rtol": C.RTOL, "steps": C.STEPS, "schedule_lr": C.SCHEDULE_LR,
            "cases": records, "schedules": schedules}
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s")
    return arrays, meta


def landscape_golden():
    arrays, entries = {}, {}
    for landscape_id in landscapes.names():
        landscape = landscapes.get(landscape_id)
        data = getattr(landscape, "data", None)
        points = C.sample_points(landscape_id, landscape.bounds)
        loss, grad, hessian = tr.autograd(landscape_id, points, data)
        arrays.update({f"{landscape_id}:points": points, f"{landscape_id}:loss": loss,
                       f"{landscape_id}:grad": grad, f"{landscape_id}:hessian": hessian})
        entry = {"kind": "landscape", "batches": 0}
        if data is not None:
            arrays[f"{landscape_id}:data_x"], arrays[f"{landscape_id}:data_y"] = data
            batches = C.sample_batches(landscape_id, len(data[0]))
            for i, batch in enumerate(batches):
                loss, grad, hessian = tr.autograd(landscape_id, points, data, batch=batch)
                arrays.update({f"{landscape_id}:batch{i}": batch,
                               f"{landscape_id}:batch{i}:loss": loss,
                               f"{landscape_id}:batch{i}:grad": grad,
                               f"{landscape_id}:batch{i}:hessian": hessian})
            entry["batches"] = len(batches)
        entries[landscape_id] = entry
    for curve_id in landscapes.curves():
        w = C.sample_curve_points(curve_id, landscapes.curve(curve_id).bounds)
        loss, first, second = tr.curve_autograd(curve_id, w)
        arrays.update({f"{curve_id}:points": w, f"{curve_id}:loss": loss,
                       f"{curve_id}:grad": first, f"{curve_id}:hessian": second})
        entries[curve_id] = {"kind": "curve", "batches": 0}
    meta = {**provenance(), "grad_rtol": C.GRAD_RTOL, "loss_rtol": C.LOSS_RTOL,
            "entries": entries}
    return arrays, meta


def write(name, arrays, meta):
    np.savez_compressed(GOLDEN / f"{name}.npz", **arrays)
    (GOLDEN / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    size = sum((GOLDEN / f"{name}.{ext}").stat().st_size for ext in ("npz", "json"))
    print(f"wrote tests/golden/{name}.npz and .json: {size / 1e6:.2f} MB")


def main():
    GOLDEN.mkdir(parents=True, exist_ok=True)
    print("landscapes: torch.autograd at seeded points")
    write("landscapes", *landscape_golden())
    print("optimizers: torch runs (points kept = stable stretch)")
    write("optimizers", *optimizer_golden())


if __name__ == "__main__":
    main()
