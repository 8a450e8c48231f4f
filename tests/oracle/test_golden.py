"""Our numpy core against torch's recorded numbers (tests/golden/, written from live torch by
scripts/make_golden.py): the same comparisons as the live oracle, runnable without torch, so the
plain Python 3.12 test run checks them too. To 1e-12 relative, over torch's stable stretches."""

import json
from pathlib import Path

import numpy as np
import pytest

import landscapes
from tests.oracle import cases as C

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REGENERATE = "regenerate the golden files with `make golden` (oracle venv) and commit them"


def _load(name):
    meta = json.loads((GOLDEN / f"{name}.json").read_text())
    with np.load(GOLDEN / f"{name}.npz") as arrays:
        return meta, {key: arrays[key] for key in arrays.files}


OPT_META, OPT = _load("optimizers")
LAND_META, LAND = _load("landscapes")
CASES = OPT_META["cases"]


def test_golden_files_hold_the_current_case_matrix():
    recorded = [{k: v for k, v in case.items() if k != "stable"} for case in CASES]
    assert recorded == json.loads(json.dumps(C.all_cases())), REGENERATE
    assert set(OPT_META["schedules"]) == set(C.SCHEDULE_CHECKS), REGENERATE


def test_golden_stable_stretches_are_long_enough():
    short = {c["id"]: c["stable"] for c in CASES if c["stable"] < C.min_stable(c["id"])}
    assert not short


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_trajectory_equals_torch_golden(case):
    steps = C.golden_steps(case["stable"])
    reference = OPT[case["id"]]
    assert reference.shape == (len(steps), 2), REGENERATE
    if case.get("batch_size") is not None:
        np.testing.assert_array_equal(C.torch_inputs(case)["batches"],
                                      OPT[f"batches:{case['id']}"],
                                      err_msg="the mini-batches changed: " + REGENERATE)
    ours = C.our_descend(case).points[steps]
    mismatch = C.first_mismatch(ours, reference)
    assert mismatch is None, (
        f"{case['id']}: ours differs from torch's golden run at step {steps[mismatch[0]]} by "
        f"{mismatch[1]:.3g} relative (ours {ours[mismatch[0]]!r}, "
        f"torch {reference[mismatch[0]]!r})")


@pytest.mark.parametrize("name", list(OPT_META["schedules"]))
def test_schedule_values_equal_torch_golden(name):
    assert OPT_META["schedules"][name] == json.loads(json.dumps(C.schedule_spec(name)))
    np.testing.assert_allclose(C.our_schedule_values(name), OPT[f"schedule:{name}"],
                               rtol=C.RTOL, atol=0)


def test_every_landscape_and_curve_is_in_the_golden_files():
    entries = LAND_META["entries"]
    assert set(landscapes.names()) | set(landscapes.curves()) <= set(entries), REGENERATE


def _check(values, prefix, what, dims=2):
    """values = (loss, grad, hessian or None) at the golden points; dims = 2 on a landscape
    (a gradient is a vector per point, a Hessian a matrix), 1 on a curve (numbers)."""
    loss, grad, hessian = values
    grad_axes, hessian_axes = (1, 2) if dims == 2 else (0, 0)
    C.assert_pointwise_close(loss, LAND[f"{prefix}:loss"], 0, C.LOSS_RTOL, f"{what} loss")
    C.assert_pointwise_close(grad, LAND[f"{prefix}:grad"], grad_axes, C.GRAD_RTOL,
                             f"{what} grad")
    if hessian is not None:
        C.assert_pointwise_close(hessian, LAND[f"{prefix}:hessian"], hessian_axes,
                                 C.GRAD_RTOL, f"{what} hessian")


@pytest.mark.parametrize("landscape_id", landscapes.names())
def test_landscape_equals_torch_autograd_golden(landscape_id):
    landscape = landscapes.get(landscape_id)
    points = LAND[f"{landscape_id}:points"]
    np.testing.assert_array_equal(points, C.sample_points(landscape_id, landscape.bounds),
                                  err_msg="the bounds changed: " + REGENERATE)
    hessian = None if landscape.hessian is None else landscape.hessian(points)
    _check((landscape.loss(points), landscape.grad(points), hessian), landscape_id,
           landscape_id)
    for i in range(LAND_META["entries"][landscape_id]["batches"]):
        batch = LAND[f"{landscape_id}:batch{i}"]
        hessian = None if landscape.hessian is None else landscape.hessian(points, batch=batch)
        _check((landscape.loss(points, batch=batch), landscape.grad(points, batch=batch),
                hessian), f"{landscape_id}:batch{i}", f"{landscape_id} batch of {len(batch)}")


@pytest.mark.parametrize("landscape_id",
                         [i for i in landscapes.names() if hasattr(landscapes.get(i), "data")])
def test_data_is_the_golden_data(landscape_id):
    x, y = landscapes.get(landscape_id).data
    np.testing.assert_array_equal(x, LAND[f"{landscape_id}:data_x"], err_msg=REGENERATE)
    np.testing.assert_array_equal(y, LAND[f"{landscape_id}:data_y"], err_msg=REGENERATE)


@pytest.mark.parametrize("curve_id", landscapes.curves())
def test_curve_equals_torch_autograd_golden(curve_id):
    curve = landscapes.curve(curve_id)
    w = LAND[f"{curve_id}:points"]
    _check((curve.loss(w), curve.grad(w), curve.hessian(w)), curve_id, curve_id, dims=1)
