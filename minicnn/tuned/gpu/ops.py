"""Host side of the GPU kernels, shared by the CuPy and Numba CUDA backends.

The two backends compile different sources (``kernels/*.cu`` with NVRTC, and the twins in
:mod:`minicnn.tuned.numba_cuda.kernels` with Numba) of the same kernels, with the same arguments. What
differs is only how a kernel is found and launched, which each backend supplies as a
:data:`Launcher`. Everything else — allocating outputs on the arrays' device, choosing the
launch shape (:mod:`.launch`), building the argument lists — lives here once. The argument
lists are those of the C kernels: tests/test_kernel_sources.py checks them against the
parameters parsed from ``kernels/*.cu``.

Arrays are ``xp`` arrays: CuPy on a GPU; NumPy under Numba's CUDA simulator.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...backends.arrays import array_module
from ...functional.conv import direct as generic_direct
from ...geometry import ConvGeometry, SlidingWindows
from ..arguments import conv_arguments, divisor_plane, kernel_inputs, pool_arguments
from . import launch as cuda_launch
from .launch import Launch

# launcher(kernel name, element dtype, launch, *arguments): run one kernel (e.g. "conv2d_forward").
Launcher = Callable[..., None]


def conv_sizes(x_shape: tuple, w_shape: tuple, geom: ConvGeometry) -> tuple[int, ...]:
    """(C, H, W, C_out, Cg, KH, KW, OH, OW): the sizes every conv kernel takes after its arrays."""
    return (*x_shape[1:], *w_shape, *geom.output_size)


def column_sizes(input_shape: tuple, geom: ConvGeometry) -> tuple[int, ...]:
    """(N, C, H, W, KH, KW, OH, OW, SH, SW, top, left, DH, DW): what im2col.cu's kernels take after their arrays."""
    return (*input_shape, *geom.kernel_size, *geom.output_size, *conv_arguments(geom)[:-1])


def pool_sizes(input_shape: tuple, windows: SlidingWindows) -> tuple[int, ...]:
    """(N, C, H, W, OH, OW): the sizes every pooling kernel takes after its arrays."""
    return (*input_shape, *windows.output_size)


class GpuKernels:
    """A backend's launcher, with the bookkeeping every kernel call needs."""

    def __init__(self, backend: str, launcher: Launcher):
        self.backend = backend
        self.launcher = launcher

    def prepare(self, op: str, *arrays) -> list:
        """The arrays as the kernels need them (:func:`minicnn.tuned.arguments.kernel_inputs`)."""
        return kernel_inputs(op, self.backend, *arrays)

    def launch(self, name: str, dtype, launch: Launch, *arguments) -> None:
        if not launch.empty:
            self.launcher(name, np.dtype(dtype), launch, *arguments)


class TiledDirectConv:
    """conv2d "direct" by the tiled kernels (``kernels/direct_conv.cu`` or their Numba twins).

    A geometry whose tiles would not fit in shared memory (a huge dilated kernel, say) is
    computed by the generic direct algorithm instead, on the same arrays.
    """

    def __init__(self, kernels: GpuKernels):
        self.kernels = kernels

    def forward(self, x, w, geom: ConvGeometry):
        """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
        x, w = self.kernels.prepare("conv2d", x, w)
        launch = cuda_launch.conv_forward(x.shape[0], w.shape[0], geom)
        if not launch.fits(x.dtype.itemsize):
            return generic_direct.forward(x, w, geom)
        y = array_module(x).empty((x.shape[0], w.shape[0], *geom.output_size), dtype=x.dtype)
        self.kernels.launch("conv2d_forward", x.dtype, launch, x, w, y,
                            *conv_sizes(x.shape, w.shape, geom), *conv_arguments(geom))
        return y

    def backward(self, grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
        """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
        grad_y, x, w = self.kernels.prepare("conv2d", grad_y, x, w)
        grad_x = self._grad_input(grad_y, x, w, geom) if need_input else None
        grad_w = self._grad_weight(grad_y, x, w, geom) if need_weight else None
        return grad_x, grad_w

    def _grad_input(self, grad_y, x, w, geom: ConvGeometry):
        launch = cuda_launch.conv_grad_input(x.shape[0], x.shape[1], geom)
        if not launch.fits(x.dtype.itemsize):
            return generic_direct.backward(grad_y, x, w, geom, True, False)[0]
        grad_x = array_module(x).empty(x.shape, dtype=x.dtype)
        self.kernels.launch("conv2d_grad_input", x.dtype, launch, grad_y, w, grad_x,
                            *conv_sizes(x.shape, w.shape, geom), *conv_arguments(geom))
        return grad_x

    def _grad_weight(self, grad_y, x, w, geom: ConvGeometry):
        launch = cuda_launch.conv_grad_weight(x.shape[0], w.shape[0], w.shape[1], geom)
        if not launch.fits(x.dtype.itemsize):
            return generic_direct.backward(grad_y, x, w, geom, False, True)[1]
        grad_w = array_module(w).zeros(w.shape, dtype=w.dtype)  # the samples are added atomically
        self.kernels.launch("conv2d_grad_weight", x.dtype, launch, grad_y, x, grad_w,
                            *conv_sizes(x.shape, w.shape, geom), *conv_arguments(geom), x.shape[0])
        return grad_w


