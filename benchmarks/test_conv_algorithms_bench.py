"""conv2d forward: minicnn's fft, winograd and auto algorithms vs torch (im2col, the default, for reference).

Two sets of layers:
- the standard layer set: fft and auto on every layer, winograd on the 3x3 stride-1 layers (the
  only ones F(2x2, 3x3) computes);
- a kernel-size sweep on 32x32 images (K = 3 … 15, "same" padding): the FFT's cost should stay
  nearly flat while im2col's and direct's grow with K*K; the sweep measures where they cross.

A third part times auto and every algorithm it chooses from in turns, in one block per layer
(test_auto_against_every_algorithm_in_turns): auto's time over the best single algorithm's
measured that way does not depend on how the machine's load drifted between blocks.

Run:  python -m pytest benchmarks/test_conv_algorithms_bench.py \
          --benchmark-json=benchmarks/results/conv_algorithms.json
then: python benchmarks/report.py benchmarks/results/conv_algorithms.json \
          > benchmarks/results/conv_algorithms-<machine>.md
"""
import statistics

import pytest
import torch

import minicnn
from minicnn.benchmark import STANDARD_LAYERS, ConvLayer, conv_flops
from minicnn.functional.conv import auto_choices, clear_auto_cache, conv2d_geometry
from minicnn.functional.conv.auto import time_in_turns
from minicnn.functional.conv.registry import applicable_algorithms
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


@pytest.mark.parametrize("layer", STANDARD_LAYERS + KERNEL_SWEEP, ids=lambda layer: layer.name)
def test_auto_against_every_algorithm_in_turns(benchmark, layer):
    """auto and each algorithm it chooses from, timed in turns in one block: what auto chose and
    its time over the best single algorithm's (the aim: within 10 %), as the median
    of the per-turn ratios — the two runs of one turn see the same load."""
    geom = conv2d_geometry((layer.n, layer.c_in, layer.h, layer.w), (layer.c_out, layer.c_in, layer.k, layer.k),
                           None, layer.stride, layer.pad)
    candidates = [name for name in applicable_algorithms(geom, "numpy") if name != "auto"]
    runs = {impl: _step(layer, impl, backward=False) for impl in ["auto", *candidates]}
    with minicnn.no_grad():
        clear_auto_cache()
        runs["auto"]()  # auto measures its candidates here, once
        (choice,) = [c.algorithm for c in auto_choices().values()]
        # In turns as auto times its candidates, rotated: separate benchmark blocks minutes apart
        # took the host's drifting load into whichever ran during it (auto/best varied 0.6-1.4x).
        times = benchmark.pedantic(time_in_turns, args=(runs, 16), kwargs=dict(rotate=True), rounds=1, iterations=1)
    medians = {name: statistics.median(seconds) for name, seconds in times.items()}
    best = min(candidates, key=medians.__getitem__)
    benchmark.group = "auto in turns"
    benchmark.extra_info.update(
        layer=layer.name, impl="auto", turns_ms={name: round(s * 1e3, 4) for name, s in medians.items()},
        chosen=choice, best=best,
        auto_over_best=round(statistics.median(a / b for a, b in zip(times["auto"], times[best])), 3),
    )
