"""Write tests/golden/circuits.json: torch.autograd's values and gradients (float64) for random
expressions over every gate, at points away from kinks, ties and domain edges, plus a few
broadcast grids. Run by `make golden` in the oracle venv (torch); commit the result.

tests/circuits/test_reference.py checks circuits against this file where torch is absent.
"""

import json
import pathlib
import random
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.circuits import trees  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "golden" / "circuits.json"
SEED = 20261122
CASES = 300

def _point(rng: random.Random, names) -> dict:
    return {name: rng.uniform(-2.0, 2.0) for name in names}


def _case(tree, point) -> dict:
    value, gradients = trees.torch_evaluate(tree, point)
    return {
        "expression": trees.text(tree),
        "point": {name: np.asarray(v).tolist() for name, v in point.items()},
        "value": np.asarray(value).tolist(),
        "gradients": {name: np.asarray(g).tolist() for name, g in gradients.items()},
    }


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = random.Random(SEED)
    cases = []
    while len(cases) < CASES:
        tree = trees.random_tree(rng, rng.randint(1, 12))
        point = _point(rng, trees.variables(tree))
        if not trees.is_smooth_at(tree, point):
            continue
        case = _case(tree, point)
        # A saturated expression (all gradients 0) checks nothing about the chain rule.
        if any(abs(g) > 1e-9 for g in case["gradients"].values()):
            cases.append(case)
    grids = []
    shapes = {"x": (3, 1), "y": (4,), "z": (), "w": (1, 4)}
    for tree in trees.BROADCAST:
        point = {name: np.round(np.random.default_rng(len(grids)).uniform(-1.5, 1.5,
                                                                           shapes[name]), 3)
                 for name in trees.variables(tree)}
        assert trees.is_smooth_at(tree, point)
        grids.append(_case(tree, point))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "about": "torch.autograd (float64) values and gradients; written by "
                 "scripts/make_golden_circuits.py with torch " + torch.__version__,
        "cases": cases,
        "broadcast": grids,
    }, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, {len(grids)} broadcast grids)")


if __name__ == "__main__":
    main()
