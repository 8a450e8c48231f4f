"""Timing helpers shared by the benchmark sections (standard library only)."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeats, warmup=1):
    """Median wall time of fn() in seconds over `repeats` calls, after `warmup` untimed calls;
    returns (median, all times)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times
