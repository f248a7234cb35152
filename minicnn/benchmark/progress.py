"""Progress of a benchmark run on stderr: a tqdm bar on a terminal, one line per case otherwise.

As in training (:mod:`minicnn.training.progress`), tqdm's carriage-return redraws would turn a
log file into noise, so the bar is used only when tqdm is installed AND stderr is a terminal.
Nothing is printed while a group of cases is being timed: progress comes between groups.
"""
from __future__ import annotations

import sys
from typing import Sequence, TextIO

from .cases import Case
from .runner import Measurement


def _tqdm_class():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def describe(measurement: Measurement) -> str:
    """"conv2d lenet_c1 (...) fwd numpy/im2col: 1.234 ms" or "...: failed: <error>"."""
    if measurement.error is not None:
        return f"{measurement.case}: failed: {measurement.error}"
    return f"{measurement.case}: {measurement.timing.median * 1e3:.3f} ms"


class BenchProgress:
    """Call :meth:`started` before timing a group of cases, :meth:`finished` after each of its
    cases is done, :meth:`close` at the end (the :class:`~.runner.Progress` of a run)."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO = sys.stderr):
        self.total = total
        self.enabled = enabled
        self.stream = stream
        self.done = 0
        tqdm = _tqdm_class() if enabled and stream.isatty() else None
        self.bar = None if tqdm is None else tqdm(total=total, unit="case", file=stream, leave=False)

    def started(self, cases: Sequence[Case]) -> None:
        if self.bar is not None and cases:
            self.bar.set_description(cases[0].group)

    def finished(self, measurement: Measurement) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is None:
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {describe(measurement)}", file=self.stream, flush=True)
            return
        if measurement.error is not None:
            self.bar.write(describe(measurement), file=self.stream)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
