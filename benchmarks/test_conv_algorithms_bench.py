"""conv2d forward: minicnn's fft, winograd and auto algorithms vs torch (im2col, the default, for reference).

Two sets of layers:
- the standard layer set: fft and auto on every layer, winograd on the 3x3 stride-1 layers (the
  only ones F(2x2, 3x3) computes);
- a kernel-size sweep on 32x32 images (K = 3 … 15, "same" padding): the FFT's cost should stay
  nearly flat while im2col's and direct's grow with K*K; the sweep measures where they cross.

Run:  python -m pytest benchmarks/test_conv_algorithms_bench.py \
          --benchmark-json=benchmarks/results/conv_algorithms.json
then: python benchmarks/report.py benchmarks/results/conv_algorithms.json \
          > benchmarks/results/conv_algorithms-<machine>.md
"""
import pytest
import torch

import minicnn
from minicnn.benchmark import STANDARD_LAYERS, ConvLayer, conv_flops
from test_conv_bench import _step

STANDARD_IMPLEMENTATIONS = ["torch", "im2col", "fft", "winograd", "auto"]
SWEEP_IMPLEMENTATIONS = ["torch", "im2col", "direct", "fft", "auto"]
KERNEL_SWEEP = [ConvLayer(f"sweep_k{k}", 8, 16, 32, 32, 16, k, 1, k // 2) for k in (3, 5, 7, 9, 11, 15)]


def _winograd_applies(layer: ConvLayer) -> bool:
    return layer.k == 3 and layer.stride == 1


CASES = [
    pytest.param(layer, impl, id=f"{layer.name}-{impl}")
    for layer in STANDARD_LAYERS
    for impl in STANDARD_IMPLEMENTATIONS
    if impl != "winograd" or _winograd_applies(layer)
] + [
    pytest.param(layer, impl, id=f"{layer.name}-{impl}")
    for layer in KERNEL_SWEEP
    for impl in SWEEP_IMPLEMENTATIONS
]


@pytest.mark.parametrize("layer, impl", CASES)
def test_conv2d_forward(benchmark, layer, impl):
    benchmark.group = f"{layer.name} fwd"
    benchmark.extra_info.update(layer=layer.name, direction="fwd", impl=impl, flops=conv_flops(layer))
    run = _step(layer, impl, backward=False)
    no_grad = torch.no_grad if impl == "torch" else minicnn.no_grad
    with no_grad():
        # auto measures its candidates during the first warm-up round; the timed rounds see its choice.
        benchmark.pedantic(run, warmup_rounds=3, rounds=15, iterations=1)
