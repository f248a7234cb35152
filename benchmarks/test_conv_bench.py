"""conv2d forward and forward+backward on the standard layer set: minicnn's algorithms vs torch.

Each test is one layer in one direction: torch, im2col and direct timed by the method of
minicnn.benchmark.timing (conftest.py), on the case code of ``minicnn bench``; then torch alone
in a fresh process at malloc's defaults.

Run:  python -m pytest benchmarks/test_conv_bench.py --benchmark-json=benchmarks/results/conv.json
then: python benchmarks/report.py benchmarks/results/conv.json > benchmarks/results/conv-<machine>.md
"""
import pytest
import torch

from minicnn.benchmark import STANDARD_LAYERS
from minicnn.benchmark.cases import FORWARD, FORWARD_BACKWARD, Case, contender
from minicnn.benchmark.implementations import Implementation

IMPLEMENTATIONS = [Implementation("cpu", torch=torch),
                   Implementation("cpu", "numpy", "im2col"), Implementation("cpu", "numpy", "direct")]


@pytest.mark.parametrize("direction", [FORWARD, FORWARD_BACKWARD])
@pytest.mark.parametrize("layer", STANDARD_LAYERS, ids=lambda layer: layer.name)
def test_conv2d(time_contenders, layer, direction):
    cases = [Case("conv2d", layer, direction, implementation) for implementation in IMPLEMENTATIONS]
    time_contenders(cases[0].group, [contender(case) for case in cases], alone=cases[0], flops=cases[0].flops)
