"""The numba_cuda backend's kernels against torch — outputs and every gradient — on tiny shapes.

Without a GPU they run under Numba's CUDA simulator (tests/conftest.py turns it on where no GPU
is found), and the backend then computes on ordinary NumPy tensors. The simulator runs every GPU thread as a
Python thread, so the shapes are tiny and the launches are shrunk (3x3 tiles, 8-thread
grad-weight blocks) — which also makes the tiny shapes span several tiles and tap groups, the
index arithmetic worth checking. Where numba.cuda runs on a real GPU, the same tests run there
on CuPy tensors.
"""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import backends
from minicnn.backends import cuda_launch
from minicnn.backends.availability import backend_devices
from parity import check, rand, run_both
from test_backends import on_device
from test_pooling import (
    test_max_pool2d_all_minus_inf_windows_report_torch_indices as _all_minus_inf_windows,
    test_max_pool2d_gradient_is_sparse_and_accumulates_on_shared_winners as _shared_winners,
    test_max_pool2d_nan_takes_over_and_a_windows_last_nan_is_its_winner as _nan_windows,
    test_max_pool2d_window_over_padding_only_gets_no_gradient as _window_over_padding_only,
)

usable, why = backends.available()["numba_cuda"]
if not usable:
    pytest.skip(f"backend 'numba_cuda' is not available here: {why}", allow_module_level=True)

DEVICE = backend_devices("numba_cuda")[0]  # "cpu" under the simulator
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    monkeypatch.setattr(cuda_launch, "TILE", 3)
    monkeypatch.setattr(cuda_launch, "WEIGHT_THREADS", 8)
    monkeypatch.setattr(cuda_launch, "ELEMENTWISE_THREADS", 16)


def _conv(kwargs: dict):
    def conv(lib, F_, x, w, b):
        extra = dict(algorithm="direct", backend="numba_cuda") if lib is minicnn else {}
        return F_.conv2d(x, w, b, **kwargs, **extra)

    return on_device(DEVICE, conv)


# The grad-weight block is 8 threads: kh*kw taps per block (at most 8) times 8 // taps replicas.
CONV_CASES = [
    pytest.param((1, 4, 7, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                 id="strided-dilated-groups-6-taps"),
    pytest.param((1, 2, 6, 5), (2, 2, 2, 2), dict(stride=(2, 3)), id="stride-beyond-kernel-4-taps-2-replicas"),
    pytest.param((1, 2, 5, 4), (2, 2, 3, 3), dict(padding="same"), id="same-9-taps-in-2-groups"),
    pytest.param((1, 3, 4, 5), (3, 1, 2, 2), dict(groups=3, padding=1), id="depthwise-even-kernel"),
    pytest.param((0, 2, 4, 4), (3, 2, 3, 3), dict(padding=1), id="empty-batch"),
    # 289 taps: 37 tap groups of 8; the 5x5 planes span 2x2 tiles of 3x3, forward and grad input.
    pytest.param((1, 1, 5, 5), (1, 1, 17, 17), dict(padding=8), id="17x17-kernel-37-tap-groups"),
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_CASES)
def test_direct_conv2d_matches_torch(x_shape, w_shape, kwargs, dtype):
    arrays = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype), rand(w_shape[0], dtype=dtype)
    mini, ref = run_both(_conv(kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[numba_cuda] {x_shape} {w_shape} {kwargs}")


def test_17x17_kernel_with_the_default_launches_splits_its_taps_over_two_256_thread_blocks(monkeypatch):
    """The grad-weight tap groups past the first 256 taps, with the tiles the GPU uses (16x16)."""
    monkeypatch.setattr(cuda_launch, "TILE", 16)
    monkeypatch.setattr(cuda_launch, "WEIGHT_THREADS", 256)
    arrays = rand(1, 1, 4, 3), rand(1, 1, 17, 17), rand(1)
    mini, ref = run_both(_conv(dict(padding=8)), *arrays)
    check(mini, ref, np.float64, "conv2d[numba_cuda] 17x17 kernel, 289 taps in blocks of 256")


def test_grad_weight_folds_samples_past_the_grid_limit_onto_its_z_blocks(monkeypatch, dtype):
    monkeypatch.setattr(cuda_launch, "MAX_GRID_YZ", 2)  # 3 samples on 2 z blocks: 2 + 1
    arrays = rand(3, 1, 3, 3, dtype=dtype), rand(2, 1, 2, 2, dtype=dtype), rand(2, dtype=dtype)
    mini, ref = run_both(_conv({}), *arrays)
    check(mini, ref, dtype, "conv2d[numba_cuda] batch 3 folded onto 2 grid z blocks")


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
    pool = on_device(DEVICE, lambda lib, F_, x: getattr(F_, name)(x, **kwargs))
    with backends.use_backend("numba_cuda"):
        mini, ref = run_both(pool, rand(*shape, dtype=dtype))
    check(mini, ref, dtype, f"{name}[numba_cuda] {shape} {kwargs}")


@pytest.mark.skipif(DEVICE != "cpu", reason="these take CPU tensors; on a GPU tests/test_cupy.py checks them")
@pytest.mark.parametrize("corner_case", [_all_minus_inf_windows, _window_over_padding_only, _shared_winners, _nan_windows],
                         ids=["all-minus-inf-windows", "window-over-padding-only", "shared-winners", "nan-windows"])
def test_max_pool2d_corner_cases_of_test_pooling(corner_case):
    with backends.use_backend("numba_cuda"):
        corner_case()
