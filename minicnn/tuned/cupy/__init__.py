"""The "cupy" backend: CuPy arrays, kernels written in CUDA C in ``kernels/*.cu``, GEMMs in cuBLAS.

Each ``.cu`` file holds one algorithm's kernels as templates over the element type; CuPy
compiles a file with NVRTC on first use (``cupy.RawModule``, cached on disk by CuPy) — the
tiled conv with the tile constants of :func:`.cuda_launch.tile_constants` as ``-D`` macros —
and we ask for the float and double instantiations by name ("conv2d_forward<float>", …). Kernels are
launched on CuPy's current stream, so a training step queues its work on the GPU without ever
waiting for it; nothing here copies to the host.

Registers, on import, conv2d "im2col" (the im2col/col2im kernels around ``cupy.matmul``, i.e.
cuBLAS) and "direct" (the tiled kernels), and the max_pool2d / avg_pool2d kernels. Every other
op and conv2d algorithm runs the generic xp code on CuPy arrays.
"""
from __future__ import annotations

import functools
import re

import cupy

from ...backends.registry import register
from ..arguments import c_argument
from ..gpu import launch as cuda_launch
from ..gpu.launch import Launch
from ..gpu.ops import GpuAvgPool, GpuColumns, GpuKernels, GpuMaxPool, TiledDirectConv
from ..gpu.sources import C_TYPES, SOURCE_OF, SOURCES, compile_definitions, kernel_directory
from ..numpy.im2col import Im2colGemm

BACKEND = "cupy"


def _code(source: str) -> str:
    """The text of ``source`` with its local ``#include "….cuh"`` lines replaced by the headers.

    CuPy caches compiled modules by their code text: with the headers inlined, editing a header
    recompiles, where ``-I`` would silently reuse a binary built from the old header.
    """
    directory = kernel_directory()

    def header(match: re.Match) -> str:
        return (directory / match.group(1)).read_text()

    return re.sub(r'^#include "([\w.]+\.cuh)"$', header, (directory / source).read_text(), flags=re.MULTILINE)


@functools.lru_cache(maxsize=None)
def _module(source: str, tile_constants: tuple[int, int]) -> cupy.RawModule:
    """One .cu file compiled by NVRTC, with its float and double instantiations, for the tile
    constants (:func:`.cuda_launch.tile_constants`) of the launches it will get."""
    names = [f"{kernel}<{ctype}>" for kernel in SOURCES[source] for ctype in C_TYPES.values()]
    return cupy.RawModule(code=_code(source), options=compile_definitions(source, *tile_constants),
                          name_expressions=names)


@functools.lru_cache(maxsize=None)
def _kernel(name: str, dtype_name: str, tile_constants: tuple[int, int]) -> cupy.RawKernel:
    """``name<float>`` or ``name<double>``, looked up once rather than at every launch."""
    return _module(SOURCE_OF[name], tile_constants).get_function(f"{name}<{C_TYPES[dtype_name]}>")


def _launch(name: str, dtype, launch: Launch, *arguments) -> None:
    kernel = _kernel(name, dtype.name, cuda_launch.tile_constants())
    kernel(launch.grid, launch.block, tuple(c_argument(a) for a in arguments),
           shared_mem=launch.shared_bytes(dtype.itemsize))


_KERNELS = GpuKernels(BACKEND, _launch)
_COLUMNS = GpuColumns(_KERNELS)

register("conv2d", "im2col", Im2colGemm(_COLUMNS.im2col, _COLUMNS.col2im), backend=BACKEND)
register("conv2d", "direct", TiledDirectConv(_KERNELS), backend=BACKEND)
register("max_pool2d", "direct", GpuMaxPool(_KERNELS), backend=BACKEND)
register("avg_pool2d", "direct", GpuAvgPool(_KERNELS), backend=BACKEND)
