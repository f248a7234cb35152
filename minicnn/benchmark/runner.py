"""Timing the cases: warm up, then repeat, one case (and one runtime) at a time.

DESIGN.md, Performance, is the contract, and each rule has a place here:

- every repetition of a case runs back to back after a warm-up, never alternating with another
  implementation's calls (:func:`measure`);
- the cases of one runtime (torch-cpu, numpy, numba, ...) come in one block (the order of
  :func:`~.cases.build_cases`), with a pause between blocks so that the previous library's
  spinning threads (OpenBLAS: ~0.1 s after a GEMM) have gone to sleep (:class:`Settler`);
- a case's inputs are made once and reused (:func:`~.cases.prepared`).
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .cases import Case, Step, prepared
from .stats import Stats, summarize

if TYPE_CHECKING:
    from .progress import BenchProgress


@dataclass(frozen=True)
class Timing:
    """How long to warm up and how many times to repeat each case.

    The warm-up runs at least ``warmup_calls`` calls AND ``warmup_seconds``: the first calls pay
    for page faults of fresh temporaries, JIT compilation, thread-pool start-up and ``auto``'s
    tuning; the seconds let the previous case's threads settle.
    """

    repeat: int = 10
    warmup_calls: int = 2
    warmup_seconds: float = 0.2
    settle_seconds: float = 0.2

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ValueError(f"--repeat: need at least 1 repetition, got {self.repeat}")


QUICK_TIMING = Timing(repeat=3, warmup_calls=1, warmup_seconds=0.05, settle_seconds=0.1)


@dataclass(frozen=True)
class Measurement:
    """The repetition times of one case (seconds), or why it could not run."""

    case: Case
    times: tuple[float, ...] = ()
    error: str | None = None

    @property
    def stats(self) -> Stats | None:
        return None if self.error is not None else summarize(self.times)


def warm_up(step: Step, timing: Timing) -> None:
    start = time.perf_counter()
    calls = 0
    while calls < timing.warmup_calls or time.perf_counter() - start < timing.warmup_seconds:
        step()
        calls += 1


def time_repetitions(step: Step, repeat: int) -> list[float]:
    """``repeat`` wall-clock times of ``step()``, with the garbage collector off (as timeit does)
    so that a collection triggered by one case's garbage does not land in another's time."""
    gc.collect()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return times
    finally:
        gc.enable()


def measure(case: Case, timing: Timing) -> Measurement:
    """Warm-up then ``timing.repeat`` repetitions; an error becomes the Measurement's ``error``
    so that one failing case (a backend's missing kernel, memory) does not end a long run."""
    try:
        with prepared(case) as step:
            warm_up(step, timing)
            return Measurement(case, tuple(time_repetitions(step, timing.repeat)))
    except Exception as exc:
        return Measurement(case, error=f"{type(exc).__name__}: {' '.join(str(exc).split())}")


class Settler:
    """Pauses before the first case of a new runtime, so the previous one's threads go idle."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.runtime: str | None = None

    def before(self, case: Case) -> None:
        runtime = case.implementation.runtime
        if self.runtime is not None and runtime != self.runtime:
            time.sleep(self.seconds)
        self.runtime = runtime


def run_cases(cases: Sequence[Case], timing: Timing, progress: BenchProgress | None = None) -> list[Measurement]:
    """Measure every case in the given order (keep :func:`~.cases.build_cases`'s runtime blocks)."""
    settler = Settler(timing.settle_seconds)
    measurements = []
    for case in cases:
        settler.before(case)
        if progress is not None:
            progress.started(case)
        measurement = measure(case, timing)
        measurements.append(measurement)
        if progress is not None:
            progress.finished(measurement)
    return measurements
