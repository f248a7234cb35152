"""Changing a tensor's dtype or device, differentiably (the gradient converts back)."""
from __future__ import annotations

from ..autograd import Function
from ..backends.arrays import device_of


def move_array(array, target: str):
    """The array on ``target`` ("cpu" or "cuda"): NumPy <-> CuPy, a no-op when already there."""
    if target == device_of(array):
        return array
    if target == "cpu":
        return array.get()
    from .. import cuda

    cuda.require("moving a tensor to 'cuda'")
    import cupy

    return cupy.asarray(array)


class ToDtype(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, target: str):
        ctx.source = device_of(a)
        return move_array(a, target)

    @staticmethod
    def backward(ctx, g):
        return move_array(g, ctx.source)
