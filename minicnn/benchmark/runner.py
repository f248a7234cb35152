"""Running the benchmark matrix, one group at a time, by the timing method.

A group is the cases that compute the same thing — one op, one shape, one direction — on
different implementations (torch, each backend and conv2d algorithm): the contenders whose
times are compared. For each group, every case's inputs are made (:func:`~.cases.contender`),
then :func:`~.timing.compare` times them in warmed blocks alternated over rounds; then, untimed,
each case's peak memory (:func:`~.memory.case_peak_bytes`). Groups run one after another, so
the ratios inside a group come from blocks seconds apart, never minutes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from .cases import Case, by_group, contender
from .memory import case_peak_bytes
from .timing import Method, Timing, compare, one_line_error


@dataclass(frozen=True)
class Measurement:
    """A case's timing (with the error, if it could not run) and its peak memory above the inputs."""

    case: Case
    timing: Timing
    peak_bytes: int | None = None

    @property
    def error(self) -> str | None:
        return self.timing.error


class Progress(Protocol):
    """What :func:`run_cases` reports to (the command's :class:`~.progress.BenchProgress`)."""

    def started(self, cases: Sequence[Case]) -> None: ...

    def finished(self, measurement: Measurement) -> None: ...


def time_group(cases: Sequence[Case], method: Method) -> list[Timing]:
    """The timings of one group's cases, in their order; a case whose inputs cannot be built
    (a backend's missing kernel, memory) gets its error and no blocks."""
    contenders, failed = [], {}
    for case in cases:
        try:
            contenders.append(contender(case))
        except Exception as exc:
            failed[case.implementation.label] = one_line_error(exc)
    timed = {timing.label: timing for timing in compare(contenders, method)}
    return [timed.get(label) or Timing(label, error=failed[label])
            for label in (case.implementation.label for case in cases)]


def run_cases(cases: Sequence[Case], method: Method, progress: Progress | None = None) -> list[Measurement]:
    """Time every group of ``cases`` (:func:`time_group`), then measure each case's memory."""
    measurements = []
    for group in by_group(cases).values():
        if progress is not None:
            progress.started(group)
        for case, timing in zip(group, time_group(group, method)):
            peak = None if timing.error is not None else case_peak_bytes(case)
            measurement = Measurement(case, timing, peak)
            measurements.append(measurement)
            if progress is not None:
                progress.finished(measurement)
    return measurements
