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
from minicnn.backends.availability import backend_devices
from minicnn.tuned.gpu import launch as cuda_launch
from helpers.launches import shrink_cuda_launches
from parity import call_on, check, rand, run_both

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
    mini, ref = run_both(call_on(name, "numba_cuda", **kwargs), rand(*shape, dtype=dtype))
    check(mini, ref, dtype, f"{name}[numba_cuda] {shape} {kwargs}")


# ---------------------------------------------------------------------------- launches and arguments
def test_grad_weight_launch_keeps_grid_z_within_cudas_limit():
    from minicnn.geometry import conv2d_geometry

    geom = conv2d_geometry((70_000, 2, 6, 6), (3, 2, 3, 3), None, stride=1, padding=1)
    launch = cuda_launch.conv_grad_weight(70_000, 3, 2, geom)
    assert launch.grid[2] == cuda_launch.MAX_GRID_YZ == 65535
    assert launch.grid[:2] == (6, 2) and launch.block == (8, 1, 1)  # 9 taps in blocks of 8 threads (small_launches)


def test_kernel_inputs_refuse_arrays_of_different_dtypes():
    from minicnn.tuned.arguments import kernel_inputs

    with pytest.raises(TypeError, match=r"conv2d: the numba_cuda backend's kernels take arrays of one dtype, "
                                        r"but array 3 is float64 and array 1 is float32"):
        kernel_inputs("conv2d", "numba_cuda", np.zeros(2, np.float32), np.zeros(2, np.float32), np.zeros(2))
    grad, indices = kernel_inputs("max_pool2d", "numba_cuda", np.zeros(2, np.float32), np.zeros(2, np.int64))
    assert grad.dtype == np.float32 and indices.dtype == np.int64  # max pooling's indices are the exception


def test_float16_on_the_gpu_is_refused_with_what_computes_it():
    from types import SimpleNamespace

    from minicnn.tuned.arguments import kernel_inputs

    on_gpu = SimpleNamespace(dtype=np.dtype(np.float16))  # a stand-in: device_of calls anything not NumPy "cuda"
    with pytest.raises(TypeError, match=r"conv2d: the cupy backend's kernels compute in float32 or float64, got "
                                        r"float16; convert the tensors with \.float\(\) or \.double\(\), or compute "
                                        r"in float16 on the CPU: \.cpu\(\) with backend 'numpy'"):
        kernel_inputs("conv2d", "cupy", on_gpu)


@pytest.mark.parametrize("value", [7, np.int64(7), np.int32(7), np.uint8(7), True], ids=type)
def test_c_argument_makes_every_integer_a_c_int(value):
    from minicnn.tuned.arguments import c_argument

    converted = c_argument(value)
    assert type(converted) is np.int32 and converted == int(value)


def test_c_argument_refuses_sizes_past_int32_and_passes_arrays_through():
    from minicnn.tuned.arguments import c_argument

    with pytest.raises(OverflowError):
        c_argument(np.int64(2**31))
    array = np.zeros(3)
    assert c_argument(array) is array and c_argument(2.5) == 2.5
