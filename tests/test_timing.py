"""minicnn.benchmark.timing, the one timing method, on a fake clock: no wall-clock time is read.

The fake clock moves only when a step runs, by the duration the step says, so every block's
warm-up length, call count, median and every round's order follow by hand arithmetic. The
durations are binary fractions (1/16, 1/64, ...) so that sums of them are exact.
"""
from __future__ import annotations

import contextlib
import gc
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minicnn.benchmark.timing import (
    DEFAULT_METHOD, Block, Contender, Method, Timing, compare, rotated, time_block,
)

REPO = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float, log: list | None = None, name: str = ""):
        """A step that takes ``seconds`` of fake time (and notes ``name`` in ``log``)."""
        def run() -> None:
            self.now += seconds
            if log is not None:
                log.append(name)
        return run


def test_the_default_method_is_designs():
    # DESIGN.md, Performance: >= 0.2 s warm-up, then >= 7 calls and >= 0.3 s, >= 3 rounds.
    assert (DEFAULT_METHOD.warmup_s, DEFAULT_METHOD.min_calls, DEFAULT_METHOD.min_block_s,
            DEFAULT_METHOD.rounds) == (0.2, 7, 0.3, 3)


def test_the_method_line_states_every_number():
    line = Method(warmup_s=0.25, min_calls=9, min_block_s=0.5, rounds=4).describe()
    assert line.startswith("method: each implementation in its own block (0.25 s warm-up, then >= 9 calls "
                           "and >= 0.5 s, median per call)")
    assert "alternated over 4 round(s) in one process" in line
    assert "median of the block medians" in line and "min-max of the block medians" in line and "IQR" in line


@pytest.mark.parametrize("seconds, warmup_calls, timed_calls", [
    (1 / 16, 4, 8),    # warm-up 4 x 1/16 = 0.25 s; 0.5 s needs 8 calls, more than the 7 asked
    (1 / 8, 2, 7),     # warm-up 2 x 1/8; 7 calls are 0.875 s, over the 0.5 s
    (1.0, 1, 7),       # one call outlasts the warm-up; still 7 timed calls
])
def test_a_block_warms_up_then_times_at_least_min_calls_and_min_block_s(seconds, warmup_calls, timed_calls):
    clock = FakeClock()
    block = time_block(clock.step(seconds), Method(warmup_s=0.25, min_calls=7, min_block_s=0.5), clock)
    assert block.warmup_calls == warmup_calls
    assert block.times == (seconds,) * timed_calls
    assert block.median == seconds


def test_a_slow_first_call_lands_in_the_warm_up():
    clock = FakeClock()
    durations = iter([1.0] + [1 / 64] * 100)  # a JIT compilation, then the real speed

    def step() -> None:
        clock.now += next(durations)

    block = time_block(step, Method(warmup_s=0.25, min_calls=7, min_block_s=0.0), clock)
    assert block.warmup_calls == 1 and block.times == (1 / 64,) * 7


def test_the_block_median_is_per_call():
    clock = FakeClock()
    durations = iter([0.0] + [3 / 64, 1 / 64, 100 / 64, 2 / 64, 1 / 64])  # warm-up, then 5 calls

    def step() -> None:
        clock.now += next(durations)

    block = time_block(step, Method(warmup_s=0.0, min_calls=5, min_block_s=0.0), clock)
    assert block.median == 2 / 64  # sorted 1, 1, 2, 3, 100: the outlier moves nothing


def test_the_warm_up_runs_the_contenders_warmup_step_when_it_has_one():
    clock, log = FakeClock(), []
    block = time_block(clock.step(1 / 16, log, "epoch"), Method(warmup_s=0.25, min_calls=2, min_block_s=0.0),
                       clock, warmup=clock.step(1 / 8, log, "part"))
    assert log == ["part", "part", "epoch", "epoch"] and block.times == (1 / 16, 1 / 16)


def test_the_garbage_collector_is_off_only_during_the_timed_calls():
    clock, seen = FakeClock(), []

    def step() -> None:
        seen.append(gc.isenabled())
        clock.now += 1 / 16

    assert gc.isenabled()
    time_block(step, Method(warmup_s=0.0, min_calls=3, min_block_s=0.0), clock)
    assert seen == [True, False, False, False] and gc.isenabled()


