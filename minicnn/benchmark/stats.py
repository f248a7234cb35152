"""The numbers reported per case: median and interquartile range of the times, GFLOP/s, the
share of the GEMM peak, and time ratios (to torch, to an earlier run).

The median and the IQR, not the mean and the standard deviation: on a shared machine a few
repetitions are slowed by other processes, and those outliers should move neither number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Quartiles of the repetition times, in seconds."""

    median: float
    q1: float
    q3: float

    @property
    def iqr(self) -> float:
        """Interquartile range: the spread of the middle half of the times."""
        return self.q3 - self.q1


def summarize(times: Sequence[float]) -> Stats:
    """Median and quartiles (linear interpolation between the sorted times, NumPy's default)."""
    if len(times) == 0:
        raise ValueError("summarize: no times to summarize")
    q1, median, q3 = np.percentile(np.asarray(times, dtype=float), [25, 50, 75])
    return Stats(float(median), float(q1), float(q3))


def gflops(flops: int | None, seconds: float) -> float | None:
    """Billions of floating-point operations per second; None when the FLOPs are not counted."""
    return None if flops is None else flops / seconds / 1e9


def peak_percent(rate_gflops: float | None, peak_gflops: float | None) -> float | None:
    """``rate_gflops`` as a percentage of the measured GEMM peak (None when either is unknown)."""
    if rate_gflops is None or not peak_gflops:
        return None
    return 100.0 * rate_gflops / peak_gflops


def time_ratio(seconds: float, reference_seconds: float | None) -> float | None:
    """seconds / reference: > 1 is slower than the reference, < 1 faster; None without one."""
    if not reference_seconds:
        return None
    return seconds / reference_seconds
