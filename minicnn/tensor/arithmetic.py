"""Tensor methods for elementwise arithmetic and math, comparisons, and matmul.

Every method checks its arguments, applies torch's type promotion (a float32 tensor with an
int64 tensor or a Python number stays float32) and calls a Function of
:mod:`minicnn.ops.elementwise` or :mod:`minicnn.ops.linalg`.
"""
from __future__ import annotations

import builtins
import operator
from typing import Callable

import numpy as np

from .. import dtypes
from ..autograd.tensor_core import Tensor
from ..backends.arrays import array_module
from ..ops import elementwise as E
from ..ops import linalg
from .arguments import binary, cast, check_same_device, floating, promoted_dtype, to_array_like

_ROUNDING_MODES = (None, "trunc", "floor")


def _subtract(a, b) -> Tensor:
    """``a - b``, which torch refuses for bools (NumPy would quietly make integers of them)."""
    for x in (a, b):
        if x.dtype == dtypes.bool if hasattr(x, "dtype") else isinstance(x, builtins.bool):
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
    return binary(E.Sub, a, b, "sub")


def divide(a, b, rounding_mode: str | None = None) -> Tensor:
    """``a / b``: true division (always a float), or rounded with "trunc" / "floor" (torch's
    ``div``; rounded division of integers gives integers)."""
    if rounding_mode not in _ROUNDING_MODES:
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    if rounding_mode is None:
        return binary(E.Div, a, b, "div", floating=True)
    return binary(E.RoundedDiv, a, b, "div", rounding_mode=rounding_mode)


def _untracked(op: Callable) -> Callable:
    """A Tensor method for an elementwise op with a non-differentiable result (==, <, &, …)."""

    def method(self, other):
        if isinstance(other, Tensor):
            check_same_device(op.__name__, self, other)
        return Tensor(op(self.array, to_array_like(other)))

    method.__name__ = op.__name__
    return method


class ArithmeticMethods:
    """Operators (+, -, *, /, **, @, comparisons) and elementwise math, as Tensor methods."""

    def __add__(self, other):
        return binary(E.Add, self, other, "add")

    def __radd__(self, other):
        return binary(E.Add, other, self, "add")

    def __sub__(self, other):
        return _subtract(self, other)

    def __rsub__(self, other):
        return _subtract(other, self)

    def __mul__(self, other):
        return binary(E.Mul, self, other, "mul")

    def __rmul__(self, other):
        return binary(E.Mul, other, self, "mul")

    def __truediv__(self, other):
        return divide(self, other)

    def __rtruediv__(self, other):
        return divide(other, self)

    def __floordiv__(self, other):
        return divide(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return divide(other, self, rounding_mode="floor")

    def __pow__(self, other):
        return binary(E.Pow, self, other, "pow")

    def __rpow__(self, other):
        return binary(E.Pow, other, self, "pow")

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return E.Abs.apply(self)

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def div(self, other, rounding_mode: str | None = None):
        return divide(self, other, rounding_mode)

    mul = __mul__
    pow = __pow__
    neg = __neg__
    abs = __abs__
    divide = true_divide = div
    multiply = mul
    subtract = sub

    def matmul(self, other):
        return matmul(self, other)

    def exp(self):
        return E.Exp.apply(floating(self))

    def log(self):
        return E.Log.apply(floating(self))

    def sqrt(self):
        return E.Sqrt.apply(floating(self))

    def clamp(self, min=None, max=None):
        """Clip to [min, max]; bounds are numbers or tensors (broadcast, and differentiated)."""
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        for bound in (min, max):
            if isinstance(bound, Tensor):
                check_same_device("clamp", self, bound)
        dtype = promoted_dtype("clamp", self, min, max)
        return E.Clamp.apply(cast(self, dtype), cast(min, dtype), cast(max, dtype))

    clip = clamp

    # comparisons and logic give bool tensors, outside the graph
    __eq__ = eq = _untracked(operator.eq)
    __ne__ = ne = _untracked(operator.ne)
    __lt__ = lt = _untracked(operator.lt)
    __le__ = le = _untracked(operator.le)
    __gt__ = gt = _untracked(operator.gt)
    __ge__ = ge = _untracked(operator.ge)
    __and__ = _untracked(operator.and_)
    __or__ = _untracked(operator.or_)
    __xor__ = _untracked(operator.xor)

    def __invert__(self):
        return Tensor(~self.array)

    def equal(self, other: Tensor) -> builtins.bool:
        return self.shape == other.shape and builtins.bool((self.array == other.array).all())

    def allclose(self, other, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8) -> builtins.bool:
        xp = array_module(self.array)
        return builtins.bool(xp.allclose(self.array, to_array_like(other), rtol, atol))


def matmul(a, b) -> Tensor:
    """``a @ b`` with torch's checks: same dtype and device, at least 1-D, matching inner sizes."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        check_same_device("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({a.shape[-1]} != {inner_b})"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"matmul: the batch dims of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None
    return linalg.MatMul.apply(a, b)


def where(condition: Tensor, input, other) -> Tensor:
    """``input`` where ``condition`` is True, else ``other`` (broadcast; promoted like ``+``)."""
    cond = to_array_like(condition)
    if getattr(cond, "dtype", None) != dtypes.bool:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{getattr(cond, 'dtype', type(cond).__name__)}"
        )
    for value in (input, other):
        if isinstance(value, Tensor) and isinstance(condition, Tensor):
            check_same_device("where", condition, value)
    dtype = dtypes.result_type(input, other)
    out = E.Where.apply(cond, cast(input, dtype), cast(other, dtype))
    return out if out.dtype == dtype else out.to(dtype)  # two Python numbers: NumPy gives float64


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return binary(E.Extremum, a, b, "maximum", largest=True)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return binary(E.Extremum, a, b, "minimum", largest=False)


def allclose(a: Tensor, b: Tensor, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8) -> builtins.bool:
    return a.allclose(b, rtol, atol)


def equal(a: Tensor, b: Tensor) -> builtins.bool:
    return a.equal(b)
