"""The "numba_cuda" backend: the kernels of :mod:`.kernels`, compiled by ``numba.cuda.jit``.

On a GPU they run on CuPy arrays, which Numba reads through ``__cuda_array_interface__`` (no
copy). Under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) they run on ordinary NumPy
arrays, so ``NUMBA_ENABLE_CUDASIM=1 MINICNN_BACKEND=numba_cuda python script.py`` exercises
every kernel with no GPU and no CuPy — slowly: the simulator runs each GPU thread as a Python
thread, which is for checking, not for speed.

Registers, on import, conv2d "direct" (tiled forward, grad input, grad weight) and the
max_pool2d / avg_pool2d kernels. Everything else runs the generic xp code.
"""
from __future__ import annotations

import functools

import numpy as np
from numba import cuda

from ...backends.availability import numba_cuda_simulated
from ...backends.registry import register
from ..gpu import launch as cuda_launch
from ..gpu.launch import Launch
from ..gpu.ops import GpuAvgPool, GpuKernels, GpuMaxPool, TiledDirectConv
from . import kernels

BACKEND = "numba_cuda"
_SIMULATED = numba_cuda_simulated()  # fixed once numba.cuda is imported (above)


def _device_argument(value):
    """A CuPy array as a Numba device array, without waiting for the GPU; anything else as it is.

    Handed a CuPy array, Numba would call ``cuda.as_cuda_array(a)``, whose ``sync=True``
    synchronises the stream the array names — a host wait per argument per launch. The kernels
    run on CuPy's current stream (:func:`_stream`), after the work that made their inputs, so
    no wait is needed. NumPy arrays (the simulator's) and integers pass unchanged.
    """
    if hasattr(value, "__cuda_array_interface__"):
        return cuda.as_cuda_array(value, sync=False)
    return value


@functools.lru_cache(maxsize=None)
def _external_stream(pointer: int):
    return cuda.external_stream(pointer)


def _stream():
    """CuPy's current stream (0, the legacy default stream, unless a ``with cupy.cuda.Stream()``
    says otherwise), so that kernels queue behind the CuPy work on their inputs."""
    if _SIMULATED:  # no streams: every launch runs at once
        return 0
    import cupy

    pointer = cupy.cuda.get_current_stream().ptr
    return 0 if pointer == 0 else _external_stream(pointer)


def _launch(name: str, dtype: np.dtype, launch: Launch, *arguments) -> None:
    """kernel[grid, block, CuPy's current stream, shared bytes](...)."""
    if name.startswith("conv2d_"):
        source = kernels.conv_kernels(dtype, *cuda_launch.tile_constants())
    else:
        source = kernels
    kernel = getattr(source, name)
    kernel[launch.grid, launch.block, _stream(), launch.shared_bytes(dtype.itemsize)](
        *(_device_argument(a) for a in arguments))


_KERNELS = GpuKernels(BACKEND, _launch)
register("conv2d", "direct", TiledDirectConv(_KERNELS), backend=BACKEND)
register("max_pool2d", "direct", GpuMaxPool(_KERNELS), backend=BACKEND)
register("avg_pool2d", "direct", GpuAvgPool(_KERNELS), backend=BACKEND)
