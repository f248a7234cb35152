"""Progress within a training epoch: a tqdm bar on a terminal, plain periodic lines otherwise.

tqdm redraws one line with carriage returns, which turns a log file or a CI log into noise,
so the bar is used only when tqdm is installed AND the stream is a terminal; pipes and files
get a line every 10% of the epoch instead. Either way the running loss and accuracy are read
only at those marks: on a GPU each read waits for the device, so reading them per batch
would put a host round trip into every training step.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from .metrics import RunningScore

PLAIN_LINES_PER_EPOCH = 10


def _tqdm_class():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class EpochProgress:
    """Call :meth:`update` after each batch, :meth:`close` at the end of the epoch."""

    def __init__(self, label: str, total_images: int, enabled: bool = True,
                 stream: TextIO = sys.stderr):
        self.label = label
        self.total = total_images
        self.enabled = enabled
        self.stream = stream
        self.seen = 0
        self.start = time.perf_counter()
        self.next_line_at = total_images / PLAIN_LINES_PER_EPOCH
        tqdm = _tqdm_class() if enabled and stream.isatty() else None
        self.bar = None if tqdm is None else tqdm(
            total=total_images, desc=label, unit="img", leave=False, file=stream
        )

    def update(self, batch_size: int, score: RunningScore) -> None:
        self.seen += batch_size
        if not self.enabled:
            return
        at_mark = self.seen >= self.next_line_at or self.seen == self.total
        if at_mark:
            self.next_line_at += self.total / PLAIN_LINES_PER_EPOCH
        if self.bar is not None:
            if at_mark:  # the score is read here only (see the module docstring)
                self.bar.set_postfix(loss=f"{score.loss:.4f}", acc=f"{score.accuracy:.2%}", refresh=False)
            self.bar.update(batch_size)  # tqdm computes images/s and the ETA itself from the counts
        elif at_mark:
            self._print_line(score)

    def _print_line(self, score: RunningScore) -> None:
        elapsed = time.perf_counter() - self.start
        rate = self.seen / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.seen) / rate if rate > 0 else 0.0
        width = len(str(self.total))
        print(f"{self.label} [{self.seen:>{width}}/{self.total}] loss {score.loss:.4f} "
              f"acc {score.accuracy:.2%} {rate:,.0f} img/s eta {format_duration(eta)}",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
