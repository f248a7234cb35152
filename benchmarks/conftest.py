"""pytest-benchmark setup: the timing method and the process settings, applied and recorded.

Every suite here times by :mod:`minicnn.benchmark.timing`, the method of ``minicnn bench``: one
test is one group of implementations that compute the same thing, and :func:`time_contenders`
times them all with ``compare`` — each in warmed blocks, the blocks alternated over rounds —
inside a single pytest-benchmark round. Their timings go into the benchmark's ``extra_info``,
which report.py reads; pytest-benchmark's own statistics of that one round (the whole
comparison) mean nothing and report.py ignores them. Where a group has a torch case, torch is
also timed alone in a fresh process at malloc's defaults, by the same method
(:mod:`minicnn.benchmark.torch_alone`): report.py's "torch (own process, defaults)" column. With ``--benchmark-disable`` each
implementation runs twice, untimed in effect: a check that the suite works.

The process settings are part of the method: glibc's malloc setting is applied here, before
anything is timed (:func:`minicnn.allocator.command_setting`, as the ``minicnn`` commands do;
``MINICNN_MALLOC_TUNING=0`` opts out), for torch and minicnn alike, and recorded with the BLAS
kernels, the thread counts and the method in every run's machine_info.
"""
import os

import pytest
import torch

from minicnn import allocator
from minicnn.benchmark import blas_info, gemm_peak_gflops
from minicnn.benchmark.timing import DEFAULT_METHOD, SMOKE_METHOD, compare
from minicnn.benchmark.torch_alone import case_plan, time_torch_alone

MALLOC = allocator.command_setting()

# torch gets every logical core, as NumPy's BLAS does (the blocks keep the two pools apart).
torch.set_num_threads(os.cpu_count() or 1)


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["minicnn_blas"] = blas_info()
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["numpy_sgemm_peak_gflops"] = round(gemm_peak_gflops(), 1)
    machine_info["malloc"] = MALLOC


@pytest.fixture
def time_contenders(benchmark):
    """``time_contenders(group, contenders, method=DEFAULT_METHOD, alone=None, **info)``: time the
    contenders by the method in one benchmark round and record their timings, the method and
    ``info`` (e.g. flops=) in the benchmark's extra_info; then, if ``alone`` is a torch case of
    the group, time it alone in a fresh process too. A contender that fails fails the test."""

    def run(group, contenders, method=DEFAULT_METHOD, alone=None, **info):
        method = SMOKE_METHOD if benchmark.disabled else method
        benchmark.group = group
        timings = benchmark.pedantic(compare, args=(contenders, method), rounds=1, iterations=1)
        failed = {timing.label: timing.error for timing in timings if timing.error is not None}
        assert not failed, f"{group}: {failed}"
        benchmark.extra_info.update(info, method=method.as_dict(), method_text=method.describe(),
                                    timings={timing.label: timing.as_dict() for timing in timings})
        if alone is not None:
            document = time_torch_alone(case_plan(alone), method, torch.get_num_threads(), [alone.group])
            benchmark.extra_info["torch_alone"] = {"malloc": document["malloc"], "threads": document["threads"],
                                                   **document["groups"][alone.group]}
        return timings

    return run
