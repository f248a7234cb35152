"""Shape and indexing: reshape, permute, expand, index, cat, stack."""
from __future__ import annotations

from ..autograd import Function
from ..backends import array_module


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.transpose(inverse)


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        from .broadcast import sum_to_shape

        return sum_to_shape(g, ctx.shape)


class Index(Function):
    """``a[key]`` for basic and advanced keys; the backward scatter-adds into zeros."""

    @staticmethod
    def forward(ctx, a, key):
        ctx.info = a.shape, a.dtype, key
        return a[key]

    @staticmethod
    def backward(ctx, g):
        shape, dtype, key = ctx.info
        xp = array_module(g)
        grad = xp.zeros(shape, dtype=g.dtype)
        # add.at sums repeated indices (e.g. x[[0, 0]]), which plain assignment would not.
        xp.add.at(grad, key, g)
        return grad


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        bounds = []
        total = 0
        for s in ctx.sizes[:-1]:
            total += s
            bounds.append(total)
        return (None, *xp.split(g, bounds, axis=ctx.dim))


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim = dim
        return array_module(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        return (None, *(xp.take(g, i, axis=ctx.dim) for i in range(g.shape[ctx.dim])))
