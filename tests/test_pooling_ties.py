"""Tied values in max_pool2d and adaptive_max_pool2d: which tap is the winner (the reported index)
and where the gradient goes, against torch, on every backend here.

Standard-normal inputs never tie, so the sweeps of test_pooling.py cannot tell "first maximum
wins" from "last maximum wins" or from a scan in another order. torch scans each window in
row-major order and replaces the maximum only when a value is strictly larger (or NaN), so of
equal values the first in the window wins and it alone receives that output's gradient. Here
inputs are drawn from a handful of integers, so most windows hold several equal maxima, and
with overlapping windows one pixel can win one window and lose the next to an equal one
before it. Shapes are tiny: numba_cuda runs them too, under the simulator where it must.
"""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from parity import RNG, call_on, check, implementations, run_both, sweep

# (input shape, keyword arguments): overlapping, padded, dilated and ceil-mode windows.
MAX_TIE_CASES = [
    pytest.param((2, 2, 6, 7), dict(kernel_size=2), id="disjoint"),
    pytest.param((1, 3, 6, 6), dict(kernel_size=3, stride=1), id="overlap-stride1"),
    pytest.param((2, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1), id="overlap-padded"),
    pytest.param((1, 2, 7, 7), dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)), id="dilated-nonsquare"),
    pytest.param((1, 2, 5, 6), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), id="ceil-padded"),
    pytest.param((2, 5, 5), dict(kernel_size=3, stride=1, padding=1), id="unbatched"),
]

# (input shape, output size): adaptive windows that overlap (5 -> 3: [0,2) [1,4) [3,5)) or are ragged.
ADAPTIVE_TIE_CASES = [
    pytest.param((2, 2, 5, 5), 3, id="5-to-3-overlapping"),
    pytest.param((1, 3, 7, 6), (3, 4), id="ragged"),
    pytest.param((2, 2, 4, 5), 1, id="global"),
    pytest.param((2, 6, 5), (4, None), id="unbatched-keep-width"),
]


def tied(shape, dtype) -> np.ndarray:
    """Values from {-1, 0, 1, 2}: a window of 4 or more taps very likely holds equal maxima."""
    return RNG.integers(-1, 3, size=shape).astype(dtype)


@pytest.mark.parametrize("backend, shape, kwargs", sweep("max_pool2d", MAX_TIE_CASES, simulator=True))
def test_max_pool2d_ties_go_to_the_first_maximum_like_torch(backend, shape, kwargs, dtype):
    mini, ref = run_both(call_on("max_pool2d", backend, return_indices=True, **kwargs), tied(shape, dtype))
    check(mini, ref, dtype, f"max_pool2d[{backend}] ties {shape} {kwargs}")  # indices exactly, then the gradient


@pytest.mark.parametrize("backend, shape, output_size",
                         sweep("adaptive_max_pool2d", ADAPTIVE_TIE_CASES, simulator=True))
def test_adaptive_max_pool2d_ties_go_to_the_first_maximum_like_torch(backend, shape, output_size, dtype):
    mini, ref = run_both(call_on("adaptive_max_pool2d", backend, output_size, return_indices=True), tied(shape, dtype))
    check(mini, ref, dtype, f"adaptive_max_pool2d[{backend}] ties {shape} -> {output_size}")


@pytest.mark.parametrize("backend", implementations("max_pool2d", simulator=True))
def test_max_pool2d_on_a_constant_image_by_hand(backend):
    """Every tap ties. A 3x3 image of ones, kernel 2, stride 1: the four windows start at flat
    positions 0, 1, 3, 4 and each reports its first tap; upstream gradients 1, 2, 3, 4 land on
    exactly those pixels, nothing on the rest."""
    mini, _ = run_both(call_on("max_pool2d", backend, kernel_size=2, stride=1, return_indices=True),
                       np.ones((1, 1, 3, 3)), seed_grad=False)
    values, indices = mini.out
    np.testing.assert_array_equal(indices.numpy(), [[[[0, 1], [3, 4]]]])
    values.backward(minicnn.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])))
    np.testing.assert_array_equal(mini.inputs[0].grad.numpy(), [[[[1, 2, 0], [3, 4, 0], [0, 0, 0]]]])


@pytest.mark.parametrize("backend", implementations("adaptive_max_pool2d", simulator=True))
def test_adaptive_max_pool2d_on_a_constant_image_by_hand(backend):
    """A 1x5 row of ones to 3 outputs: windows [0,2) [1,4) [3,5) report pixels 0, 1 and 3; pixel 1
    is also in the first window but loses it to pixel 0, so it gets only the second gradient."""
    mini, _ = run_both(call_on("adaptive_max_pool2d", backend, (1, 3), return_indices=True), np.ones((1, 1, 1, 5)),
                       seed_grad=False)
    values, indices = mini.out
    np.testing.assert_array_equal(indices.numpy(), [[[[0, 1, 3]]]])
    values.backward(minicnn.tensor(np.array([[[[1.0, 2.0, 3.0]]]])))
    np.testing.assert_array_equal(mini.inputs[0].grad.numpy(), [[[[1, 2, 0, 3, 0]]]])
