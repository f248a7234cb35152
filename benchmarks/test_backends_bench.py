"""The `minicnn bench` matrix under pytest-benchmark: conv2d (every usable backend x algorithm),
max/avg pooling and a LeNet-5 training step, forward and forward+backward, with torch on the
CPU and on CUDA when present.

The cases, their inputs and the code timed are minicnn.benchmark.cases', the same as the
command's; the order keeps each runtime's cases together, and the Settler pauses between
runtimes (DESIGN.md, Performance).

Run:  python -m pytest benchmarks/test_backends_bench.py --benchmark-json=benchmarks/results/backends.json
then: python benchmarks/report.py benchmarks/results/backends.json > benchmarks/results/backends-<machine>.md
Smoke check (each case once, untimed):  add  --benchmark-disable -k lenet_c1
"""
import pytest
import torch

from minicnn.benchmark.cases import BenchPlan, build_cases, prepared
from minicnn.benchmark.implementations import benchmarked_backends
from minicnn.benchmark.runner import Settler, Timing

CASES = build_cases(BenchPlan(benchmarked_backends()[0], torch))
SETTLER = Settler(Timing().settle_seconds)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.op}-{case.workload.name}-"
                         f"{case.direction.replace(' ', '_')}-{case.implementation}")
def test_case(benchmark, case):
    benchmark.group = case.group
    benchmark.extra_info.update(op=case.op, shape=str(case.workload), direction=case.direction,
                                impl=case.implementation.label, flops=case.flops)
    SETTLER.before(case)
    with prepared(case) as step:
        benchmark.pedantic(step, warmup_rounds=2, rounds=7, iterations=1)
