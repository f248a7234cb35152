"""Elementwise arithmetic and math, with broadcasting-aware gradients."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backends.arrays import array_module
from .broadcast import sum_to_shape


def _shape(x):
    return getattr(x, "shape", ())


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (sum_to_shape(g, sa) if n[0] else None, sum_to_shape(g, sb) if n[1] else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (sum_to_shape(g, sa) if n[0] else None, sum_to_shape(-g, sb) if n[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (
            sum_to_shape(g * b, _shape(a)) if n[0] else None,
            sum_to_shape(g * a, _shape(b)) if n[1] else None,
        )


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (
            sum_to_shape(g / b, _shape(a)) if n[0] else None,
            sum_to_shape(-g * a / (b * b), _shape(b)) if n[1] else None,
        )


class Pow(Function):
    """``a ** b``; either may be a tensor or a number (``2 ** x`` has a number base)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = array_module(out)
        n = ctx.needs_input_grad
        ga = gb = None
        # Both branches of each where are computed; silence NumPy about the inf/nan discarded.
        with np.errstate(divide="ignore", invalid="ignore"):
            if n[0]:
                # b a^(b-1), which torch defines as 0 where b == 0 (even at a == 0: a^-1 = inf).
                # A number exponent (x ** 2) is decided here: cupy.where takes no Python bool.
                slope = g * b * a ** (b - 1)
                if np.isscalar(b):
                    slope = xp.zeros_like(slope) if b == 0 else slope
                else:
                    slope = xp.where(b == 0, 0, slope)
                ga = sum_to_shape(slope, _shape(a))
            if n[1]:
                # a^b log(a), which torch defines as 0 where a == 0 and b >= 0 (log 0 = -inf).
                gb = sum_to_shape(xp.where((a == 0) & (b >= 0), 0, g * out * xp.log(a)), _shape(b))
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * array_module(a).sign(a)


class Clamp(Function):
    """Clip ``a`` to [min, max]; either bound may be absent (None), a number or a tensor.

    torch's gradients: ``a`` gets it where min <= a <= max; a tensor ``min`` where a < min
    (and min < max, since max wins when the bounds cross); a tensor ``max`` where a > max or
    the bounds cross. Bounds broadcast against ``a``, so their gradients are summed back.
    """

    @staticmethod
    def forward(ctx, a, min=None, max=None):
        xp = array_module(a)
        ctx.save_for_backward(a, min, max)
        out = a if min is None else xp.maximum(a, min)
        return (out if max is None else xp.minimum(out, max)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, low, high = ctx.saved_tensors
        xp = array_module(g)
        n = ctx.needs_input_grad
        inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        g_low = g_high = None
        if n[1]:
            below = a < low if high is None else (a < low) & (low < high)
            g_low = sum_to_shape(g * below, _shape(low))
        if n[2]:
            above = a > high if low is None else (a > high) | (high < low)
            g_high = sum_to_shape(g * above, _shape(high))
        return g * inside if n[0] else None, g_low, g_high


class RoundedDiv(Function):
    """``a / b`` rounded toward zero ("trunc") or down ("floor"); integers stay integers.

    The result is piecewise constant, so its gradient is zero (torch's choice) for both.
    """

    @staticmethod
    def forward(ctx, a, b, rounding_mode: str):
        xp = array_module(a)
        ctx.shapes = _shape(a), _shape(b)
        if rounding_mode == "floor":
            return xp.floor_divide(a, b)
        if getattr(a, "dtype", None) is not None and a.dtype.kind in "iu":
            # |a| // |b| rounds the magnitude down, i.e. toward zero; then the sign goes back.
            return xp.sign(a) * xp.sign(b) * (abs(a) // abs(b))
        return xp.trunc(a / b)

    @staticmethod
    def backward(ctx, g):
        xp = array_module(g)
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (xp.zeros(sa, dtype=g.dtype) if n[0] else None,
                xp.zeros(sb, dtype=g.dtype) if n[1] else None)


class Extremum(Function):
    """Elementwise maximum / minimum of two tensors; a tie splits the gradient in half (torch's rule)."""

    @staticmethod
    def forward(ctx, a, b, largest: bool = True):
        ctx.save_for_backward(a, b)
        ctx.largest = largest
        xp = array_module(a)
        return xp.maximum(a, b) if largest else xp.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = array_module(g)
        a_wins = (a > b) if ctx.largest else (a < b)
        # a's share of g: all of it where a wins, half on a tie, none where b wins; b gets the rest.
        ga = xp.where(a == b, g / 2, g * a_wins)
        n = ctx.needs_input_grad
        return (
            sum_to_shape(ga, _shape(a)) if n[0] else None,
            sum_to_shape(g - ga, _shape(b)) if n[1] else None,
        )


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.shapes = _shape(a), _shape(b)
        return array_module(condition).where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        c = ctx.condition
        sa, sb = ctx.shapes
        n = ctx.needs_input_grad
        return (
            None,
            sum_to_shape(g * c, sa) if n[1] else None,
            sum_to_shape(g * ~c, sb) if n[2] else None,
        )
