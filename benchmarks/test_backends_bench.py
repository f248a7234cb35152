"""The `minicnn bench` matrix under pytest-benchmark: conv2d (every usable backend x algorithm),
max/avg pooling and a LeNet-5 training step, forward and forward+backward, with torch on the
CPU and on CUDA when present.

The cases, their inputs and the code timed are minicnn.benchmark.cases', and the method is
minicnn.benchmark.timing's, the same as the command's: each test is one group, its
implementations timed in warmed blocks alternated over rounds (conftest.py), then torch-cpu
alone in a fresh process at malloc's defaults.

Run:  python -m pytest benchmarks/test_backends_bench.py --benchmark-json=benchmarks/results/backends.json
then: python benchmarks/report.py benchmarks/results/backends.json > benchmarks/results/backends-<machine>.md
Smoke check (each case twice, untimed):  add  --benchmark-disable -k lenet_c1
"""
import pytest
import torch

from minicnn.benchmark.cases import BenchPlan, build_cases, by_group, contender
from minicnn.benchmark.implementations import benchmarked_backends

GROUPS = by_group(build_cases(BenchPlan(benchmarked_backends()[0], torch)))


def _id(group: str) -> str:
    """"conv2d lenet_c1 (64x1x28x28 -> 6, 5x5/s1/p2) fwd" -> "conv2d-lenet_c1-fwd"."""
    cases = GROUPS[group]
    return f"{cases[0].op}-{cases[0].workload.name}-{cases[0].direction.replace(' ', '_')}"


@pytest.mark.parametrize("group", GROUPS, ids=_id)
def test_group(time_contenders, group):
    cases = GROUPS[group]
    torch_cpu = next((case for case in cases if case.implementation.label == "torch-cpu"), None)
    time_contenders(group, [contender(case) for case in cases], alone=torch_cpu, flops=cases[0].flops)
