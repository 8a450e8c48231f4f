"""Learning-rate schedules: functions ``step -> lr`` equal to torch.optim.lr_scheduler's values.

``schedule(step)`` is the learning rate of update number ``step`` (0 = the first update, torch's
value before the first ``scheduler.step()``; step s = after s calls). ``step`` is an int or an
int array (the UI plots η over all steps at once).

torch computes CosineAnnealingLR, LinearLR and StepLR recursively, each value from the previous
one (``get_lr``), which differs from the closed forms in the last bits. These schedules repeat
torch's recursion operation by operation, so the values are torch's own floats, not just close
to them. The recursion is evaluated once per schedule up to the largest step asked for and
kept in a table, so a lookup costs nothing.
"""

import math

import numpy as np

from ._checks import count, number

# The table is built step by step in Python; beyond this a schedule is surely a typo.
MAX_STEP = 10_000_000


class Schedule:
    """A learning rate per step, ``schedule(step)``; prints as the call that built it."""

    def __init__(self, description, first, following):
        self._description = description
        self._first = first            # lr at step 0
        self._following = following    # (step, lr at step − 1) -> lr at step
        self._table = np.array([first], dtype=np.float64)

    def _grow(self, last):
        table = list(self._table)
        for step in range(len(table), last + 1):
            table.append(self._following(step, table[-1]))
        self._table = np.array(table, dtype=np.float64)  # one assignment: safe to share

    def __call__(self, step):
        steps = np.asarray(step)
        if steps.dtype.kind not in "iu":
            raise ValueError(f"a schedule takes integer step numbers, got {step!r}")
        steps = steps.astype(np.int64)
        if steps.size and steps.min() < 0:
            raise ValueError(f"steps start at 0, got {step!r}")
        last = int(steps.max()) if steps.size else 0
        if last > MAX_STEP:
            raise ValueError(f"schedules go up to step {MAX_STEP:,}, got {last:,}")
        if last >= len(self._table):
            self._grow(min(max(last, 2 * len(self._table)), MAX_STEP))
        values = self._table[steps]
        return float(values) if values.ndim == 0 else values

    def __repr__(self):
        return self._description


def constant(lr):
    """η_t = η."""
    lr = number("lr", lr, low=0.0)
    return Schedule(f"constant(lr={lr!r})", lr, lambda step, previous: previous)


def step_decay(lr, step_size, gamma=0.1):
    """η_t = η·γ^⌊t/step_size⌋ (torch.optim.lr_scheduler.StepLR).

    As torch: η_t = η_{t−1}·γ when t is a multiple of step_size, else η_{t−1}.
    """
    lr = number("lr", lr, low=0.0)
    step_size = count("step_size", step_size)
    gamma = number("gamma", gamma, low=0.0)

    def following(step, previous):
        return previous * gamma if step % step_size == 0 else previous

    return Schedule(f"step_decay(lr={lr!r}, step_size={step_size}, gamma={gamma!r})",
                    lr, following)


def _cosine_following(lr, T_max, eta_min):
    """CosineAnnealingLR.get_lr, the recursive form torch uses while stepping."""

    def following(epoch, previous):
        if (epoch - 1 - T_max) % (2 * T_max) == 0:
            return previous + (lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        return ((1 + math.cos(math.pi * epoch / T_max))
                / (1 + math.cos(math.pi * (epoch - 1) / T_max))
                * (previous - eta_min) + eta_min)

    return following


def cosine(lr, T_max, eta_min=0.0):
    """η_t = η_min + (η − η_min)·(1 + cos(πt/T_max))/2 (CosineAnnealingLR).

    Past T_max the rate rises again (torch does not restart, it follows the cosine).
    Values are torch's recursive ones: η_t = η_min + (η_{t−1} − η_min)·(1 + cos(πt/T))/(1 +
    cos(π(t−1)/T)), with η_{t} = η_{t−1} + (η − η_min)(1 − cos(π/T))/2 at t = T+1, 3T+1, ...
    """
    lr = number("lr", lr, low=0.0)
    T_max = count("T_max", T_max)
    eta_min = number("eta_min", eta_min, low=0.0)
    return Schedule(f"cosine(lr={lr!r}, T_max={T_max}, eta_min={eta_min!r})",
                    lr, _cosine_following(lr, T_max, eta_min))


def _linear_following(start_factor, end_factor, total_iters):
    """LinearLR.get_lr, the recursive form torch uses while stepping."""

    def following(epoch, previous):
        if epoch > total_iters:
            return previous
        return previous * (1.0 + (end_factor - start_factor)
                           / (total_iters * start_factor
                              + (epoch - 1) * (end_factor - start_factor)))

    return following


def _check_linear(start_factor, end_factor, total_iters, iters_name="total_iters"):
    start_factor = number("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    end_factor = number("end_factor", end_factor, low=0.0, high=1.0)
    total_iters = count(iters_name, total_iters)
    return start_factor, end_factor, total_iters


def linear_warmup(lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    """η_t = η·(s + (e − s)·min(t, T)/T), from s·η up to e·η in T steps (LinearLR).

    torch's names and defaults (start_factor s = 1/3, end_factor e = 1, total_iters T = 5);
    values are torch's recursive ones: η_t = η_{t−1}·(1 + (e − s)/(T·s + (t − 1)(e − s))).
    """
    start_factor, end_factor, total_iters = _check_linear(start_factor, end_factor, total_iters)
    lr = number("lr", lr, low=0.0)
    return Schedule(
        f"linear_warmup(lr={lr!r}, start_factor={start_factor!r}, end_factor={end_factor!r}, "
        f"total_iters={total_iters})",
        lr * start_factor, _linear_following(start_factor, end_factor, total_iters))


def warmup_cosine(lr, warmup_iters, T_max, start_factor=1.0 / 3, eta_min=0.0):
    """Linear warmup for warmup_iters steps, then cosine annealing over T_max steps.

    Exactly torch's SequentialLR(opt, [LinearLR(opt, start_factor, 1.0, warmup_iters),
    CosineAnnealingLR(opt, T_max, eta_min)], milestones=[warmup_iters]): η rises from
    start_factor·η, at step warmup_iters the cosine starts at η (torch's closed form at its
    epoch 0) and then follows its recursion with epoch t − warmup_iters.
    """
    start_factor, _, warmup_iters = _check_linear(start_factor, 1.0, warmup_iters,
                                                  "warmup_iters")
    lr = number("lr", lr, low=0.0)
    T_max = count("T_max", T_max)
    eta_min = number("eta_min", eta_min, low=0.0)
    warm = _linear_following(start_factor, 1.0, warmup_iters)
    anneal = _cosine_following(lr, T_max, eta_min)

    def following(step, previous):
        if step < warmup_iters:
            return warm(step, previous)
        if step == warmup_iters:
            return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * 0 / T_max)) / 2
        return anneal(step - warmup_iters, previous)

    return Schedule(
        f"warmup_cosine(lr={lr!r}, warmup_iters={warmup_iters}, T_max={T_max}, "
        f"start_factor={start_factor!r}, eta_min={eta_min!r})",
        lr * start_factor, following)
