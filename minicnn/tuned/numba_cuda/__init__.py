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

from ...backends.registry import register
from ..gpu.launch import Launch
from ..gpu.ops import GpuAvgPool, GpuKernels, GpuMaxPool, TiledDirectConv
from . import kernels

BACKEND = "numba_cuda"


def _launch(name: str, dtype, launch: Launch, *arguments) -> None:
    """kernel[grid, block, stream 0 (the default stream, which CuPy also uses), shared bytes](...)."""
    source = kernels.conv_kernels(dtype) if name.startswith("conv2d_") else kernels
    kernel = getattr(source, name)
    kernel[launch.grid, launch.block, 0, launch.shared_bytes(dtype.itemsize)](*arguments)


_KERNELS = GpuKernels(BACKEND, _launch)
register("conv2d", "direct", TiledDirectConv(_KERNELS), backend=BACKEND)
register("max_pool2d", "direct", GpuMaxPool(_KERNELS), backend=BACKEND)
register("avg_pool2d", "direct", GpuAvgPool(_KERNELS), backend=BACKEND)
