"""Matrix product with NumPy's (and torch's) ``matmul`` rules: 1-D operands, batch broadcasting."""
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
        # matmul treats a 1-D a (k,) as a row (1, k) and a 1-D b (k,) as a column (k, 1), then
        # drops that axis from the result. Do the same here so the usual matrix rules apply:
        # out = a @ b  =>  grad_a = g @ b^T, grad_b = a^T @ g.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]  # first: g may be 0-d (both operands 1-D) and have no axis to index
        if a.ndim == 1:
            g = g[..., None, :]
        n = ctx.needs_input_grad
        # Batch axes that broadcasting added or stretched are summed away by sum_to_shape.
        ga = sum_to_shape(g @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape) if n[0] else None
        gb = sum_to_shape(a2.swapaxes(-1, -2) @ g, b2.shape).reshape(b.shape) if n[1] else None
        return ga, gb
