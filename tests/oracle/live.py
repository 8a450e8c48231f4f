"""Live torch runs for the oracle tests, each case computed once per session (torch is slow
per step: about half a millisecond, so the matrix costs a couple of minutes, not more)."""

from __future__ import annotations

import functools

from tests.oracle import cases as C

# Filled by the tests, printed by conftest.py at the end of the session.
STABLE_STRETCHES: dict[str, int] = {}


@functools.cache
def torch_reference():
    """scripts/torch_reference.py, imported on first use (it needs torch)."""
    from scripts import torch_reference

    return torch_reference


@functools.cache
def _run(case_id):
    case = CASES_BY_ID[case_id]
    tr = torch_reference()
    run = tr.descend(case, **C.torch_inputs(case))
    run["stable"] = C.stable_length(run["points"], run["shadows"])
    return run


def torch_run(case):
    """torch's run of a case (points, shadow, losses, lrs, stable) — cached by case id."""
    run = _run(case["id"])
    STABLE_STRETCHES[case["id"]] = run["stable"]
    return run


CASES = C.all_cases()
CASES_BY_ID = {case["id"]: case for case in CASES}
