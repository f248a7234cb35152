"""Shape and indexing: reshape, permute, expand, index (and assignment), cat, stack, clone.

The Tensor methods check the arguments (dims in range, sizes that fit); these Functions only
move the numbers and route the gradient back to where each number came from.
"""
from __future__ import annotations

import itertools

from ..autograd import Function
from ..backends.arrays import array_module
from .broadcast import sum_to_shape


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape: tuple):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims: tuple):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        # Output axis i came from input axis dims[i], so input axis dims[i] goes back from axis i.
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.transpose(inverse)


class Expand(Function):
    """A read-only broadcast view; the backward sums over the broadcast axes."""

    @staticmethod
    def forward(ctx, a, shape: tuple):
        ctx.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to_shape(g, ctx.shape)


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def _may_repeat(key) -> bool:
    """Can ``key`` pick the same element twice? Only integer arrays can (``x[[0, 0]]``).

    Ints, slices, None, Ellipsis and boolean masks select each element at most once.
    """
    parts = key if isinstance(key, tuple) else (key,)
    return any(getattr(k, "ndim", 0) > 0 and k.dtype.kind in "iu" for k in parts)


class Index(Function):
    """``a[key]`` for basic and advanced keys (key parts are ints, slices, None, Ellipsis, arrays)."""

    @staticmethod
    def forward(ctx, a, key):
        ctx.info = a.shape, key
        return a[key]

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.info
        xp = array_module(g)
        grad = xp.zeros(shape, dtype=g.dtype)
        if _may_repeat(key):
            # x[[0, 0]] uses x[0] twice, so it gets both gradients: add.at sums repeated
            # indices, where plain assignment would keep only the last.
            xp.add.at(grad, key, g)
        else:
            grad[key] = g
        return grad


class IndexPut(Function):
    """``a`` with ``a[key] = value`` (value broadcast to the selection), as a new array.

    The gradient goes to ``value`` from the selected positions (summed over its broadcast) and
    to ``a`` everywhere else; the overwritten positions gave ``a`` nothing (torch's rule, also
    for a repeated index, whose positions each send their gradient to value).
    """

    @staticmethod
    def forward(ctx, a, value, key):
        out = a.copy()
        out[key] = value
        ctx.info = key, getattr(value, "shape", ())
        return out

    @staticmethod
    def backward(ctx, g):
        key, value_shape = ctx.info
        n = ctx.needs_input_grad
        grad_a = None
        if n[0]:
            grad_a = g.copy()
            grad_a[key] = 0
        grad_value = sum_to_shape(g[key], value_shape) if n[1] else None
        return grad_a, grad_value


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim: int):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        # Split where each input ended: sizes (2, 3, 1) give split points 2 and 5.
        bounds = list(itertools.accumulate(ctx.sizes[:-1]))
        return tuple(array_module(g).split(g, bounds, axis=ctx.dim))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, dim: int):
        ctx.dim = dim
        return array_module(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return tuple(xp.take(g, i, axis=ctx.dim) for i in range(g.shape[ctx.dim]))
