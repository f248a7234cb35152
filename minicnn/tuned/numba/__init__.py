"""The "numba" backend: NumPy arrays, loops compiled by Numba (:mod:`.kernels`).

Registers, on import, conv2d "direct" (three loop-nest kernels on batch-last copies) and
"im2col" (im2col/col2im kernels around NumPy's GEMM), and the max_pool2d / avg_pool2d forward and backward kernels.
Every other op, and every other conv2d algorithm, runs the generic NumPy code.

The wrappers here only allocate outputs, make the inputs C-contiguous (one compiled
specialisation per dtype, and row-wise inner loops) and pass the geometry as integers.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ...backends.registry import own, register
from ...geometry import ConvGeometry, SlidingWindows
from ..arguments import conv_arguments, divisor_plane, kernel_inputs, pool_arguments
from ..numpy.im2col import BATCH_INNERMOST, Im2colGemm
from ..numpy.workspace import lend, scratch
from . import kernels

BACKEND = "numba"


def _prepare(op: str, *arrays) -> list[np.ndarray]:
    return kernel_inputs(op, BACKEND, *arrays)


def _batch_last(array: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> a C-contiguous (C, H, W, N) copy: the layout the direct kernels read
    grad_y in, with the samples of one pixel side by side (see the direct conv section of the kernels)."""
    return np.ascontiguousarray(array.transpose(1, 2, 3, 0))


