"""Predict, then reveal: how good a student's guess of the next point was (pure numpy).

    score = optimizers.score_guess(before, truth, guess)   # points of shape (d,) or numbers (1-D)
    score.error           # |guess − truth| / |truth − before|: the miss in units of the step
    score.points          # max(0, 1 − error): 1 for a perfect guess, 0 from one step-length off
    score.same_direction  # the guess moved the way the step did (1-D: left or right)
    score.reach           # how far along the true step the guess went (1 = as far; < 0 = wrong way)
    optimizers.running_score([score.points, ...])   # rounds, total, mean (None before a round)

Scoring rule: a round earns max(0, 1 − e) points, e = |guess − truth| / |truth − before|; the
running score is the mean over the rounds played (shown as a percentage). Measuring the miss in
step lengths makes a long step and a short one equally hard to guess. A step of length zero (at
the bottom) or a non-finite point (a diverged run) has nothing to guess: ValueError.
"""

from typing import NamedTuple

import numpy as np


class GuessScore(NamedTuple):
    distance: float       # |guess − truth|
    step_length: float    # |truth − before|
    error: float          # distance / step_length
    points: float         # max(0, 1 − error)
    same_direction: bool  # (guess − before) · (truth − before) > 0
    reach: float          # (guess − before) · (truth − before) / |truth − before|²


class RunningScore(NamedTuple):
    rounds: int
    total: float
    mean: float | None    # total / rounds (None before the first round)


def _point(name, value, d=None):
    try:
        point = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a point (numbers), got {value!r}") from None
    if point.ndim != 1 or (d is not None and point.shape != (d,)):
        expected = f"({d},)" if d is not None else "(d,)"
        raise ValueError(f"{name} must have shape {expected}, got shape {point.shape}")
    if not np.isfinite(point).all():
        raise ValueError(f"{name} is not finite (a diverged run has no next point to guess)")
    return point


def score_guess(before, truth, guess):
    """The :class:`GuessScore` of ``guess`` for the step from ``before`` to ``truth``.

    e = ‖guess − truth‖ / ‖truth − before‖;  points = max(0, 1 − e);
    reach = (guess − before)·Δ / ‖Δ‖² with Δ = truth − before.
    """
    before = _point("the point before the step", before)
    truth = _point("the true next point", truth, before.shape[0])
    guess = _point("the guess", guess, before.shape[0])
    step = truth - before
    step_length = float(np.sqrt(np.sum(step * step)))
    if step_length == 0:
        raise ValueError("the true step has zero length (the run stands still): "
                         "nothing to guess")
    miss = guess - truth
    distance = float(np.sqrt(np.sum(miss * miss)))
    error = distance / step_length
    along = float(np.sum((guess - before) * step))
    return GuessScore(distance=distance, step_length=step_length, error=error,
                      points=max(0.0, 1.0 - error), same_direction=along > 0,
                      reach=along / (step_length * step_length))


def running_score(points):
    """The rounds played, their total and mean (the session's score) from each round's points."""
    values = np.asarray(list(points), dtype=np.float64)
    if values.ndim != 1 or not (np.isfinite(values).all() and (values >= 0).all()
                                and (values <= 1).all()):
        raise ValueError("each round's points must be a number between 0 and 1")
    total = float(values.sum())
    return RunningScore(len(values), total, total / len(values) if len(values) else None)
