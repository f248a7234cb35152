"""conv2d forward and forward+backward on the standard layer set: minicnn's algorithms vs torch.

Run:  python -m pytest benchmarks/test_conv_bench.py --benchmark-json=benchmarks/results/conv.json
then: python benchmarks/report.py benchmarks/results/conv.json > benchmarks/results/conv-<machine>.md
"""
import contextlib

import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn.functional as F
from minicnn.benchmark import STANDARD_LAYERS, conv_flops

IMPLEMENTATIONS = ["torch", "im2col", "direct"]


def _inputs(layer, lib):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((layer.n, layer.c_in, layer.h, layer.w)).astype(np.float32)
    w = rng.standard_normal((layer.c_out, layer.c_in, layer.k, layer.k)).astype(np.float32)
    b = rng.standard_normal(layer.c_out).astype(np.float32)
    return [lib.tensor(a, requires_grad=True) for a in (x, w, b)]


def _step(layer, impl, backward):
    """A closure that runs one forward (and backward) on tensors made once, up front."""
    lib = torch if impl == "torch" else minicnn
    x, w, b = _inputs(layer, lib)
    conv = torch.nn.functional.conv2d if impl == "torch" else F.conv2d
    kwargs = {} if impl == "torch" else {"algorithm": impl}
    grad = lib.ones(*conv(x, w, b, layer.stride, layer.pad, **kwargs).shape)

    def run():
        y = conv(x, w, b, layer.stride, layer.pad, **kwargs)
        if backward:
            for t in (x, w, b):
                t.grad = None
            y.backward(grad)

    return run


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("direction", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("layer", STANDARD_LAYERS, ids=lambda layer: layer.name)
def test_conv2d(benchmark, layer, direction, impl):
    backward = direction == "fwd+bwd"
    benchmark.group = f"{layer.name} {direction}"
    benchmark.extra_info.update(
        layer=layer.name, direction=direction, impl=impl, flops=conv_flops(layer, backward)
    )
    run = _step(layer, impl, backward)
    no_grad = torch.no_grad if impl == "torch" else minicnn.no_grad
    with contextlib.nullcontext() if backward else no_grad():
        benchmark.pedantic(run, warmup_rounds=2, rounds=7, iterations=1)