def test_blocks_alternate_over_rounds_in_a_rotated_order_never_call_by_call():
    clock, log = FakeClock(), []
    contenders = [Contender(name, clock.step(1 / 16, log, name)) for name in "ABC"]
    timings = compare(contenders, Method(warmup_s=0.125, min_calls=3, min_block_s=0.0, rounds=3), clock)
    # Each block is 2 warm-up calls and 3 timed ones, all of one contender.
    blocks = [log[i:i + 5] for i in range(0, len(log), 5)]
    assert all(len(set(block)) == 1 for block in blocks)
    assert [block[0] for block in blocks] == list("ABC" "BCA" "CAB")
    assert [t.label for t in timings] == list("ABC")  # results in the given order
    assert all(len(t.blocks) == 3 and t.error is None for t in timings)


def test_rotated_wraps_around():
    assert rotated("ABCD", 0) == list("ABCD")
    assert rotated("ABCD", 5) == list("BCDA")
    assert rotated([], 2) == []


def test_the_time_is_the_median_of_the_block_medians_with_their_range_and_the_calls_iqr():
    clock, block_index = FakeClock(), [-1]
    per_block = [1 / 64, 3 / 64, 2 / 64]  # the host's load drifts from round to round

    @contextlib.contextmanager
    def next_block():
        block_index[0] += 1
        yield

    def step() -> None:
        clock.now += per_block[block_index[0]]

    method = Method(warmup_s=0.0, min_calls=8, min_block_s=0.0, rounds=3)
    (timing,) = compare([Contender("x", step, next_block)], method, clock)
    assert timing.block_medians == per_block
    assert timing.median == 2 / 64
    assert timing.spread == (1 / 64, 3 / 64)
    # All 24 calls: 8 of each time. Quartile positions 23 * 0.25 = 5.75 and 23 * 0.75 = 17.25
    # fall inside the runs of 1/64 and of 3/64.
    assert (timing.calls.q1, timing.calls.q3, timing.calls.iqr) == (1 / 64, 3 / 64, 2 / 64)
    record = timing.as_dict()
    assert record["median_s"] == 2 / 64 and (record["min_s"], record["max_s"]) == (1 / 64, 3 / 64)
    assert record["calls_per_block"] == [8, 8, 8] and record["iqr_s"] == 2 / 64
    assert json.loads(json.dumps(record)) == record


def test_each_contenders_scope_is_entered_around_each_of_its_blocks():
    clock, events = FakeClock(), []

    def scope(name):
        @contextlib.contextmanager
        def entered():
            events.append(f"enter {name}")
            yield
            events.append(f"exit {name}")
        return entered

    contenders = [Contender(name, clock.step(1 / 16, events, name), scope(name)) for name in "AB"]
    compare(contenders, Method(warmup_s=0.0, min_calls=1, min_block_s=0.0, rounds=2), clock)
    assert events == ["enter A", "A", "A", "exit A", "enter B", "B", "B", "exit B",
                      "enter B", "B", "B", "exit B", "enter A", "A", "A", "exit A"]


def test_a_failing_contender_is_reported_and_dropped_while_the_others_go_on():
    clock, calls = FakeClock(), []

    def failing() -> None:
        calls.append("bad")
        if len(calls) > 2:  # its second block
            raise MemoryError("out of\n  memory")
        clock.now += 1 / 16

    contenders = [Contender("good", clock.step(1 / 16)), Contender("bad", failing)]
    good, bad = compare(contenders, Method(warmup_s=0.0, min_calls=1, min_block_s=0.0, rounds=3), clock)
    assert bad.error == "MemoryError: out of memory" and bad.blocks == ()
    assert len(calls) == 3  # not run again in the third round
    assert good.error is None and len(good.blocks) == 3
    assert bad.as_dict() == {"error": "MemoryError: out of memory"}


def test_contenders_need_distinct_labels():
    with pytest.raises(ValueError, match=r"compare: each contender needs its own label, got \['a', 'a'\]"):
        compare([Contender("a", lambda: None), Contender("a", lambda: None)])