class GpuColumns:
    """im2col and col2im by ``kernels/im2col.cu`` (one thread per element): the memory-bound halves
    of conv2d "im2col", around the GEMMs the backend runs (cuBLAS, through ``cupy.matmul``)."""

    def __init__(self, kernels: GpuKernels):
        self.kernels = kernels

    def im2col(self, x, geom: ConvGeometry):
        """(n, C, H, W) -> column matrix (G, Cg*KH*KW, n*OH*OW)."""
        (x,) = self.kernels.prepare("conv2d", x)
        batch, channels = x.shape[:2]
        (kh, kw), (oh, ow) = geom.kernel_size, geom.output_size
        cols = array_module(x).empty((channels * kh * kw, batch * oh * ow), dtype=x.dtype)
        self.kernels.launch("im2col", x.dtype, cuda_launch.elementwise(cols.size), x, cols,
                            *column_sizes(x.shape, geom))
        # A free split: channels are group-major, so the rows (c, i, j) of group g are block g.
        return cols.reshape(geom.groups, channels // geom.groups * kh * kw, batch * oh * ow)

    def col2im(self, grad_cols, geom: ConvGeometry, input_shape: tuple):
        """(G, Cg*KH*KW, n*OH*OW) -> (n, C, H, W), one thread per input pixel (gathering, no atomics)."""
        (grad_cols,) = self.kernels.prepare("conv2d", grad_cols)
        grad_x = array_module(grad_cols).empty(input_shape, dtype=grad_cols.dtype)
        self.kernels.launch("col2im", grad_x.dtype, cuda_launch.elementwise(grad_x.size), grad_cols, grad_x,
                            *column_sizes(input_shape, geom))
        return grad_x


class GpuMaxPool:
    """max_pool2d by ``max_pool_forward`` / ``max_pool_backward`` (one thread per output)."""

    def __init__(self, kernels: GpuKernels):
        self.kernels = kernels

    def forward(self, x, windows: SlidingWindows):
        (x,) = self.kernels.prepare("max_pool2d", x)
        xp = array_module(x)
        values = xp.empty((*x.shape[:2], *windows.output_size), dtype=x.dtype)
        indices = xp.empty(values.shape, dtype=np.int64)
        self.kernels.launch("max_pool_forward", x.dtype, cuda_launch.elementwise(values.size), x, values, indices,
                            *pool_sizes(x.shape, windows), *pool_arguments(windows))
        return values, indices

    def backward(self, grad, indices, windows: SlidingWindows):
        grad, indices = self.kernels.prepare("max_pool2d", grad, indices)
        input_shape = (*grad.shape[:2], *windows.input_size)
        grad_x = array_module(grad).zeros(input_shape, dtype=grad.dtype)  # winners are added atomically
        self.kernels.launch("max_pool_backward", grad.dtype, cuda_launch.elementwise(grad.size), grad, indices,
                            grad_x, *pool_sizes(input_shape, windows), *pool_arguments(windows))
        return grad_x


class GpuAvgPool:
    """avg_pool2d by ``avg_pool_forward`` / ``avg_pool_backward``; ``divisor`` as avg_pool2d computed it."""

    def __init__(self, kernels: GpuKernels):
        self.kernels = kernels

    def forward(self, x, windows: SlidingWindows, divisor):
        (x,) = self.kernels.prepare("avg_pool2d", x)
        y = array_module(x).empty((*x.shape[:2], *windows.output_size), dtype=x.dtype)
        self.kernels.launch("avg_pool_forward", x.dtype, cuda_launch.elementwise(y.size), x,
                            divisor_plane(divisor, windows), y, *pool_sizes(x.shape, windows),
                            *pool_arguments(windows, with_dilation=False))
        return y

    def backward(self, grad, windows: SlidingWindows, divisor):
        (grad,) = self.kernels.prepare("avg_pool2d", grad)
        input_shape = (*grad.shape[:2], *windows.input_size)
        grad_x = array_module(grad).zeros(input_shape, dtype=grad.dtype)  # overlapping windows add atomically
        self.kernels.launch("avg_pool_backward", grad.dtype, cuda_launch.elementwise(grad.size), grad,
                            divisor_plane(divisor, windows), grad_x, *pool_sizes(input_shape, windows),
                            *pool_arguments(windows, with_dilation=False))
        return grad_x
