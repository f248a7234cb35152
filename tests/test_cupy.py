"""Tensors on "cuda" (CuPy arrays) and the GPU backends' kernels beyond the parity sweeps of
test_backends.py: moving tensors and modules, NVRTC compilation of every kernel (the tiled conv
for each tile setting), the tiled conv with small tiles (several tiles and tap groups per
plane, a 17x17 kernel, more than 256 taps), the generic fallback of the tiled conv, max
pooling's corner cases, and training steps that never wait for the GPU. Needs a CUDA GPU with
CuPy; skipped, with the reason, everywhere else.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn import backends, optim
from minicnn.tuned.gpu import launch as cuda_launch
from minicnn.backends.availability import backend_devices
from minicnn.tuned.gpu.sources import C_TYPES, SOURCES, TILED_SOURCES
from helpers.cli import QUICK, run_cli
from helpers.launches import TILE_IDS, TILE_SETTINGS
from parity import assert_close, check, on_device, rand, run_both, to_numpy

if not minicnn.cuda.is_available():
    pytest.skip(f"needs a CUDA GPU with CuPy: {minicnn.cuda.why_unavailable()}", allow_module_level=True)

import cupy  # noqa: E402
import cupyx  # noqa: E402

GPU_BACKENDS = [name for name in ("cupy", "numba_cuda")
                if backends.available()[name][0] and backend_devices(name) == ("cuda",)]


def test_tensor_to_cuda_holds_a_cupy_array_and_copies_back(dtype):
    host = rand(2, 3, 4, dtype=dtype)
    x = minicnn.tensor(host, requires_grad=True)
    y = x.to("cuda")
    assert isinstance(y.array, cupy.ndarray) and y.is_cuda and y.device == minicnn.device("cuda")
    assert y.dtype == dtype and not isinstance(y.cpu().array, cupy.ndarray)
    np.testing.assert_array_equal(y.numpy(), host)
    np.testing.assert_array_equal(y.cpu().numpy(), host)
    np.testing.assert_array_equal(x.cuda().numpy(), host)
    (y * 3).sum().backward()  # the gradient comes back to the CPU leaf through .to
    assert isinstance(x.grad.array, np.ndarray)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(host.shape, 3, dtype))


def _small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 3 * 3, 3))


def test_module_to_cuda_moves_every_parameter_and_buffer():
    minicnn.manual_seed(0)
    on_cpu = _small_cnn().double()
    on_gpu = _small_cnn().double()
    on_gpu.load_state_dict(on_cpu.state_dict())
    assert on_gpu.to("cuda") is on_gpu
    for name, tensor in [*on_gpu.named_parameters(), *on_gpu.named_buffers()]:
        assert isinstance(tensor.array, cupy.ndarray), name
    x = rand(2, 2, 6, 6)
    assert_close(on_gpu(minicnn.tensor(x).cuda()), on_cpu(minicnn.tensor(x)), np.float64, "Sequential on cuda")
    on_gpu.cpu()
    assert all(isinstance(p.array, np.ndarray) for p in on_gpu.parameters())


@pytest.mark.parametrize("tiles", TILE_SETTINGS, ids=TILE_IDS)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_kernel_compiles_with_nvrtc(source, tiles):
    from minicnn.tuned import cupy as cupy_backend

    if source not in TILED_SOURCES and tiles != TILE_SETTINGS[0]:
        pytest.skip(f"{source} takes no tile constants: compiled once, with the defaults")
    module = cupy_backend._module(source, tiles)
    for kernel in SOURCES[source]:
        for c_type in C_TYPES.values():
            module.get_function(f"{kernel}<{c_type}>")


def _direct_conv(backend: str, kwargs: dict):
    def conv(lib, F_, x, w, b):
        extra = dict(algorithm="direct", backend=backend) if lib is minicnn else {}
        return F_.conv2d(x, w, b, **kwargs, **extra)

    return on_device("cuda", conv)


# With tiles of 4 or 3 these planes span several tiles (forward, grad input, the grad-weight
# walk), grad input's tiles start below the top and right of the left edge, and the 17x17
# kernel's 289 taps need 10 or 37 grad-weight blocks; with the defaults (16, 256) the 17x17
# kernel still needs two, 256 taps and 33.
SMALL_TILE_CASES = [
    pytest.param((2, 4, 11, 9), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                 id="strided-dilated-groups"),
    pytest.param((1, 3, 13, 10), (2, 3, 3, 3), dict(stride=3, padding=2), id="stride-3"),
    pytest.param((2, 2, 9, 9), (3, 2, 5, 5), dict(padding="same"), id="same-5x5"),
    pytest.param((1, 3, 9, 8), (3, 1, 4, 3), dict(groups=3, padding=1), id="depthwise-even-kernel"),
    pytest.param((1, 1, 20, 19), (2, 1, 17, 17), dict(padding=3), id="17x17-kernel"),
]


@pytest.mark.parametrize("tiles", TILE_SETTINGS, ids=TILE_IDS)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", SMALL_TILE_CASES)
@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_tiled_direct_conv_over_many_tiles_and_tap_groups_matches_torch(backend, x_shape, w_shape, kwargs, tiles,
                                                                       dtype, monkeypatch):
    monkeypatch.setattr(cuda_launch, "TILE", tiles[0])
    monkeypatch.setattr(cuda_launch, "WEIGHT_THREADS", tiles[1])
    arrays = rand(*x_shape, dtype=dtype), rand(*w_shape, dtype=dtype), rand(w_shape[0], dtype=dtype)
    mini, ref = run_both(_direct_conv(backend, kwargs), *arrays)
    check(mini, ref, dtype, f"conv2d[{backend}, tiles {tiles}] {x_shape} {w_shape} {kwargs}")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_grad_weight_folds_samples_past_the_grid_limit_onto_its_z_blocks(backend, monkeypatch):
    monkeypatch.setattr(cuda_launch, "MAX_GRID_YZ", 3)  # 7 samples on 3 z blocks
    mini, ref = run_both(_direct_conv(backend, dict(padding=1)), rand(7, 2, 6, 5), rand(3, 2, 3, 3), rand(3))
    check(mini, ref, np.float64, f"conv2d[{backend}] batch 7 folded onto 3 grid z blocks")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_kernels_refuse_float16_and_name_what_computes_it(backend):
    x = minicnn.tensor(rand(1, 1, 4, 4, dtype=np.float16)).cuda()
    w = minicnn.tensor(rand(1, 1, 3, 3, dtype=np.float16)).cuda()
    with pytest.raises(TypeError, match=rf"conv2d: the {backend} backend's kernels compute in float32 or float64, "
                                        r"got float16; convert the tensors with \.float\(\)"):
        F.conv2d(x, w, algorithm="direct", backend=backend)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_tiles_too_big_for_shared_memory_fall_back_to_the_generic_direct(backend, monkeypatch):
    monkeypatch.setattr(cuda_launch, "SHARED_MEMORY_LIMIT", 8)
    conv = _direct_conv(backend, dict(padding=1, dilation=2))
    mini, ref = run_both(conv, rand(2, 3, 9, 8), rand(4, 3, 3, 3), rand(4))
    check(mini, ref, np.float64, f"conv2d[{backend}] through the generic fallback")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_max_pool2d_all_minus_inf_windows_report_torch_indices(backend):
    x = rand(1, 2, 6, 7)
    x[0, 0, :3, :4] = -np.inf
    x[0, 1, 2:5, 3:] = -np.inf
    kwargs = dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2), return_indices=True)
    leaf = minicnn.tensor(x, requires_grad=True)
    with backends.use_backend(backend):
        values, indices = F.max_pool2d(leaf.cuda(), **kwargs)
        grad = rand(*values.shape)
        values.backward(minicnn.tensor(grad).cuda())
    ref = torch.tensor(x, requires_grad=True)
    ref_values, ref_indices = tF.max_pool2d(ref, **kwargs)
    ref_values.backward(torch.tensor(grad))
    np.testing.assert_array_equal(values.numpy(), to_numpy(ref_values))
    np.testing.assert_array_equal(indices.numpy(), to_numpy(ref_indices))
    assert_close(leaf.grad, ref.grad, what=f"max_pool2d[{backend}] -inf windows: input grad")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_max_pool2d_nan_takes_over_and_a_windows_last_nan_is_its_winner(backend):
    x = rand(1, 2, 5, 6)
    x[0, 0, 0, 2] = x[0, 0, 1, 3] = np.nan  # two NaNs in window (0, 1): torch reports the later
    leaf = minicnn.tensor(x, requires_grad=True)
    with backends.use_backend(backend):
        values, indices = F.max_pool2d(leaf.cuda(), 2, return_indices=True)
        grad = rand(*values.shape)
        values.backward(minicnn.tensor(grad).cuda())
    ref = torch.tensor(x, requires_grad=True)
    ref_values, ref_indices = tF.max_pool2d(ref, 2, return_indices=True)
    ref_values.backward(torch.tensor(grad))
    np.testing.assert_array_equal(values.numpy(), to_numpy(ref_values))
    np.testing.assert_array_equal(indices.numpy(), to_numpy(ref_indices))
    assert_close(leaf.grad, ref.grad, what=f"max_pool2d[{backend}] NaN windows: input grad")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_max_pool2d_window_over_padding_only_gets_no_gradient(backend):
    leaf = minicnn.tensor(rand(1, 3, 1, 4), requires_grad=True)
    with backends.use_backend(backend):
        values = F.max_pool2d(leaf.cuda(), kernel_size=2, stride=1, padding=1, dilation=2)
        values.backward(minicnn.tensor(rand(*values.shape)).cuda())
    assert np.isneginf(values.numpy()).all()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.zeros(leaf.shape))


def _train(model: nn.Module, images, labels, steps: int) -> None:
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_lenet_training_steps_stay_on_the_gpu_and_match_the_cpu(backend):
    """No op may wait for the GPU (a host round trip) inside the steps: cupyx raises
    DeviceSynchronized if one does. The trained weights then match the same steps on the CPU."""
    minicnn.manual_seed(0)
    on_cpu = minicnn.models.lenet.LeNet5().double()
    on_gpu = minicnn.models.lenet.LeNet5().double()
    on_gpu.load_state_dict(on_cpu.state_dict())
    on_gpu.to("cuda")
    images, labels = rand(4, 1, 28, 28), np.array([3, 1, 4, 1])
    with backends.use_backend(backend):
        gpu_images, gpu_labels = minicnn.tensor(images).cuda(), minicnn.tensor(labels).cuda()
        cupy.cuda.Device().synchronize()
        with cupyx.allow_synchronize(False):
            _train(on_gpu, gpu_images, gpu_labels, steps=3)
    _train(on_cpu, minicnn.tensor(images), minicnn.tensor(labels), steps=3)
    for (name, gpu_parameter), cpu_parameter in zip(on_gpu.named_parameters(), on_cpu.parameters()):
        assert_close(gpu_parameter, cpu_parameter, np.float64, f"LeNet-5 {name} after 3 steps on {backend}",
                     scale_rtol=100)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_train_on_cuda_names_the_backend_that_computes(backend, data_root, tmp_path):
    """Without --backend, the default numpy backend cannot compute on "cuda": cupy does."""
    choice = [] if backend == "cupy" else ["--backend", backend]
    result = run_cli("train", *QUICK, "--device", "cuda", *choice, "--subset", "64", "--epochs", "1",
                     "--data-root", data_root, "--out", tmp_path / "run", "--no-plots", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"backend {backend}, conv2d" in result.stdout
    assert (tmp_path / "run" / "last.npz").is_file()


def test_cross_entropy_on_the_gpu_never_waits_and_makes_out_of_range_targets_nan():
    """On the CPU an out-of-range target raises (test_host_sync.py); on the GPU checking would
    wait for the GPU at every loss, so that sample's weight is NaN instead: a NaN loss."""
    x = rand(3, 4)
    logits = minicnn.tensor(x, requires_grad=True)
    out_of_range = minicnn.tensor(np.array([1, 9, 2])).cuda()
    all_ignored = minicnn.tensor(np.array([-100, -100, -100])).cuda()
    on_gpu = logits.cuda()
    cupy.cuda.Device().synchronize()
    with cupyx.allow_synchronize(False):
        bad = F.cross_entropy(on_gpu, out_of_range)
        empty = F.cross_entropy(on_gpu, all_ignored)
        empty.backward()
    assert np.isnan(bad.item())
    ref = torch.tensor(x, requires_grad=True)
    ref_empty = tF.cross_entropy(ref, torch.tensor([-100, -100, -100]))
    ref_empty.backward()
    assert np.isnan(empty.item()) and np.isnan(ref_empty.item())
    assert_close(logits.grad, ref.grad, what="cross_entropy with every target ignored: input grad (zeros)")