@pytest.mark.parametrize("fields, message", [
    (dict(rounds=0), "rounds must be at least 1, got 0"),
    (dict(min_calls=0), "min_calls must be at least 1, got 0"),
    (dict(warmup_s=-0.5), "warmup_s must be >= 0 seconds, got -0.5"),
    (dict(min_block_s=-1), "min_block_s must be >= 0 seconds, got -1"),
])
def test_an_impossible_method_is_refused(fields, message):
    with pytest.raises(ValueError, match=re.escape(f"timing method: {message}")):
        Method(**fields)


def test_a_block_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert Block(1, (4.0, 1.0, 3.0, 2.0)).median == 2.5
    assert Timing("x", (Block(1, (1.0,)), Block(1, (5.0,)))).median == 3.0


def test_no_other_code_in_the_benchmarks_reads_the_clock():
    """One method everywhere: only timing.py times contenders (machine.py measures the GEMM
    peak, a best-of ceiling, not a comparison)."""
    sources = [*REPO.glob("minicnn/benchmark/*.py"), *REPO.glob("benchmarks/*.py")]
    readers = sorted(path.name for path in sources if "perf_counter" in path.read_text())
    assert readers == ["machine.py", "timing.py"]


# --------------------------------------------------------------------- benchmarks/report.py
def _timing(median_ms: float, low_ms: float, high_ms: float, iqr_ms: float) -> dict:
    return {"median_s": median_ms / 1e3, "min_s": low_ms / 1e3, "max_s": high_ms / 1e3, "iqr_s": iqr_ms / 1e3}


def test_report_reads_the_timings_and_states_the_method(tmp_path):
    method = Method().describe()
    run = {
        "datetime": "2026-12-06T12:00:00.000000",
        "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}, "torch": "2.13.0", "torch_threads": 2,
                         "numpy_sgemm_peak_gflops": 100.0, "malloc": "glibc malloc keeps freed memory (...)",
                         "minicnn_blas": {"OPENBLAS_CORETYPE": "(unset: autodetect)", "blas": []}},
        "benchmarks": [
            {"name": "test_conv2d[c-fwd]", "group": "conv2d c fwd",
             "extra_info": {"flops": 2_000_000, "method_text": method,
                            "timings": {"torch-cpu": _timing(2.0, 1.9, 2.5, 0.1),
                                        "numpy/im2col": _timing(4.0, 3.5, 4.25, 0.2),
                                        "numpy/auto": _timing(4.5, 4.0, 5.0, 0.3)},
                            "auto": {"chosen": "im2col", "seconds": {"direct": 0.005, "im2col": 0.004}},
                            "torch_alone": {"malloc": "malloc at its defaults (...)", "threads": 2,
                                            **_timing(8.0, 7.0, 9.0, 0.5)}}},
        ],
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "report.py"), str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert f"Timing {method}." in out and "Process: glibc malloc keeps freed memory (...)." in out
    assert ("torch (own process, defaults): torch alone in a fresh process, malloc at its defaults (...), "
            "2 threads, the same method.") in out
    # 2 MFLOP in 4 ms = 0.5 GFLOP/s, 0.5 % of the 100 GFLOP/s peak; 4 / 2 = 2.00 x torch, 4 / 8 = 0.50
    # x torch alone.
    assert "| conv2d c fwd | numpy/im2col | 4.000 | 3.500–4.250 | 0.200 | 0.5 | 0 | 2.00 | 0.50 |" in out
    assert "| conv2d c fwd | torch-cpu | 2.000 | 1.900–2.500 | 0.100 | 1.0 | 1 | 1.00 | 0.25 |" in out
    # auto: the candidates by its own timing, fastest first; 4.5 / 4.0 = 1.12 of the best block time.
    assert "| conv2d c fwd | im2col | im2col 4.000, direct 5.000 | numpy/im2col | 4.000 | 4.500 | 1.12 |" in out


def test_report_refuses_runs_timed_by_another_method(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"datetime": "2026-12-01T00:00:00", "machine_info": {},
                                "benchmarks": [{"name": "test_conv2d[torch]", "group": "g",
                                                "extra_info": {"impl": "torch"}}]}))
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "report.py"), str(path)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "were not timed by minicnn.benchmark.timing" in result.stderr
