"""Live oracle: every optimizer variant equals torch.optim (Lion: lion-pytorch) in float64 over
1000 steps, to 1e-12 relative, for as long as torch agrees with its own one-ulp shadow run
(DESIGN.md, "Equal to torch"). Runs in the python3.11 oracle venv: `make oracle`."""

import numpy as np
import pytest

from tests.oracle import cases as C
from tests.oracle import live

pytestmark = pytest.mark.oracle
pytest.importorskip("torch")
pytest.importorskip("lion_pytorch")


def _describe_mismatch(case, step, rel, ours, theirs):
    return (f"{case['id']}: ours differs from torch at step {step} by {rel:.3g} relative "
            f"(ours {ours[step]!r}, torch {theirs[step]!r})")


@pytest.mark.parametrize("case", live.CASES, ids=[c["id"] for c in live.CASES])
def test_trajectory_equals_torch_while_torch_is_stable(case):
    reference = live.torch_run(case)
    stable = reference["stable"]
    ours = C.our_descend(case)
    mismatch = C.first_mismatch(ours.points[:stable], reference["points"][:stable])
    if mismatch is not None:
        step, rel = mismatch
        pytest.fail(_describe_mismatch(case, step, rel, ours.points, reference["points"]))
    assert stable >= C.min_stable(case["id"]), (
        f"{case['id']}: torch is stable for only {stable} steps")


@pytest.mark.parametrize("case", live.CASES, ids=[c["id"] for c in live.CASES])
def test_learning_rate_of_every_update_equals_torch(case):
    """The rate each update used: ours opt.lr_at(k) vs torch's param_groups lr before its k-th
    update (DESIGN.md: step 0 is torch's value before the first scheduler.step())."""
    reference = live.torch_run(case)
    opt = C.our_optimizer(case)
    ours = np.array([opt.lr_at(k) for k in range(case["steps"])])
    np.testing.assert_allclose(ours, reference["lrs"], rtol=C.RTOL, atol=0)


def test_the_shadow_run_really_is_nudged():
    """The stability yardstick works: on a chaotic run the shadow drifts off within the 1000
    steps, and on every run the two differ after the first step."""
    case = live.CASES_BY_ID["rmsprop-plain-rosenbrock"]
    reference = live.torch_run(case)
    assert reference["stable"] < case["steps"] + 1
    for shadow in range(reference["shadows"].shape[1]):
        assert not np.array_equal(reference["points"][1], reference["shadows"][1, shadow])


def test_every_optimizer_and_schedule_is_in_the_matrix():
    import optimizers

    covered = {(c["optimizer"], c["variant"]) for c in live.CASES}
    for name in optimizers.names():
        for variant in ("plain", *C.SCHEDULES, "clip"):
            assert (name, variant) in covered
    assert {c["landscape"] for c in live.CASES} == set(C.STARTS) | set(C.DATA_STARTS)
    assert len(C.STARTS) >= 4


@pytest.mark.parametrize("name", list(C.SCHEDULE_CHECKS))
def test_schedule_values_equal_torch_lr_scheduler(name):
    """Step 0 is the rate before the first scheduler.step() (DESIGN.md, "Schedules")."""
    torch_lrs = live.torch_reference().schedule_lrs(C.schedule_spec(name), C.SCHEDULE_LR,
                                                    C.STEPS)
    ours = C.our_schedule_values(name)
    np.testing.assert_allclose(ours, torch_lrs, rtol=C.RTOL, atol=0)
    assert ours[0] == torch_lrs[0]


def test_golden_files_are_what_live_torch_computes():
    """tests/golden/optimizers.* (written by scripts/make_golden.py) hold today's torch runs:
    the same stable stretches and, at the kept steps, the same points."""
    import json
    from pathlib import Path

    golden = Path(__file__).resolve().parent.parent / "golden"
    meta = json.loads((golden / "optimizers.json").read_text())
    stale = []
    with np.load(golden / "optimizers.npz") as arrays:
        for case in meta["cases"]:
            reference = live.torch_run(live.CASES_BY_ID[case["id"]])
            steps = C.golden_steps(case["stable"])
            if (case["stable"] != reference["stable"]
                    or C.first_mismatch(arrays[case["id"]], reference["points"][steps])):
                stale.append(f"{case['id']} (stable {case['stable']} vs {reference['stable']})")
    assert not stale, "regenerate with `make golden`: " + ", ".join(stale)
