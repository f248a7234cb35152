"""Matrix product with NumPy's ``matmul`` broadcasting rules."""
from __future__ import annotations

from ..autograd import Function
from .broadcast import sum_to_shape


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        ga = gb = None
        # 1-D operands are promoted to matrices for the product; undo that on the way back.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2[..., None, :]
        if b.ndim == 1:
            g2 = g2[..., None]
        if n[0]:
            ga = sum_to_shape(g2 @ b2.swapaxes(-1, -2), a2.shape if a.ndim > 1 else (1,) + a.shape)
            ga = ga.reshape(a.shape)
        if n[1]:
            gb = sum_to_shape(a2.swapaxes(-1, -2) @ g2, b2.shape if b.ndim > 1 else b.shape + (1,))
            gb = gb.reshape(b.shape)
        return ga, gb
