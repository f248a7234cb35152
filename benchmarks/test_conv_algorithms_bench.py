"""conv2d forward: every algorithm of the numpy backend, and auto among them, vs torch.

Two sets of layers:
- the standard layer set;
- a kernel-size sweep on 32x32 images (K = 3 … 15, "same" padding): the FFT's cost should stay
  nearly flat while im2col's and direct's grow with K*K; the sweep measures where they cross.

Each test is one layer: torch, every algorithm that computes it (winograd on 3x3 stride-1 layers
only) and auto, alternated in warmed blocks (conftest.py) — so auto's time over the best single
algorithm's is measured under the same drifting load. auto's choice and the candidates' times it
chose from (its own quick measurement on its first call, in its first warm-up) are recorded too.

Run:  python -m pytest benchmarks/test_conv_algorithms_bench.py \
          --benchmark-json=benchmarks/results/conv_algorithms.json
then: python benchmarks/report.py benchmarks/results/conv_algorithms.json \
          > benchmarks/results/conv_algorithms-<machine>.md
"""
from dataclasses import asdict

import pytest
import torch

from minicnn.benchmark import STANDARD_LAYERS, ConvLayer
from minicnn.benchmark.auto_report import auto_decisions
from minicnn.benchmark.cases import FORWARD, Case, contender, conv_layer_geometry
from minicnn.benchmark.implementations import Implementation
from minicnn.functional.conv import clear_auto_cache
from minicnn.functional.conv.registry import applicable_algorithms

KERNEL_SWEEP = [ConvLayer(f"sweep_k{k}", 8, 16, 32, 32, 16, k, 1, k // 2) for k in (3, 5, 7, 9, 11, 15)]


@pytest.mark.parametrize("layer", STANDARD_LAYERS + KERNEL_SWEEP, ids=lambda layer: layer.name)
def test_conv2d_forward(benchmark, time_contenders, layer):
    algorithms = applicable_algorithms(conv_layer_geometry(layer), "numpy")  # auto among them
    implementations = [Implementation("cpu", torch=torch),
                       *(Implementation("cpu", "numpy", algorithm) for algorithm in algorithms)]
    cases = [Case("conv2d", layer, FORWARD, implementation) for implementation in implementations]
    clear_auto_cache()  # auto measures its candidates afresh, in this test's first warm-up
    time_contenders(cases[0].group, [contender(case) for case in cases], alone=cases[0], flops=cases[0].flops)
    (decision,) = auto_decisions([layer], ["numpy"])
    benchmark.extra_info["auto"] = asdict(decision)
