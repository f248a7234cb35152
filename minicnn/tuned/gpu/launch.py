"""Launch configurations of the GPU kernels, shared by the CuPy (CUDA C) and Numba CUDA backends.

Both backends run the same kernels (``kernels/*.cu`` and :mod:`minicnn.tuned.numba_cuda.kernels` are twins,
index for index), so they launch them the same way. Grids are (x, y, z); x carries the large
count (planes, or blocks of elements: up to 2**31 - 1) and y, z the small ones (tiles, tap
groups, samples: at most 65535 each).

Tiled direct conv (one thread per output pixel, or per input pixel for grad input): a block
is a tile of up to TILE x TILE pixels of one plane, and stages in shared memory the part of
the other operand its pixels read, plus the plane's KH x KW weights.

The tile side and the grad-weight block size are compile-time constants of the kernels (the
``-D`` macros MINICNN_TILE and MINICNN_WEIGHT_THREADS of ``kernels/direct_conv.cu``, closure
constants of the Numba twins), so that the compiler sizes registers for the block
(``__launch_bounds__``) and the index arithmetic has constants to fold. A kernel derives its
tile from them exactly as :func:`_tile` does here, so both sides must use the same values:
:func:`tile_constants` is what the backends compile with, read at each launch from the module
constants below — which tests shrink to exercise many tiles and tap groups on tiny shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...geometry import ConvGeometry
from ..index_math import input_extent

TILE = 16  # side of a direct-conv tile: up to 16 x 16 = 256 threads per block
WEIGHT_THREADS = 256  # threads per block of the grad-weight kernel
ELEMENTWISE_THREADS = 256  # threads per block of the one-thread-per-element kernels
SHARED_MEMORY_LIMIT = 48 * 1024  # bytes of shared memory every block may use without opting in
MAX_GRID_YZ = 65535  # CUDA's limit on the y and z dimensions of a grid


def tile_constants() -> tuple[int, int]:
    """(TILE, WEIGHT_THREADS) as the tiled kernels must be compiled for the launches made now."""
    return TILE, WEIGHT_THREADS


@dataclass(frozen=True)
class Launch:
    """grid and block as (x, y, z); ``shared`` = dynamic shared memory in array elements."""

    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared: int = 0

    @property
    def empty(self) -> bool:
        """No block to run (an empty batch, say); CUDA rejects a launch with a zero grid dimension."""
        return 0 in self.grid

    def shared_bytes(self, itemsize: int) -> int:
        return self.shared * itemsize

    def fits(self, itemsize: int) -> bool:
        """Whether the shared memory the kernel needs stays under :data:`SHARED_MEMORY_LIMIT`."""
        return self.shared_bytes(itemsize) <= SHARED_MEMORY_LIMIT


def _tile(size: tuple[int, int]) -> tuple[int, int]:
    """(tile_h, tile_w): TILE, or the whole side when the plane is smaller (fewer idle threads)."""
    return max(1, min(TILE, size[0])), max(1, min(TILE, size[1]))


def conv_forward(batch: int, out_channels: int, geom: ConvGeometry) -> Launch:
    """Block = a tile of output pixels of plane (n, o); shared = input patch + KH*KW weights."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel_size, geom.stride, geom.dilation
    tile_h, tile_w = _tile(geom.output_size)
    patch = input_extent(tile_h, kh, sh, dh) * input_extent(tile_w, kw, sw, dw)
    (oh, ow) = geom.output_size
    grid = (batch * out_channels, math.ceil(oh / tile_h), math.ceil(ow / tile_w))
    return Launch(grid, (tile_w, tile_h, 1), patch + kh * kw)


def conv_grad_input(batch: int, channels: int, geom: ConvGeometry) -> Launch:
    """Block = a tile of input pixels of plane (n, c); shared = grad_y patch + KH*KW weights.

    The output rows that reach ``tile_h`` consecutive input rows span at most
    ((tile_h - 1) + (KH-1)*DH) // SH + 2 rows, however the tile is aligned with the stride.
    """
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel_size, geom.stride, geom.dilation
    tile_h, tile_w = _tile(geom.input_size)
    patch_h = (tile_h - 1 + (kh - 1) * dh) // sh + 2
    patch_w = (tile_w - 1 + (kw - 1) * dw) // sw + 2
    grid = (batch * channels, math.ceil(geom.input_size[0] / tile_h), math.ceil(geom.input_size[1] / tile_w))
    return Launch(grid, (tile_w, tile_h, 1), patch_h * patch_w + kh * kw)


def conv_grad_weight(batch: int, out_channels: int, group_channels: int, geom: ConvGeometry) -> Launch:
    """Block = (weight plane (o, c), group of taps, samples z, z + grid z, …).

    The block's threads are ``taps_per_block`` taps times ``replicas`` copies that split the
    tile's pixels between them; no more threads than taps times tile pixels. Samples past
    :data:`MAX_GRID_YZ` are folded onto the grid's z blocks, which loop over them, so any batch
    launches. Shared = grad_y tile + input patch + one partial sum per thread.
    """
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel_size, geom.stride, geom.dilation
    tile_h, tile_w = _tile(geom.output_size)
    taps = kh * kw
    threads = min(WEIGHT_THREADS, taps * tile_h * tile_w)
    taps_per_block = min(taps, threads)
    patch = input_extent(tile_h, kh, sh, dh) * input_extent(tile_w, kw, sw, dw)
    grid = (out_channels * group_channels, math.ceil(taps / taps_per_block), min(batch, MAX_GRID_YZ))
    return Launch(grid, (threads, 1, 1), tile_h * tile_w + patch + threads)


def elementwise(count: int) -> Launch:
    """One thread per element, 1-D: ceil(count / threads) blocks."""
    threads = max(1, min(ELEMENTWISE_THREADS, count))
    return Launch((math.ceil(count / threads), 1, 1), (threads, 1, 1))
