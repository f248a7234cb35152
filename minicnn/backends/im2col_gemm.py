"""conv2d as im2col + GEMM with a backend's own column kernels (Numba, CuPy).

The arithmetic is the generic algorithm's (:mod:`minicnn.functional.conv.im2col`, where it is
explained): per group ``y = W_g @ cols``, ``dW_g = dY @ cols^T``, ``dcols = W_g^T @ dY``, with
the batch processed in chunks whose column matrix fits the workspace limit. Only the two
memory-bound steps change hands: building the column matrix (im2col) and scattering its
gradient back onto the image (col2im) run in the backend's kernels, while the GEMMs stay with
the array library (NumPy's BLAS, or cuBLAS through ``cupy.matmul``).
"""
from __future__ import annotations

from typing import Any, Callable

from ..functional.conv.geometry import ConvGeometry
from ..functional.conv.im2col import _batch_chunks, _grouped_weight
from .arrays import array_module

# im2col:  (x (n, C, H, W), geom) -> cols (n, G, Cg*KH*KW, OH*OW)
# col2im:  (grad_cols (n, G, Cg*KH*KW, OH*OW), geom, input_shape) -> grad_x (n, C, H, W)
Im2col = Callable[[Any, ConvGeometry], Any]
Col2im = Callable[[Any, ConvGeometry, tuple], Any]


class Im2colGemm:
    """A conv2d algorithm (forward/backward, see ``ConvAlgorithm``) over the given column kernels."""

    def __init__(self, im2col: Im2col, col2im: Col2im):
        self.im2col = im2col
        self.col2im = col2im

    def forward(self, x, w, geom: ConvGeometry):
        """x (N, C, H, W), w (C_out, C/G, KH, KW) -> y (N, C_out, OH, OW), without bias."""
        xp = array_module(x)
        batch, out_channels = x.shape[0], w.shape[0]
        oh, ow = geom.output_size
        weight = _grouped_weight(w, geom.groups)  # (G, C_out/G, Cg*KH*KW)
        y = xp.empty((batch, geom.groups, out_channels // geom.groups, oh * ow), dtype=x.dtype)
        for start, stop in _batch_chunks(x, geom):
            xp.matmul(weight, self.im2col(x[start:stop], geom), out=y[start:stop])
        return y.reshape(batch, out_channels, oh, ow)

    def backward(self, grad_y, x, w, geom: ConvGeometry, need_input: bool, need_weight: bool):
        """grad_y (N, C_out, OH, OW) -> (grad_x (N, C, H, W) or None, grad_w like w or None)."""
        xp = array_module(x)
        batch, out_channels = x.shape[0], w.shape[0]
        oh, ow = geom.output_size
        weight = _grouped_weight(w, geom.groups)
        grad_y = grad_y.reshape(batch, geom.groups, out_channels // geom.groups, oh * ow)
        grad_weight = xp.zeros(weight.shape, dtype=w.dtype) if need_weight else None
        grad_x = xp.empty(x.shape, dtype=x.dtype) if need_input else None
        for start, stop in _batch_chunks(x, geom):
            grad_y_chunk = grad_y[start:stop]
            if need_weight:
                cols = self.im2col(x[start:stop], geom)
                grad_weight += xp.matmul(grad_y_chunk, cols.swapaxes(-1, -2)).sum(axis=0)
            if need_input:
                grad_cols = xp.matmul(weight.swapaxes(-1, -2), grad_y_chunk)
                grad_x[start:stop] = self.col2im(grad_cols, geom, x[start:stop].shape)
        return grad_x, (grad_weight.reshape(w.shape) if need_weight else None)
