"""dtypes are NumPy dtypes under torch's names, so ``t.dtype == minicnn.float32`` reads as in torch.

Also torch's type promotion, which differs from NumPy's: an integer tensor combined with a
float tensor takes the float tensor's dtype (NumPy would widen int64 + float32 to float64),
and 0-d tensors and Python numbers only decide the result when they are of a higher kind.
"""
from __future__ import annotations

import builtins

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

_default_float = float32


def get_default_dtype() -> np.dtype:
    return _default_float


def set_default_dtype(dtype) -> None:
    """The dtype that Python floats and the float factories (zeros, randn, …) produce."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are allowed, got {dtype}")
    _default_float = dtype


def is_floating_point_dtype(dtype) -> builtins.bool:
    return np.dtype(dtype).kind == "f"


# torch ranks dtypes by kind first: bool < integer < floating < complex.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote_types(a, b) -> np.dtype:
    """``torch.promote_types``: the higher kind wins outright (int64, float32 -> float32);
    within one kind NumPy's rule applies (int32, int64 -> int64; float32, float64 -> float64)."""
    a, b = np.dtype(a), np.dtype(b)
    rank_a, rank_b = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if rank_a != rank_b:
        return a if rank_a > rank_b else b
    return np.promote_types(a, b)


def can_cast(from_, to) -> builtins.bool:
    """``torch.can_cast``: may an op's result of dtype ``from_`` be written into a ``to`` tensor?
    Only a step down in kind is refused (float into an integer, an integer into bool)."""
    return _CATEGORY[np.dtype(from_).kind] <= _CATEGORY[np.dtype(to).kind]


def _priority_and_dtype(operand) -> tuple[builtins.int, np.dtype]:
    """(2 for a tensor with dimensions, 1 for a 0-d tensor, 0 for a Python number; its dtype)."""
    if isinstance(operand, builtins.bool):  # before int: bool is a subclass of int
        return 0, bool
    if isinstance(operand, builtins.int):
        return 0, int64
    if isinstance(operand, builtins.float):
        return 0, _default_float
    dtype = getattr(operand, "dtype", None)
    if dtype is None:
        raise TypeError(f"expected a Tensor, an array or a Python number, got {type(operand).__name__}")
    return (2 if operand.ndim else 1), np.dtype(dtype)


def result_type(*operands) -> np.dtype:
    """The dtype torch gives an op on ``operands`` (Tensors, arrays or Python numbers).

    Operands of the same priority (see ``_priority_and_dtype``) are promoted together. An
    operand of lower priority changes the result only when its kind is higher:
    float32 (3,) + float64 () -> float32, but int64 (3,) + float64 () -> float64, and
    int64 (3,) + 2.5 -> the default float dtype. ``None`` operands (an absent clamp bound) are
    skipped.
    """
    groups: dict = {}
    for operand in operands:
        if operand is not None:
            priority, dtype = _priority_and_dtype(operand)
            groups[priority] = promote_types(groups[priority], dtype) if priority in groups else dtype
    if not groups:
        raise TypeError("result_type: expected at least one operand")
    result = None
    for priority in sorted(groups, reverse=True):
        dtype = groups[priority]
        if result is None or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]:
            result = dtype
    return result
