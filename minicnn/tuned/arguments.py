"""What every backend's hand-written kernels are given: C-contiguous, writable float32/float64
arrays (:func:`kernel_inputs`) and the geometry as plain integers.

The conv kernels take ``(SH, SW, top, left, DH, DW, groups)``: the bottom and right padding
follow from the output size, since the kernels only ever check "inside the image". The
pooling kernels take ``(KH, KW, SH, SW, PH, PW[, DH, DW])``.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from ..backends.arrays import array_module, device_of
from ..geometry import ConvGeometry, SlidingWindows

KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
INDEX_DTYPE = np.dtype(np.int64)  # max pooling's indices, the one non-float array a kernel takes


def _check_dtypes(op: str, backend: str, arrays) -> None:
    """float32 or float64, the same for every float array — the kernels are compiled for one
    element type (a C ``T*``, a Numba signature) — and int64 for max pooling's indices."""
    dtype = arrays[0].dtype
    if dtype not in KERNEL_DTYPES:
        if device_of(arrays[0]) == "cuda":
            instead = ("convert the tensors with .float() or .double(), or compute in "
                       f"{dtype} on the CPU: .cpu() with backend 'numpy'")
        else:
            instead = f"use backend 'numpy', which computes in {dtype}"
        raise TypeError(f"{op}: the {backend} backend's kernels compute in float32 or float64, got {dtype}; {instead}")
    for position, array in enumerate(arrays[1:], start=2):
        if array.dtype not in (dtype, INDEX_DTYPE):
            raise TypeError(
                f"{op}: the {backend} backend's kernels take arrays of one dtype, but array {position} is "
                f"{array.dtype} and array 1 is {dtype}; convert them to one dtype first"
            )


def kernel_inputs(op: str, backend: str, *arrays) -> list:
    """The arrays C-contiguous and writable (copied only if they are not), after checking their
    dtypes: float32 or float64, one for all (:func:`_check_dtypes`) — what the hand-written
    kernels exist for.

    The kernels index raw memory row-major. Writable because a read-only NumPy array (a
    broadcast gradient, say) is a distinct type to Numba — one more compilation — and Numba's
    CUDA simulator writes every argument back after a launch.
    """
    _check_dtypes(op, backend, arrays)
    ready = []
    for array in arrays:
        array = array_module(array).ascontiguousarray(array)
        ready.append(array if getattr(array.flags, "writeable", True) else array.copy())
    return ready


def c_argument(value):
    """What a CUDA C kernel is handed (CuPy's RawKernel): integers, Python's or NumPy's, as C
    ``int`` — every size argument — with an OverflowError past 2**31 - 1 rather than a wrapped
    size; arrays unchanged (they pass as pointers)."""
    return np.int32(operator.index(value)) if isinstance(value, numbers.Integral) else value


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
