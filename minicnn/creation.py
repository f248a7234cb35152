"""Creating tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled
(``zeros``, ``ones``, ``full``, ``empty``, ``*_like``), ranges (``arange``, ``linspace``,
``eye``) and random (``rand``, ``randn``, ``randint``, ``randperm``) — torch's names, dtype
rules and defaults. Every factory returns a leaf Tensor.
"""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from . import dtypes
from .device import device as Device
from .ops.conversion import move_array
from .random import default_generator
from .tensor import Tensor
from .tensor.arguments import sizes as _sizes
from .tensor.arguments import to_array_like as _to_array_like


def _new(array, device, requires_grad: bool) -> Tensor:
    """A leaf Tensor over ``array``, moved to ``device`` (None: stay on the CPU)."""
    t = Tensor(array if device is None else move_array(array, Device(device).type))
    return t.requires_grad_(True) if requires_grad else t


def _factory_shape(name: str, size: Sequence) -> tuple:
    shape = _sizes(size)
    if builtins.any(n < 0 for n in shape):
        raise RuntimeError(f"{name}: Dimension size must be non-negative, got size {shape}")
    return shape


def _float_dtype(name: str, dtype) -> np.dtype:
    """``dtype``, or the default float dtype when None; random floats need a float dtype."""
    dtype = dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating-point dtype, got {dtype}")
    return dtype


def _python_data_dtype(dtype: np.dtype) -> np.dtype:
    """torch's dtype for Python data (NumPy would make floats float64)."""
    if dtype.kind == "f":
        return dtypes.get_default_dtype()
    if dtype.kind in "iu":
        return dtypes.int64
    if dtype.kind in "bc":
        return dtype
    raise TypeError(f"tensor: cannot build a tensor from data of NumPy dtype {dtype}")


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors).

    Without ``dtype`` it follows torch: Python floats give the default float dtype (float32),
    ints int64, bools bool; NumPy arrays and scalars and tensors keep their dtype.
    """
    data = _to_array_like(data)
    if hasattr(data, "__cuda_array_interface__"):
        import cupy

        array = cupy.array(data, dtype=dtype)
    else:
        array = np.array(data, dtype=dtype)
        if dtype is None and not hasattr(data, "dtype"):
            array = array.astype(_python_data_dtype(array.dtype), copy=False)
    return _new(array, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor``, but shares memory with a NumPy array or Tensor when nothing changes."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and device is None and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a NumPy array without copying (writes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    return _new(np.zeros(_factory_shape("zeros", size), dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    return _new(np.ones(_factory_shape("ones", size), dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zero-filled, unlike torch's: an uninitialised array would only hide bugs."""
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    return _new(np.zeros(_factory_shape("empty", size), dtype), device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Filled with ``fill_value``; the dtype follows it as in ``tensor`` (bool, int64, float)."""
    if dtype is None:
        dtype = _python_data_dtype(np.asarray(fill_value).dtype)
    shape = _factory_shape("full", (size,) if isinstance(size, builtins.int) else size)
    return _new(np.full(shape, fill_value, dtype), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal draws from the generator seeded by ``manual_seed``."""
    dtype = _float_dtype("randn", dtype)
    values = (generator or default_generator()).standard_normal(_factory_shape("randn", size))
    return _new(values.astype(dtype), device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform draws in [0, 1) from the generator seeded by ``manual_seed``."""
    dtype = _float_dtype("rand", dtype)
    values = (generator or default_generator()).random(_factory_shape("rand", size))
    return _new(values.astype(dtype), device, requires_grad)


def randint(low, high=None, size=None, *, dtype=None, device=None, generator=None) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:  # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required argument: 'size'")
    values = (generator or default_generator()).integers(low, high, _factory_shape("randint", size))
    return _new(values.astype(dtypes.int64 if dtype is None else dtype), device, False)


def randperm(n: int, dtype=None, device=None, generator=None) -> Tensor:
    values = (generator or default_generator()).permutation(n)
    return _new(values.astype(dtypes.int64 if dtype is None else dtype), device, False)


def _like(t: Tensor, fill_value, dtype, device, requires_grad: bool) -> Tensor:
    array = np.full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype)
    return _new(array, t.device if device is None else device, requires_grad)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(t, 0, dtype, device, requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(t, 1, dtype, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``arange(end)`` or ``arange(start, end, step)``: int64 for integer arguments, else float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = _python_data_dtype(values.dtype)
    return _new(values.astype(dtype), device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    return _new(np.linspace(start, end, steps).astype(dtype), device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    return _new(np.eye(n, m, dtype=dtype), device, requires_grad)
