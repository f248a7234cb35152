"""What every backend's hand-written kernels are given: C-contiguous, writable float32/float64
arrays (:func:`kernel_inputs`) and the geometry as plain integers.

The conv kernels take ``(SH, SW, top, left, DH, DW, groups)``: the bottom and right padding
follow from the output size, since the kernels only ever check "inside the image". The
pooling kernels take ``(KH, KW, SH, SW, PH, PW[, DH, DW])``.
"""
from __future__ import annotations

import numpy as np

from ..backends.arrays import array_module
from ..geometry import ConvGeometry, SlidingWindows

KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def kernel_inputs(op: str, backend: str, *arrays) -> list:
    """The arrays C-contiguous and writable (copied only if they are not), after checking that
    the first is float32 or float64 — the only dtypes the hand-written kernels exist for.

    The kernels index raw memory row-major. Writable because a read-only NumPy array (a
    broadcast gradient, say) is a distinct type to Numba — one more compilation — and Numba's
    CUDA simulator writes every argument back after a launch.
    """
    if arrays[0].dtype not in KERNEL_DTYPES:
        raise TypeError(
            f"{op}: the {backend} backend's kernels compute in float32 or float64, got {arrays[0].dtype}; "
            "use backend 'numpy' (or 'cupy' on the GPU) for other dtypes"
        )
    ready = []
    for array in arrays:
        array = array_module(array).ascontiguousarray(array)
        ready.append(array if getattr(array.flags, "writeable", True) else array.copy())
    return ready


def conv_arguments(geom: ConvGeometry) -> tuple[int, ...]:
    """(SH, SW, top, left, DH, DW, groups)."""
    top, _, left, _ = geom.padding
    return (*geom.stride, top, left, *geom.dilation, geom.groups)


def pool_arguments(windows: SlidingWindows, with_dilation: bool = True) -> tuple[int, ...]:
    """(KH, KW, SH, SW, PH, PW, DH, DW); without the dilation for average pooling (always 1)."""
    arguments = (*windows.kernel, *windows.stride, *windows.padding)
    return arguments + tuple(windows.dilation) if with_dilation else arguments


def divisor_plane(divisor, windows: SlidingWindows):
    """avg_pool2d's divisor — a 0-d array (divisor_override) or (OH, OW) — as a fresh (OH, OW) array."""
    plane = array_module(divisor).empty(windows.output_size, dtype=divisor.dtype)
    plane[...] = divisor
    return plane
