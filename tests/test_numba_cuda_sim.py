"""The numba_cuda backend's kernels against torch — outputs and every gradient — on tiny shapes.

Without a GPU they run under Numba's CUDA simulator: this module sets NUMBA_ENABLE_CUDASIM=1
(unless the environment already says otherwise) before anything imports ``numba.cuda``, and
the backend then computes on ordinary NumPy tensors. The simulator runs every GPU thread as a
Python thread, so the shapes are tiny and the launches are shrunk (3x3 tiles, 8-thread
grad-weight blocks) — which also makes the tiny shapes span several tiles and tap groups, the
index arithmetic worth checking. Where numba.cuda runs on a real GPU, the same tests run there
on CuPy tensors.
"""
from __future__ import annotations

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minicnn import backends  # noqa: E402
from minicnn.tuned.gpu import launch as cuda_launch  # noqa: E402
from minicnn.backends.availability import backend_devices  # noqa: E402
from helpers.launches import shrink_cuda_launches  # noqa: E402
from parity import call_on, check, rand, run_both  # noqa: E402

usable, why = backends.available()["numba_cuda"]
if not usable:
    pytest.skip(f"backend 'numba_cuda' is not available here: {why}", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    shrink_cuda_launches(monkeypatch)


def _conv(kwargs: dict):
    return call_on("conv2d", "numba_cuda", algorithm="direct", **kwargs)


# The grad-weight block is 8 threads: kh*kw taps per block (at most 8) times 8 // taps replicas.
CONV_CASES = [
    pytest.param((1, 4, 7, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                 id="strided-dilated-groups-6-taps"),
    pytest.param((1, 2, 6, 5), (2, 2, 2, 2), dict(stride=(2, 3)), id="stride-beyond-kernel-4-taps-2-replicas"),
    pytest.param((1, 2, 5, 4), (2, 2, 3, 3), dict(padding="same"), id="same-9-taps-in-2-groups"),
    pytest.param((1, 3, 4, 5), (3, 1, 2, 2), dict(groups=3, padding=1), id="depthwise-even-kernel"),
    pytest.param((0, 2, 4, 4), (3, 2, 3, 3), dict(padding=1), id="empty-batch"),
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_CASES)
def test_direct_conv2d_matches_torch(x_shape, w_shape, kwargs, dtype):
    arrays = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype), rand(w_shape[0], dtype=dtype)
    mini, ref = run_both(_conv(kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[numba_cuda] {x_shape} {w_shape} {kwargs}")


def test_tiles_too_big_for_shared_memory_fall_back_to_the_generic_direct(monkeypatch):
    monkeypatch.setattr(cuda_launch, "SHARED_MEMORY_LIMIT", 8)  # no tile fits in 8 bytes
    arrays = rand(2, 2, 5, 5), rand(3, 2, 3, 3), rand(3)
    mini, ref = run_both(_conv(dict(padding=1)), *arrays)
    check(mini, ref, np.float64, "conv2d[numba_cuda] through the generic fallback")


POOL_CASES = [
    pytest.param("max_pool2d", (1, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                  return_indices=True), id="max-overlap-ceil"),
    pytest.param("max_pool2d", (1, 1, 5, 5), dict(kernel_size=2, stride=1, padding=1, dilation=2,
                                                  return_indices=True), id="max-dilated"),
    pytest.param("avg_pool2d", (1, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                  count_include_pad=False), id="avg-ceil-exclude-pad"),
    pytest.param("avg_pool2d", (1, 2, 4, 5), dict(kernel_size=(2, 3), stride=1, padding=1), id="avg-overlap"),
    pytest.param("avg_pool2d", (2, 5, 4), dict(kernel_size=2, divisor_override=3), id="avg-divisor-unbatched"),
]


@pytest.mark.parametrize("name, shape, kwargs", POOL_CASES)
def test_pooling_matches_torch(name, shape, kwargs, dtype):
    mini, ref = run_both(call_on(name, "numba_cuda", **kwargs), rand(*shape, dtype=dtype))
    check(mini, ref, dtype, f"{name}[numba_cuda] {shape} {kwargs}")
