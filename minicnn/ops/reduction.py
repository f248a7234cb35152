"""Reductions: sum, mean, max/min along a dim (or over everything).

The forwards take ``dims`` already checked by :func:`minicnn.ops.dims.wrap_dims` (a tuple of
non-negative axes) and ``dim`` by :func:`~minicnn.ops.dims.wrap_dim`.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backends.arrays import array_module


def _unreduce(g, shape: tuple, dims: tuple, keepdim: bool):
    """Broadcast a reduced gradient back over ``shape``.

    Without keepdim the reduced axes are gone from ``g``; put them back as size-1 axes first,
    so that g (2, 4) from a (2, 3, 4) input summed over dim 1 becomes (2, 1, 4).
    """
    if not keepdim:
        g = g.reshape([1 if i in dims else n for i, n in enumerate(shape)])
    return array_module(g).broadcast_to(g, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims: tuple, keepdim: bool = False):
        ctx.info = a.shape, dims, keepdim
        return a.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g, *ctx.info)


def _count(shape: tuple, dims: tuple) -> int:
    """How many elements each reduced group holds."""
    count = 1
    for d in dims:
        count *= shape[d]
    return count


class Mean(Function):
    """The sum over ``dims`` divided by the count: nan for an empty group (0 / 0), as torch."""

    @staticmethod
    def forward(ctx, a, dims: tuple, keepdim: bool = False):
        ctx.info = a.shape, dims, keepdim
        with np.errstate(invalid="ignore"):
            return a.sum(axis=dims, keepdims=keepdim) / a.dtype.type(_count(a.shape, dims))

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.info
        with np.errstate(divide="ignore", invalid="ignore"):  # an empty group has no gradient anyway
            return _unreduce(g / _count(shape, dims), shape, dims, keepdim)


class MaxMin(Function):
    """max or min along one dim: (values, int64 indices).

    The gradient goes only to the index reported, the first extreme element on ties (torch's
    rule for a reduction along a dim).
    """

    @staticmethod
    def forward(ctx, a, dim: int, keepdim: bool = False, largest: bool = True):
        xp = array_module(a)
        if a.ndim == 0:  # torch accepts dim 0 / -1 here: the value itself, at index 0
            ctx.info = None
            return a.copy(), xp.zeros((), dtype=xp.int64)
        index = (xp.argmax if largest else xp.argmin)(a, axis=dim, keepdims=True)
        values = xp.take_along_axis(a, index, axis=dim)
        ctx.info = a.shape, dim, index
        if not keepdim:
            values, index = values.squeeze(dim), index.squeeze(dim)
        return values, index.astype(xp.int64, copy=False)

    @staticmethod
    def backward(ctx, g, _g_indices):  # indices are integers: their gradient is always None
        if ctx.info is None:
            return g
        shape, dim, index = ctx.info
        xp = array_module(g)
        # index kept the reduced axis (size 1): comparing it with every position along that axis
        # marks the reported elements (a one-hot along dim), which receive g. Plain broadcasting,
        # no put_along_axis: CuPy has that only from version 14.
        positions = xp.arange(shape[dim]).reshape((-1,) + (1,) * (len(shape) - dim - 1))
        return xp.where(positions == index, g.reshape(index.shape), g.dtype.type(0))


class MaxMinAll(Function):
    """max or min over all elements; tied elements share the gradient equally (torch's rule)."""

    @staticmethod
    def forward(ctx, a, largest: bool = True):
        out = a.max() if largest else a.min()
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        ties = a == out
        return ties * (g / ties.sum(dtype=g.dtype))