def batch_last_by_phase(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """(N, C, H, W) -> (C, H, SW, U, N): x batch-last, each row with its left and right zero
    border, its padded columns dealt into SW phases: out[c, r, phase, u, n] = x[n, c, r, u*SW + phase - left].

    The layout the direct kernels read x in: every kernel tap then reads one contiguous run per
    output row (see the direct conv section of the kernels). One copy, phase by phase.
    """
    batch, channels, height, width = x.shape
    out_w, kw = geom.output_size[1], geom.kernel_size[1]
    sw, dw, left = geom.stride[1], geom.dilation[1], geom.padding[2]
    phase_columns = kernels.columns_per_phase(width, left, out_w, kw, sw, dw)
    out = np.zeros((channels, height, sw, phase_columns, batch), dtype=x.dtype)
    rows = x.transpose(1, 2, 3, 0)  # (C, H, W, N), a view
    for phase in range(sw):
        # padded column u*SW + phase is image column u*SW + phase - left: the first inside is
        # at u_first = ceil((left - phase) / SW), and from there every SW-th image column follows
        u_first = max(0, -((phase - left) // sw))
        image_columns = rows[:, :, u_first * sw + phase - left::sw]
        out[:, :, phase, u_first:u_first + image_columns.shape[2]] = image_columns
    return out


class DirectConv:
    """conv2d "direct" as three loop nests: forward, grad input, grad weight.

    x and grad_y are handed to the kernels batch-last (one transposed copy each, about the cost
    of a single pass over them; x's with its column border, phase-split by the stride, see
    :func:`batch_last_by_phase`); the kernels write y, grad_x and grad_w in the usual layouts.
    When a weight gradient will follow, :meth:`forward_saving` keeps the copy of x for it, so
    the backward does not transpose x again.
    """

    def forward(self, x, w, geom: ConvGeometry):
        """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
        return self.forward_saving(x, w, geom)[0]

    def forward_saving(self, x, w, geom: ConvGeometry):
        """:meth:`forward`, and x's phase-split batch-last copy for the weight gradient (see ``ConvAlgorithm``)."""
        x, w = _prepare("conv2d", x, w)
        xs = batch_last_by_phase(x, geom)
        y = np.empty((x.shape[0], w.shape[0], *geom.output_size), dtype=x.dtype)
        kernels.conv2d_forward(xs, w, y, *conv_arguments(geom))
        return y, xs

    def backward(self, grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool, saved=None):
        """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None).

        ``saved``: x as :meth:`forward_saving` returned it, phase-split batch-last (None: copy x here).
        """
        grad_y, x, w = _prepare("conv2d", grad_y, x, w)
        grad_yt = _batch_last(grad_y)
        grad_x = grad_w = None
        if need_input:
            grad_x = np.empty(x.shape, dtype=x.dtype)
            kernels.conv2d_grad_input(grad_yt, w, grad_x, *conv_arguments(geom))
        if need_weight:
            grad_w = np.empty(w.shape, dtype=w.dtype)
            xs = saved if saved is not None else batch_last_by_phase(x, geom)
            kernels.conv2d_grad_weight(grad_yt, xs, grad_w, *conv_arguments(geom))
        return grad_x, grad_w


def _columns_shape(batch: int, channels: int, geom: ConvGeometry) -> tuple[int, ...]:
    """(C, KH, KW, OH, OW, n): the column matrix (C*KH*KW, OH*OW*n), batch innermost, with its indices unflattened."""
    return (channels, *geom.kernel_size, *geom.output_size, batch)


def _im2col(x, geom: ConvGeometry, reuse: bool = False):
    """(n, C, H, W) -> (G, Cg*KH*KW, OH*OW*n); channels are group-major, so the split is free.

    ``reuse``: write into this thread's reusable column buffer (valid until its next use, see
    :mod:`minicnn.tuned.numpy.workspace`); otherwise into a pooled buffer the caller may keep.
    A new array of tens of MiB would be page-faulted afresh on every call.
    """
    (x,) = _prepare("conv2d", x)
    batch, channels = x.shape[:2]
    shape = _columns_shape(batch, channels, geom)
    (kh, kw), (oh, ow) = geom.kernel_size, geom.output_size

    def build(cols):
        kernels.im2col(x, cols, *conv_arguments(geom)[:-1])
        return cols.reshape(geom.groups, channels // geom.groups * kh * kw, oh * ow * batch)

    return build(scratch("columns", shape, x.dtype, np)) if reuse else lend(shape, x.dtype, np, build)


def _col2im(grad_cols, geom: ConvGeometry, input_shape: tuple):
    """(G, Cg*KH*KW, OH*OW*n) -> (n, C, H, W), summing the entries that copied the same pixel."""
    batch, channels = input_shape[:2]
    (grad_cols,) = _prepare("conv2d", grad_cols)
    grad_x = np.empty(input_shape, dtype=grad_cols.dtype)
    kernels.col2im(grad_cols.reshape(_columns_shape(batch, channels, geom)), grad_x, *conv_arguments(geom)[:-1])
    return grad_x


class MaxPool:
    """max_pool2d forward (values and torch's indices) and backward."""

    def forward(self, x, windows: SlidingWindows):
        (x,) = _prepare("max_pool2d", x)
        values = np.empty((*x.shape[:2], *windows.output_size), dtype=x.dtype)
        indices = np.empty(values.shape, dtype=np.int64)
        kernels.max_pool_forward(x, values, indices, *pool_arguments(windows))
        return values, indices

    def backward(self, grad, indices, windows: SlidingWindows):
        grad, indices = _prepare("max_pool2d", grad, indices)
        grad_x = np.empty((*grad.shape[:2], *windows.input_size), dtype=grad.dtype)
        kernels.max_pool_backward(grad, indices, grad_x, *pool_arguments(windows))
        return grad_x


class AvgPool:
    """avg_pool2d forward and backward; ``divisor`` as avg_pool2d computed it (0-d or (OH, OW))."""

    def forward(self, x, windows: SlidingWindows, divisor):
        (x,) = _prepare("avg_pool2d", x)
        y = np.empty((*x.shape[:2], *windows.output_size), dtype=x.dtype)
        kernels.avg_pool_forward(x, divisor_plane(divisor, windows), y, *pool_arguments(windows, False))
        return y

    def backward(self, grad, windows: SlidingWindows, divisor):
        (grad,) = _prepare("avg_pool2d", grad)
        grad_x = np.empty((*grad.shape[:2], *windows.input_size), dtype=grad.dtype)
        kernels.avg_pool_backward(grad, divisor_plane(divisor, windows), grad_x, *pool_arguments(windows, False))
        return grad_x


register("conv2d", "direct", DirectConv(), backend=BACKEND)
# im2col builds its columns into the reused buffer, except those the forward keeps for the weight gradient.
register("conv2d", "im2col", Im2colGemm(partial(_im2col, reuse=True), _col2im, BATCH_INNERMOST,
                                        kept_columns=_im2col), backend=BACKEND)
# Winograd has no Numba kernels: NumPy's tuned code computes it on these (NumPy) arrays.
register("conv2d", "winograd", own("conv2d", "winograd", "numpy"), backend=BACKEND)
register("max_pool2d", "direct", MaxPool(), backend=BACKEND)
register("avg_pool2d", "direct", AvgPool(), backend=BACKEND)
