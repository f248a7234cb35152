"""Reductions: sum, mean, max/min along a dim (or over everything)."""
from __future__ import annotations

from ..autograd import Function
from ..backends import array_module


def _normalize_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {d})"
            )
        out.append(d % max(ndim, 1))
    return tuple(out)


def _expand_back(g, shape, dims, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input shape."""
    if not keepdim:
        g = g.reshape([1 if i in dims else n for i, n in enumerate(shape)])
    return g


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        dims = _normalize_dims(dim, a.ndim) if a.ndim else ()
        ctx.info = a.shape, dims, keepdim
        return a.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.info
        xp = array_module(g)
        return xp.broadcast_to(_expand_back(g, shape, dims, keepdim), shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        dims = _normalize_dims(dim, a.ndim) if a.ndim else ()
        ctx.info = a.shape, dims, keepdim
        return a.mean(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.info
        count = 1
        for d in dims:
            count *= shape[d]
        xp = array_module(g)
        return xp.broadcast_to(_expand_back(g, shape, dims, keepdim) / count, shape)


class MaxMin(Function):
    """max or min along one dim; returns (values, indices). Gradient goes to the arg index."""

    @staticmethod
    def forward(ctx, a, dim, keepdim=False, largest=True):
        xp = array_module(a)
        d = _normalize_dims(dim, a.ndim)[0] if a.ndim else 0
        idx = (xp.argmax if largest else xp.argmin)(a, axis=d) if a.ndim else xp.zeros((), xp.int64)
        idx_keep = xp.expand_dims(idx, d) if a.ndim else idx
        values = xp.take_along_axis(a, idx_keep, axis=d) if a.ndim else a
        ctx.info = a.shape, a.dtype, d, idx_keep
        if not keepdim and a.ndim:
            values = values.squeeze(d)
            return values, idx.astype(xp.int64)
        return values, idx_keep.astype(xp.int64)

    @staticmethod
    def backward(ctx, g, _g_idx=None):
        shape, dtype, d, idx_keep = ctx.info
        xp = array_module(g)
        if not shape:
            return g
        grad = xp.zeros(shape, dtype=g.dtype)
        g = g.reshape(idx_keep.shape)
        xp.put_along_axis(grad, idx_keep, g, axis=d)
        return grad


class MaxMinAll(Function):
    """max or min over all elements; ties share the gradient equally (torch's rule)."""

    @staticmethod
    def forward(ctx, a, largest=True):
        out = a.max() if largest else a.min()
        ctx.save_for_backward(a, out)
        return array_module(a).asarray(out)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        mask = a == out
        return mask * (g / mask.sum())
