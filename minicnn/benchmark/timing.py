"""The timing method of every minicnn benchmark table: warmed blocks, alternated over rounds.

``minicnn bench``, the pytest-benchmark suites in benchmarks/ (and so benchmarks/report.py's
tables) all time with :func:`compare`, and print :meth:`Method.describe` with every table. The
method is DESIGN.md's (Performance), modelled on ``torch.utils.benchmark`` — its
``blocked_autorange`` and its ``Compare`` tables:

1. **Blocks.** Each contender (a library, or one implementation in it) is timed in a block of
   its own. The block first runs it untimed for at least ``warmup_s`` seconds (at least one
   call): first-touch page faults of its temporaries, JIT compilation, thread-pool start-up,
   ``auto``'s tuning, and the spinning of the previous block's idle BLAS threads all land
   there. Then it runs at least ``min_calls`` calls and at least ``min_block_s`` seconds, each
   call timed on its own; the block's time is the median per call.
2. **Rounds.** Blocks are never interleaved call by call: after a NumPy GEMM, OpenBLAS's idle
   threads spin and steal a core from whatever runs next. But they are alternated: ``rounds``
   rounds, each with one block of every contender, the order rotated by one place each round
   so that no contender always runs first or always right after the same other one. A drift
   in the host's load then reaches every contender's blocks, not all the blocks of one.
3. **Numbers.** A contender's time is the median of its block medians. Beside it, the spread:
   the min-max of the block medians (how far the rounds disagree) and the interquartile range
   of all its timed calls (the noise within the blocks). Ratios are ratios of these medians,
   between contenders of the same run.

The garbage collector is collected before and switched off during the timed calls (as
``timeit`` does), so that one contender's garbage is not collected in another's time. The
process's settings are part of the method too, and are stated beside it: glibc's malloc
thresholds (:mod:`minicnn.allocator`) and the BLAS threads.
"""
from __future__ import annotations

import contextlib
import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Sequence

from .stats import Stats, summarize

Clock = Callable[[], float]
Step = Callable[[], Any]


