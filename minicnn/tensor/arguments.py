"""Argument handling shared by the Tensor methods: unwrapping, devices, dtypes, size lists."""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from .. import dtypes
from ..autograd.tensor_core import Tensor
from ..backends.arrays import device_of


def to_array_like(value):
    """A Tensor's array; anything else (a Python number, an array, None) as it is."""
    return value.array if isinstance(value, Tensor) else value


def check_same_device(op: str, a: Tensor, b: Tensor) -> None:
    if device_of(a.array) != device_of(b.array):
        raise RuntimeError(
            f"{op}: expected all tensors to be on the same device, but found at least two "
            f"devices, {a.device} and {b.device}!"
        )


def cast(x, dtype: np.dtype):
    """``x`` in ``dtype``: a Tensor through ``to`` (differentiable), an array with astype.

    Python numbers stay as they are: NumPy computes ``array op number`` in the array's dtype.
    """
    if isinstance(x, Tensor):
        return x if x.array.dtype == dtype else x.to(dtype)
    if hasattr(x, "dtype"):
        return x if x.dtype == dtype else x.astype(dtype)
    return x


def promoted_dtype(op: str, *operands, floating: bool = False) -> np.dtype:
    """torch's result dtype for ``operands``; ``floating``: a float even for integers (true division)."""
    try:
        dtype = dtypes.result_type(*operands)
    except TypeError as error:
        raise TypeError(f"{op}: {error}") from None
    if floating and dtype.kind not in "fc":
        dtype = dtypes.get_default_dtype()
    return dtype


def binary(fn, a, b, op: str, floating: bool = False, **kwargs) -> Tensor:
    """``fn.apply(a, b)`` with both operands in torch's result dtype; a or b is a Tensor."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        check_same_device(op, a, b)
    dtype = promoted_dtype(op, a, b, floating=floating)
    return fn.apply(cast(a, dtype), cast(b, dtype), **kwargs)


def floating(t: Tensor) -> Tensor:
    """``t``, or ``t`` in the default float dtype if it holds integers or bools: torch's rule for
    the ops whose result is a float whatever the input (exp, sqrt, sigmoid, tanh, …)."""
    return t if t.array.dtype.kind in "fc" else t.to(dtypes.get_default_dtype())


def require_floating(op: str, t: Tensor) -> None:
    """torch implements some ops for floating dtypes only (softmax, silu, gelu, …); say so."""
    if t.array.dtype.kind not in "fc":
        raise NotImplementedError(f'"{op}" not implemented for \'{t.array.dtype}\'')


def refuse_bool(op: str, t: Tensor) -> None:
    """torch's clipping activations (relu, hardtanh) take any number but a bool."""
    if t.array.dtype == dtypes.bool:
        raise RuntimeError(f"Boolean inputs not supported for {op}")


def sizes(args: Sequence) -> tuple:
    """Sizes given as torch accepts them: ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(builtins.int(s) for s in args)