@dataclass(frozen=True)
class Method:
    """How long each block warms up and runs, and how many rounds of blocks (see the module doc)."""

    warmup_s: float = 0.2
    min_calls: int = 7
    min_block_s: float = 0.3
    rounds: int = 3

    def __post_init__(self) -> None:
        for name in ("warmup_s", "min_block_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"timing method: {name} must be >= 0 seconds, got {getattr(self, name)}")
        for name in ("min_calls", "rounds"):
            if getattr(self, name) < 1:
                raise ValueError(f"timing method: {name} must be at least 1, got {getattr(self, name)}")

    def describe(self) -> str:
        """The one-line statement printed with every table."""
        return (f"method: each implementation in its own block ({self.warmup_s:g} s warm-up, then "
                f">= {self.min_calls} calls and >= {self.min_block_s:g} s, median per call); blocks "
                f"alternated over {self.rounds} round(s) in one process, order rotated each round; "
                f"time = median of the block medians; spread = min-max of the block medians, and "
                f"IQR of all timed calls")

    def as_dict(self) -> dict[str, float]:
        return {"warmup_s": self.warmup_s, "min_calls": self.min_calls,
                "min_block_s": self.min_block_s, "rounds": self.rounds}


DEFAULT_METHOD = Method()  # DESIGN.md's numbers
QUICK_METHOD = Method(warmup_s=0.05, min_calls=3, min_block_s=0.05, rounds=3)  # a first look
SMOKE_METHOD = Method(warmup_s=0.0, min_calls=1, min_block_s=0.0, rounds=1)  # two calls each: checks, not timing


@dataclass(frozen=True)
class Contender:
    """One thing to time: ``step()`` runs it once; ``scope()`` is entered around each of its blocks
    (minicnn's backend selected, no autograd graph for a forward), so contenders whose settings
    differ can alternate. ``warmup``, where given, runs in the warm-up instead of ``step``: a
    shorter piece of the same work, for a step that takes seconds (a training epoch)."""

    label: str
    step: Step
    scope: Callable[[], ContextManager] = contextlib.nullcontext
    warmup: Step | None = None


@dataclass(frozen=True)
class Block:
    """One block: how many warm-up calls it took, and the seconds of each timed call."""

    warmup_calls: int
    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass(frozen=True)
class Timing:
    """A contender's blocks, one per round, or why it could not run (then no blocks are kept)."""

    label: str
    blocks: tuple[Block, ...] = ()
    error: str | None = None

    @property
    def block_medians(self) -> list[float]:
        return [block.median for block in self.blocks]

    @property
    def median(self) -> float:
        """The contender's time: the median of its block medians."""
        return statistics.median(self.block_medians)

    @property
    def spread(self) -> tuple[float, float]:
        """(fastest, slowest) block median."""
        return min(self.block_medians), max(self.block_medians)

    @property
    def calls(self) -> Stats:
        """Quartiles of every timed call of every block."""
        return summarize([t for block in self.blocks for t in block.times])

    def as_dict(self) -> dict[str, Any]:
        """The JSON record: the numbers of the table and each block's median and size."""
        if self.error is not None:
            return {"error": self.error}
        low, high = self.spread
        calls = self.calls
        return {"median_s": self.median, "min_s": low, "max_s": high, "q1_s": calls.q1, "q3_s": calls.q3,
                "iqr_s": calls.iqr, "block_medians_s": self.block_medians,
                "calls_per_block": [len(block.times) for block in self.blocks]}


def time_block(step: Step, method: Method, clock: Clock = time.perf_counter, warmup: Step | None = None) -> Block:
    """One block of ``step``: the warm-up (of ``warmup`` if given), then the timed calls (see the
    module docstring)."""
    warm = step if warmup is None else warmup
    warmup_calls, start = 0, clock()
    while warmup_calls == 0 or clock() - start < method.warmup_s:
        warm()
        warmup_calls += 1
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        times: list[float] = []
        start = clock()
        while len(times) < method.min_calls or clock() - start < method.min_block_s:
            before = clock()
            step()
            times.append(clock() - before)
    finally:
        if collecting:
            gc.enable()
    return Block(warmup_calls, tuple(times))


def one_line_error(exc: BaseException) -> str:
    """"MemoryError: ...", whitespace folded: how a contender's failure appears in a table."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def rotated(items: Sequence, round_index: int) -> list:
    """``items`` starting at place ``round_index`` (mod their number), wrapping around."""
    first = round_index % len(items) if items else 0
    return [*items[first:], *items[:first]]


@dataclass
class _Record:
    blocks: list[Block] = field(default_factory=list)
    error: str | None = None


def compare(contenders: Sequence[Contender], method: Method = DEFAULT_METHOD,
            clock: Clock = time.perf_counter) -> list[Timing]:
    """Time ``contenders`` by the method: ``method.rounds`` rounds of one block each, rotated.

    Returns one :class:`Timing` per contender, in the given order. A contender that raises is
    dropped from the later rounds and reported by its ``error``, so one failing implementation
    (a missing kernel, memory) does not end a long run.
    """
    labels = [contender.label for contender in contenders]
    if len(set(labels)) != len(labels):
        raise ValueError(f"compare: each contender needs its own label, got {labels}")
    records = {label: _Record() for label in labels}
    for round_index in range(method.rounds):
        for contender in rotated(contenders, round_index):
            record = records[contender.label]
            if record.error is not None:
                continue
            try:
                with contender.scope():
                    record.blocks.append(time_block(contender.step, method, clock, contender.warmup))
            except Exception as exc:
                record.error = one_line_error(exc)
    return [Timing(label, () if record.error else tuple(record.blocks), record.error)
            for label, record in records.items()]
